"""An editable template: the YAML mapping the integrator is building, plus its reference image.

The GUI edits plain mappings (exactly the keys of a hand-written template file) and
converts them through `ocr_templates.parse_template`/`dump_template`, so a template
saved here loads and reads exactly like one written by hand.
"""
from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from qcedge.ocr_templates.loader import dump_template, load_template, parse_template
from qcedge.ocr_templates.model import SCHEMA, Template

log = logging.getLogger(__name__)

Box = list[int]  # [x, y, w, h]


def read_image(path: str | Path) -> np.ndarray:
    """Read a BGR image from a path that may contain non-ASCII characters."""
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    return image


def write_png(path: str | Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot encode {path} as PNG")
    Path(path).write_bytes(buf.tobytes())


def slug(text: str) -> str:
    """A field-name-safe version of a label ('CTDIvol (mGy)' -> 'ctdivol_mgy')."""
    s = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    return s or "field"


def _list_box(item: dict[str, Any]) -> dict[str, Any]:
    """Boxes as [x, y, w, h] lists (the loader's dump writes them as mappings)."""
    box = item.get("box")
    if isinstance(box, dict):
        item["box"] = [int(box[k]) for k in "xywh"]
    return item


@dataclass
class TemplateDraft:
    """The template being taught. `anchors`/`fields`/`checks` are YAML mappings."""

    meta: dict[str, Any] = field(default_factory=lambda: {"id": "new_screen", "version": "1", "title": "New screen"})
    anchors: list[dict[str, Any]] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    identity: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # match, confidence_floor, ...
    image: np.ndarray | None = None
    path: Path | None = None

    # --- conversion -----------------------------------------------------------------
    def to_data(self, image_name: str | None = None) -> dict[str, Any]:
        """The template as the mapping a YAML file holds."""
        h, w = self.image.shape[:2] if self.image is not None else (1080, 1920)
        if image_name is None:
            image_name = f"{self.meta.get('id', 'template')}.png"
        data: dict[str, Any] = {"schema": SCHEMA}
        data.update({k: v for k, v in self.meta.items() if v not in (None, "")})
        data["reference"] = {"image": image_name, "width": int(w), "height": int(h)}
        data.update(copy.deepcopy(self.extra))
        data["anchors"] = copy.deepcopy(self.anchors)
        data["fields"] = copy.deepcopy(self.fields)
        if self.checks:
            data["checks"] = copy.deepcopy(self.checks)
        if self.identity:
            data["identity"] = list(self.identity)
        return data

    def to_template(self) -> Template:
        """Validate: raises ocr_templates.TemplateError naming the place and the problem."""
        return parse_template(self.to_data(), self.path or "<taught template>")

    @classmethod
    def from_template(cls, template: Template, image: np.ndarray | None = None) -> "TemplateDraft":
        data = yaml.safe_load(dump_template(template))
        data.pop("schema", None)
        data.pop("reference", None)
        anchors = [_list_box(a) for a in data.pop("anchors", [])]
        fields = [_list_box(f) for f in data.pop("fields", [])]
        checks = data.pop("checks", [])
        identity = data.pop("identity", [])
        meta = {k: data.pop(k) for k in ("id", "version", "title", "program", "screen", "modality") if k in data}
        if image is None and template.reference_path is not None and template.reference_path.is_file():
            image = read_image(template.reference_path)
        return cls(meta=meta, anchors=anchors, fields=fields, checks=checks, identity=identity,
                   extra=data, image=image, path=template.path)

    @classmethod
    def load(cls, path: str | Path) -> "TemplateDraft":
        return cls.from_template(load_template(path))

    def save(self, path: str | Path) -> Path:
        """Write `<id>.yaml` (or the given name) and the reference PNG beside it."""
        path = Path(path)
        if path.suffix.lower() not in (".yaml", ".yml"):
            path = path / f"{self.meta.get('id', 'template')}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        image_name = f"{path.stem}.png"
        data = self.to_data(image_name)
        template = parse_template(data, path)
        if self.image is None:
            raise ValueError("no frame to save as the reference image")
        write_png(path.parent / image_name, self.image)
        path.write_text(dump_template(template), encoding="utf-8")
        self.path = path
        log.info("saved template %s (%d fields) to %s", template.id, len(template.fields), path)
        return path

    # --- items ------------------------------------------------------------------------
    def names(self) -> set[str]:
        return {f["name"] for f in self.fields} | {a["name"] for a in self.anchors}

    def unique_name(self, base: str) -> str:
        base = slug(base)
        taken = self.names()
        if base not in taken:
            return base
        n = 2
        while f"{base}_{n}" in taken:
            n += 1
        return f"{base}_{n}"

    def find(self, name: str) -> tuple[str, dict[str, Any]] | None:
        for a in self.anchors:
            if a["name"] == name:
                return "anchor", a
        for f in self.fields:
            if f["name"] == name:
                return "field", f
        return None

    def rename(self, old: str, new: str) -> None:
        """Rename a field or anchor and every reference to it (identity, checks)."""
        found = self.find(old)
        if found is None or old == new:
            return
        found[1]["name"] = new
        self.identity = [new if n == old else n for n in self.identity]
        for check in self.checks:
            for key in ("total", "field", "left", "right"):
                if check.get(key) == old:
                    check[key] = new
            if isinstance(check.get("of"), str) and check["of"].split(".")[0] == old:
                check["of"] = new + "." + check["of"].split(".", 1)[1]

    def remove(self, name: str) -> None:
        self.anchors = [a for a in self.anchors if a["name"] != name]
        self.fields = [f for f in self.fields if f["name"] != name]
        self.identity = [n for n in self.identity if n != name]
        self.checks = [c for c in self.checks if name not in
                       (c.get("total"), c.get("field"), c.get("left"), c.get("right"), str(c.get("of", "")).split(".")[0])]
