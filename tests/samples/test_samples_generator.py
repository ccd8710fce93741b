"""The generator: deterministic, complete, and its truth agrees with the templates."""
from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest

from qcedge.ocr_templates import load_template, load_templates
from qcedge.ocr_templates.model import TableField
from samples.generate import TEMPLATES, foreign_screens, instance, screens
from samples.disturb import DISTURBANCES
from samples.screens.base import VARIANTS
from samples.templates_out import template_yaml
from samples.truth import box_in_frame, load_manifest, read_image, select

ROOT = Path(__file__).resolve().parents[2]


def test_same_bytes_from_another_process(small_sets: tuple[Path, Path]) -> None:
    here, there = small_sets
    first = sorted(p.relative_to(here) for p in here.rglob("*") if p.is_file())
    second = sorted(p.relative_to(there) for p in there.rglob("*") if p.is_file())
    assert first == second and len(first) > 20
    different = [str(p) for p in first if (here / p).read_bytes() != (there / p).read_bytes()]
    assert not different, f"not deterministic: {different[:5]}"


def test_every_kind_in_every_variant_and_foreign_screens(small_set: Path) -> None:
    m = load_manifest(small_set)
    got = {(e["template_id"], e["variant"]) for e in m["frames"] if e["template_id"]}
    assert got == {(s.template_id, v) for s in screens() for v in VARIANTS + DISTURBANCES}
    foreign = select(m, foreign=True)
    assert {e["kind"] for e in foreign} == {s.kind for s in foreign_screens()}
    assert all(e["fields"] == {} and e["tables"] == {} for e in foreign)
    sizes = {"cap720": (720, 1280, 3), "scaled150": (1440, 2560, 3)}
    for e in m["frames"]:
        img = read_image(m, e)
        assert img.shape == sizes.get(e["variant"], (1080, 1920, 3))
        assert list(e["size"]) == [img.shape[1], img.shape[0]]
        assert e["path"].endswith(".jpg") == (e["variant"] in ("hdmi", "pointer", "cap720"))


def test_disturbed_frames_say_what_is_covered(small_set: Path) -> None:
    """Pointer and dialog frames list the fields under the disturbance; a dialog hides exactly one anchor
    where the layout allows it, so the screen can still be matched on the others."""
    m = load_manifest(small_set)
    pointer = [e for e in m["frames"] if e["variant"] == "pointer"]
    dialog = [e for e in m["frames"] if e["variant"] == "dialog"]
    assert pointer and dialog
    assert all(e["covered"] for e in pointer), "a pointer is always put on a value"
    assert all(len(e["disturbance"]["hidden_anchors"]) >= 1 for e in dialog)
    assert sum(len(e["disturbance"]["hidden_anchors"]) == 1 for e in dialog) >= len(dialog) * 2 // 3


def test_committed_templates_load_and_match_the_layout_code() -> None:
    templates = {t.id: t for t in load_templates(TEMPLATES)}
    assert set(templates) == {s.template_id for s in screens()}
    for screen in screens():
        path = TEMPLATES / f"{screen.template_id}.yaml"
        assert path.read_text(encoding="utf-8") == template_yaml(screen.template()), \
            f"{path.name} is stale: run python -m samples.generate --write-templates"
        t = templates[screen.template_id]
        png = t.reference_path
        assert png.stat().st_size < 300_000
        ref = cv2.imread(str(png))
        assert ref.shape[:2] == (t.reference.height, t.reference.width) == (screen.height, screen.width)
        assert 2 <= len(t.anchors) <= 4
        assert t.identity and all(t.field(k) for k in t.identity)


def _check_value(spec, text: str, where: str) -> None:
    """The truth text must be a valid reading under the template's own rules."""
    assert text.strip() == text and text, f"{where}: empty or padded {text!r}"
    if spec.regex:
        assert re.search(spec.regex, text), f"{where}: {text!r} fails regex {spec.regex}"
    if spec.choices:
        assert text in spec.choices, f"{where}: {text!r} not in choices"
    if spec.type in ("integer", "decimal"):
        value = float(text)
        if spec.type == "integer":
            assert re.fullmatch(r"[+-]?\d+", text), f"{where}: {text!r} is not an integer"
        if spec.decimals is not None:
            assert len(text.split(".")[1]) == spec.decimals, f"{where}: {text!r} has not {spec.decimals} decimals"
        if spec.range:
            assert spec.range[0] <= value <= spec.range[1], f"{where}: {text!r} outside {spec.range}"
    if spec.type == "datetime":
        assert datetime.strptime(text, spec.format) < datetime.now(), f"{where}: {text!r} in the future"


@pytest.mark.parametrize("screen", screens(), ids=lambda s: s.kind)
def test_truth_names_the_template_fields_and_passes_its_rules(screen) -> None:
    t = load_template(TEMPLATES / f"{screen.template_id}.yaml")
    values = {f.name for f in t.fields if not isinstance(f, TableField)}
    tables = {f.name: f for f in t.fields if isinstance(f, TableField)}
    for i in range(25):
        inst = instance(screen, 20251128, i)
        assert set(inst.fields) == values
        assert set(inst.tables) == set(tables)
        for name, text in inst.fields.items():
            _check_value(t.field(name), text, f"{screen.kind}[{i}].{name}")
        for name, rows in inst.tables.items():
            table = tables[name]
            assert table.min_rows <= len(rows) <= table.max_rows
            for r, row in enumerate(rows):
                assert set(row) == {c.name for c in table.columns}
                for col in table.columns:
                    _check_value(col, row[col.name], f"{screen.kind}[{i}].{name}[{r}].{col.name}")


