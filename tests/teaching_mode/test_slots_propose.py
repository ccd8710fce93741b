"""Proposals and drawn boxes cover the value's slot, so longer values on other frames are read whole.

Real PP-OCR on the generated RIS and CT screens; no Qt.
"""
from __future__ import annotations

import re

import pytest

from qcedge.ocr_templates import load_template
from qcedge.teaching_mode.draft import read_image
from qcedge.teaching_mode.live_read import read_all
from qcedge.teaching_mode.propose import infer_spec, merge_frames, propose_fields
from qcedge.teaching_mode.slots import find_slot
from tests.conftest import ROOT

RIS_TEMPLATE = ROOT / "samples" / "templates" / "ris_registration.yaml"


def norm(text: str) -> str:
    return re.sub(r"\s+", "", str(text))


def ris_frames(manifest: dict, samples_dir, variant: str = "clean") -> list[dict]:
    return [{**f, "abspath": samples_dir / f["path"]} for f in manifest["frames"]
            if f["kind"] == "ris_registration" and f["variant"] == variant]


@pytest.fixture(scope="module")
def ris_proposals(engine, manifest, samples_dir):
    first = ris_frames(manifest, samples_dir)[0]
    image = read_image(first["abspath"])
    return first, image, propose_fields(engine.detect(image), image)


def test_accepted_proposals_read_longer_values_on_other_frames(ris_proposals, engine, manifest, samples_dir):
    first, image, proposals = ris_proposals
    likely = [p for p in proposals if p.likely]
    # the form's fields come first; list rows, toolbar words, tabs and the status bar are not "likely"
    labels = [p.label for p in likely]
    assert {"姓名", "患者ID", "检查号", "检查项目", "科室", "技师", "登记时间"} <= set(labels[:14])
    assert not {"操作员", "数据库", "新建", "检查登记", "登记台"} & set(labels)
    # accept the likely proposals as they are, on this one frame
    data = {"schema": "qcedge.template/1", "id": "ris_taught", "version": "1", "title": "RIS",
            "reference": {"image": "x.png", "width": image.shape[1], "height": image.shape[0]},
            "anchors": [{"name": "a", "box": [0, 0, 40, 40]}], "fields": [p.to_field() for p in likely]}
    by_label = {f.label: f.name for f in load_template(RIS_TEMPLATE).fields}
    truth_key = {p.name: by_label[p.label] for p in likely if p.label in by_label}
    assert len(truth_key) >= 8
    # frames with longer departments, exams and names than the first one (same window place)
    others = [f for f in ris_frames(manifest, samples_dir)[1:]
              if len(f["fields"]["department"]) > len(first["fields"]["department"])
              or len(f["fields"]["exam"]) > len(first["fields"]["exam"])][:3]
    assert others
    right = wrong_valid = 0
    misses = []
    for frame in others:
        reading = read_all(read_image(frame["abspath"]), data, engine=engine)
        for name, key in truth_key.items():
            res = reading.fields[name]
            truth = norm(frame["fields"][key])
            if norm(res.text) == truth:
                right += 1
            elif res.valid:
                wrong_valid += 1
                misses.append((frame["path"], key, res.text, truth))
    assert wrong_valid == 0, f"valid but wrong (cut off?): {misses}"
    assert right >= 0.9 * len(others) * len(truth_key)


def test_proposal_boxes_are_the_input_widgets(ris_proposals):
    first, _, proposals = ris_proposals
    wx, wy = first["window"][:2]
    tpl = load_template(RIS_TEMPLATE)
    by_label = {p.label: p for p in proposals}
    for f in tpl.fields:
        x, y, w, h = f.box.as_tuple()
        p = by_label[f.label]
        px, py, pw, ph = p.box
        # the widget's inside (the sample template's box is the widget), not this frame's ink
        assert abs(px - (x + wx)) <= 2 and abs(py - (y + wy)) <= 2, f.label
        assert abs(pw - w) <= 3 and abs(ph - h) <= 3, f.label


def test_learning_from_several_frames(engine, manifest, samples_dir):
    """Frames of the screen with the window moved are aligned by their labels; values and types merge."""
    first = ris_frames(manifest, samples_dir)[1]
    moved = [f for f in ris_frames(manifest, samples_dir, "moved")][2:4]
    ref_image = read_image(first["abspath"])
    ref = propose_fields(engine.detect(ref_image), ref_image)
    rest = []
    for f in moved:
        img = read_image(f["abspath"])
        rest.append(propose_fields(engine.detect(img), img))
    merged = {p.label: p for p in merge_frames(ref, rest)}
    dept = merged["科室"]
    assert norm(first["fields"]["department"]) in [norm(t) for t in dept.texts]
    assert len(dept.texts) == 3 and {norm(f["fields"]["department"]) for f in moved} <= {norm(t) for t in dept.texts}
    # the box stayed where the widget is on the reference frame (the moved frames were aligned)
    wx, wy = first["window"][:2]
    x, y, w, h = load_template(RIS_TEMPLATE).field("department").box.as_tuple()
    assert abs(dept.box[0] - (x + wx)) <= 3 and abs(dept.box[1] - (y + wy)) <= 3 and dept.box[2] <= w + 6
    assert merged["年龄"].spec["type"] == "integer" and merged["登记时间"].spec["type"] == "datetime"


