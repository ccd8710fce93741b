"""Template packs: a folder of templates with a `pack.yaml` naming the pack and its version.

    schema: qcedge.pack/1
    id: ct-consoles
    version: "3"
    title: CT dose screens
    templates: [siemens_ct_dose.yaml, ris_registration.yaml]

`ocr_templates.load_templates(folder)` reads the same folder (it skips pack.yaml).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from qcedge.ocr_templates.errors import TemplateError
from qcedge.ocr_templates.loader import load_template, load_templates
from qcedge.ocr_templates.model import Template

if TYPE_CHECKING:
    from qcedge.teaching_mode.draft import TemplateDraft

log = logging.getLogger(__name__)
PACK_SCHEMA = "qcedge.pack/1"


@dataclass
class TemplatePack:
    id: str
    version: str
    title: str
    templates: list[Template]
    path: Path


def load_pack(folder: str | Path) -> TemplatePack:
    folder = Path(folder)
    meta_path = folder / "pack.yaml"
    if not meta_path.is_file():
        templates = load_templates(folder)
        return TemplatePack(folder.name, "0", folder.name, templates, folder)
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(str(meta_path), f"cannot read the pack file: {exc}") from None
    if not isinstance(meta, dict) or "version" not in meta:
        raise TemplateError(str(meta_path), "a pack file is a mapping with at least 'version'")
    names = meta.get("templates")
    if names:
        templates = [load_template(folder / n) for n in names]
    else:
        templates = load_templates(folder)
    return TemplatePack(str(meta.get("id") or folder.name), str(meta["version"]), str(meta.get("title") or folder.name),
                        templates, folder)


def save_pack(folder: str | Path, drafts: list["TemplateDraft"], version: str, pack_id: str | None = None,
              title: str | None = None) -> Path:
    """Write drafts into a pack folder and (re)write pack.yaml, keeping templates already there."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / "pack.yaml"
    meta = {}
    if meta_path.is_file():
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    names = list(meta.get("templates") or [p.name for p in sorted(folder.glob("*.yaml")) if p.name != "pack.yaml"])
    for draft in drafts:
        path = draft.save(folder / f"{draft.meta.get('id', 'template')}.yaml")
        if path.name not in names:
            names.append(path.name)
    out = {"schema": PACK_SCHEMA, "id": pack_id or meta.get("id") or folder.name, "version": str(version),
           "title": title or meta.get("title") or folder.name, "templates": names}
    meta_path.write_text(yaml.safe_dump(out, sort_keys=False, allow_unicode=True), encoding="utf-8")
    load_pack(folder)  # everything in it must load
    log.info("wrote template pack %s version %s (%d templates)", out["id"], version, len(names))
    return meta_path