def test_total_dlp_is_the_sum_of_the_series_as_displayed() -> None:
    from samples.screens.ct_dose import CtDoseReport

    t = load_template(TEMPLATES / "ct_dose_report.yaml")
    check = next(c for c in t.checks if c.kind == "sum")
    rows_seen = set()
    for i in range(60):
        inst = instance(CtDoseReport(), 20251128, i)
        rows = inst.tables["series"]
        rows_seen.add(len(rows))
        total = sum(Decimal(r["dlp"]) for r in rows)
        assert Decimal(inst.fields["total_dlp"]) == total
        assert abs(float(inst.fields["total_dlp"]) - float(total)) <= check.tolerance
    assert min(rows_seen) == 1 and max(rows_seen) == 8


def test_values_and_fonts_vary_between_instances() -> None:
    for screen in screens():
        insts = [instance(screen, 20251128, i) for i in range(12)]
        assert len({i.look.family for i in insts}) >= 2, screen.kind
        for name in insts[0].fields:
            if name not in ("sex", "view", "phantom"):
                assert len({i.fields[name] for i in insts}) >= 3, f"{screen.kind}.{name} barely varies"


def _anchor_match(frame: np.ndarray, entry: dict, ref: np.ndarray, box) -> tuple[float, float]:
    """Search the reference anchor (scaled as the manifest says) near where the manifest puts it.

    Returns (best normalised correlation, distance in frame pixels of the best match from the expected place).
    """
    x, y, w, h = box
    patch = cv2.cvtColor(ref[y:y + h, x:x + w], cv2.COLOR_BGR2GRAY)
    fx, fy, fw, fh = box_in_frame(entry, box)
    patch = cv2.resize(patch, (fw, fh), interpolation=cv2.INTER_AREA if fw < w else cv2.INTER_LINEAR)
    m = 8
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    region = grey[max(0, fy - m):fy + fh + m, max(0, fx - m):fx + fw + m]
    scores = cv2.matchTemplate(region, patch, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    dx, dy = bx - (fx - max(0, fx - m)), by - (fy - max(0, fy - m))
    return float(best), float(np.hypot(dx, dy))


def test_window_position_and_scale_put_the_anchors_where_the_manifest_says(small_set: Path) -> None:
    m = load_manifest(small_set)
    for screen in screens():
        t = load_template(TEMPLATES / f"{screen.template_id}.yaml")
        ref = cv2.imread(str(t.reference_path))
        for e in select(m, template_id=screen.template_id):
            frame = read_image(m, e)
            min_score = {"clean": 0.99, "moved": 0.99, "dialog": 0.99}.get(e["variant"], 0.4)
            hidden = set((e.get("disturbance") or {}).get("hidden_anchors", []))
            for a in t.anchors:
                if a.name in hidden:
                    continue
                score, dist = _anchor_match(frame, e, ref, a.box.as_tuple())
                assert score >= min_score and dist <= 1.5 * max(1.0, e["scale"]), f"{e['path']} anchor {a.name}: score {score:.2f}, off by {dist:.1f} px"


def test_same_program_near_misses_differ_in_an_anchor(small_set: Path) -> None:
    """The same program on another page shares the title bar but not every anchor."""
    m = load_manifest(small_set)
    pairs = {"foreign_ct_same_program": "ct_dose_report", "foreign_dr_same_program": "dr_exposure_panel",
             "foreign_ris_same_program": "ris_registration"}
    for kind, tid in pairs.items():
        t = load_template(TEMPLATES / f"{tid}.yaml")
        ref = cv2.imread(str(t.reference_path))
        for e in select(m, kind=kind, variant="clean"):
            frame = read_image(m, e)
            scores = {a.name: _anchor_match(frame, e, ref, a.box.as_tuple())[0] for a in t.anchors}
            assert max(scores.values()) > 0.85, f"{kind}: the shared chrome should match: {scores}"
            assert min(scores.values()) < 0.6, f"{kind} looks like {tid}: {scores}"


def test_manifest_is_documented_json(small_set: Path) -> None:
    m = json.loads((small_set / "manifest.json").read_text(encoding="utf-8"))
    assert m["schema"] == "qcedge.samples/1"
    keys = {"path", "kind", "template_id", "variant", "instance", "size", "window", "scale", "font", "fields", "tables"}
    for e in m["frames"]:
        assert keys <= set(e)
        if e["window"] is not None:
            assert "offset" in e
        if e["template_id"]:
            assert e["identity"] and all(e["fields"][k] == v for k, v in e["identity"].items())
    doc = (ROOT / "docs" / "samples.md").read_text(encoding="utf-8")
    for key in keys | {"offset", "capture", "pointer", "identity", "category"}:
        assert f"`{key}`" in doc, f"docs/samples.md does not describe {key}"