def test_types_inferred_across_values():
    assert infer_spec(["男", "女", "女", "男"]) == {"type": "enum", "choices": ["女", "男"]}
    assert infer_spec(["12", "12.5"])["type"] == "decimal"
    assert infer_spec(["0012", "345"])["type"] == "code"
    assert infer_spec(["肿瘤科", "心血管内科", "呼吸内科"])["type"] == "text"
    assert infer_spec(["120 kV", "100 kV"]) == {"type": "integer", "unit": "kV"}


def test_drawn_box_on_free_text_covers_the_space_to_the_next_column(ct_clean):
    image = read_image(ct_clean["abspath"])
    wx, wy = ct_clean["window"][:2]
    from qcedge.teaching_mode.slots import ink_bbox

    # the protocol value is free text ("Protocol  Thorax-Abdomen"), drawn a little around its ink
    ink = ink_bbox(image, [wx + 300, wy + 190, 200, 22])
    assert ink is not None and ink[2] > 60
    slot = find_slot(image, [ink[0] - 4, ink[1] - 3, ink[2] + 8, ink[3] + 6])
    # the slot reaches well past this value's ink, stops before the next column's label ("Operator")
    assert slot[0] + slot[2] > ink[0] + ink[2] + 30
    assert slot[0] + slot[2] < wx + 555  # "Operator" starts at about wx + 559
    assert slot[0] <= ink[0] and slot[1] <= ink[1] and slot[1] + slot[3] >= ink[1] + ink[3]


def test_slots_on_an_hdmi_capture(engine, manifest, samples_dir):
    """Blurred, scaled, JPEG'd (an HDMI capture card): the proposals still box the input widgets."""
    frame = ris_frames(manifest, samples_dir, "hdmi")[0]
    image = read_image(frame["abspath"])
    from qcedge.teaching_mode.labels import label_key

    # (OCR may read a label in its traditional form, 性別: it is looked up folded)
    proposals = {label_key(p.label): p for p in propose_fields(engine.detect(image), image)}
    s, (ox, oy) = frame["scale"], frame["offset"]
    for f in load_template(RIS_TEMPLATE).fields:
        x, y, w, h = f.box.as_tuple()
        p = proposals[label_key(f.label)]
        px, py, pw, ph = p.box
        assert abs(px - (x * s + ox)) <= 4 and abs(py - (y * s + oy)) <= 4, (f.label, p.box)
        assert abs(pw - w * s) <= 6 and abs(ph - h * s) <= 6, (f.label, p.box)


def test_console_tiles_label_above_value(engine, manifest, samples_dir):
    """A DR exposure panel: 'kV' at the top of a tile, '91' below it; the tile below the label is the slot,
    and the accepted proposals read the other frames' values (longer or shorter) right."""
    frames = [{**f, "abspath": samples_dir / f["path"]} for f in manifest["frames"]
              if f["kind"] == "dr_exposure" and f["variant"] == "clean"]
    image = read_image(frames[0]["abspath"])
    proposals = [p for p in propose_fields(engine.detect(image), image) if p.likely]
    tpl = load_template(ROOT / "samples" / "templates" / "dr_exposure_panel.yaml")
    by_label = {f.label.lower(): f.name for f in tpl.fields if f.label}
    tiles = {by_label[p.label.lower()]: p for p in proposals if p.label.lower() in ("kv", "mas", "ei", "di")}
    assert set(tiles) == {"kv", "mas", "ei", "di"}
    wx, wy = frames[0]["window"][:2]
    for name, p in tiles.items():
        x, y, w, h = tpl.field(name).box.as_tuple()
        # the slot holds the template's value box (the taught one, drawn by a person)
        assert p.box[0] <= x + wx and p.box[1] <= y + wy and p.box[0] + p.box[2] >= x + wx + w - 2 \
            and p.box[1] + p.box[3] >= y + wy + h - 2, (name, p.box)
    data = {"schema": "qcedge.template/1", "id": "dr", "version": "1", "title": "DR",
            "reference": {"image": "x.png", "width": image.shape[1], "height": image.shape[0]},
            "anchors": [{"name": "a", "box": [0, 0, 40, 40]}], "fields": [p.to_field() for p in tiles.values()]}
    wrong_valid, right = [], 0
    for frame in frames[1:4]:
        reading = read_all(read_image(frame["abspath"]), data, engine=engine)
        for name, p in tiles.items():
            res = reading.fields[p.name]
            if norm(res.text) == norm(frame["fields"][name]):
                right += 1
            elif res.valid:
                wrong_valid.append((name, res.text, frame["fields"][name]))
    assert not wrong_valid and right >= 11
