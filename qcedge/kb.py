"""Knowledge-base releases at the station: validate a staged release (templates load and each matches
its own reference image, rules parse) and load what the daemon runs from it. docs/kb.md."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from qcedge.qc_client.kb import KbError, Manifest
from qcedge.qc_client.rules import RuleSet, RulesError, load_rules

log = logging.getLogger(__name__)


def template_folders(release: Path) -> list[Path]:
    """Template packs in a release: templates/ itself and/or one subfolder per program/console."""
    root = release / "templates"
    if not root.is_dir():
        return []
    folders = [root] if any(root.glob("*.y*ml")) else []
    folders += sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.y*ml")))
    return folders


def load_release_templates(release: Path) -> list[Any]:
    """Every template of the release's packs (ids unique across packs)."""
    from qcedge.ocr_templates import TemplateError, load_templates

    out: list[Any] = []
    for folder in template_folders(release):
        try:
            out += load_templates(folder)
        except TemplateError as exc:
            raise KbError(f"templates: {exc}") from None
    ids = [t.id for t in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise KbError(f"template id {dup[0]} is in two packs")
    return out


def load_release_rules(release: Path) -> RuleSet | None:
    path = release / "rules.yaml"
    if not path.is_file():
        return None
    try:
        return load_rules(path)
    except RulesError as exc:
        raise KbError(f"rules: {exc}") from None


def validate_release(release: Path, manifest: Manifest | None = None, *, engine: Any = None) -> None:
    """Raise KbError with the reason when the release cannot run: a template that does not load, does not
    match its own reference image, or whose reference is taken for another template; rules that do not parse."""
    import cv2

    from qcedge.ocr_templates import Matcher

    load_release_rules(release)
    templates = load_release_templates(release)
    if not templates:
        return
    matcher = Matcher(templates, engine=engine)
    for t in templates:
        image = cv2.imread(str(t.reference_path)) if t.reference_path is not None else None
        if image is None:
            raise KbError(f"template {t.id}: reference image missing or unreadable")
        result = matcher.match(image, t.id)
        if not result.matched:
            raise KbError(f"template {t.id} does not match its own reference image (score {result.score:.2f})")
        best = matcher.best(image)
        if best is not None and best.template_id != t.id:
            raise KbError(f"template {t.id}: its reference image is taken for {best.template_id}")
