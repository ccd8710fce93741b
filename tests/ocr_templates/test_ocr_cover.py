"""A value marked valid is the value on the screen: the pointer, a dialog, the frame's edge, a tight box, marks.

The frames are made here (tests/ocr_templates/synth.py: its own layout, fonts and colours), not taken from
the benchmark's samples.
"""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw, ImageFont

from qcedge.ocr_templates import Matcher, load_template, read_screen
from tests.ocr_templates import synth

ARROW = [(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)]   # tip at (0, 0)


def with_pointer(image: np.ndarray, x: int, y: int, dark: bool = False, size: float = 1.0) -> np.ndarray:
    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    pts = [(x + px * size, y + py * size) for px, py in ARROW]
    fill, line = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (0, 0, 0))
    ImageDraw.Draw(pil).polygon(pts, fill=fill, outline=line)
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def with_dialog(image: np.ndarray, box: tuple[int, int, int, int], body=(250, 250, 250)) -> np.ndarray:
    x, y, w, h = box
    out = image.copy()
    cv2.rectangle(out, (x, y), (x + w, y + h), body[::-1], -1)
    cv2.rectangle(out, (x, y), (x + w, y + 26), (215, 120, 0), -1)
    cv2.rectangle(out, (x, y), (x + w, y + h), (60, 60, 60), 1)
    pil = Image.fromarray(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
    ImageDraw.Draw(pil).text((x + 20, y + 50), "正在传输图像到PACS…", font=ImageFont.truetype(synth.CJK, 15), fill=(0, 0, 0))
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def frame_box(template, name: str, dx: int = 0, dy: int = 0) -> tuple[int, int, int, int]:
    x, y, w, h = template.field(name).box.as_tuple()
    return (x + dx, y + dy, w, h)


def cell(reading, name: str):
    return reading.fields[name]


@pytest.fixture(scope="module")
def screen():
    s = synth.random_screen(77)
    return s, synth.render(s, seed=77)


def test_a_pointer_on_a_digit_is_flagged_never_valid(dose_template, engine, screen):
    s, clean = screen
    x, y, w, h = frame_box(dose_template, "ei")          # light digits on a dark box: the arrow hides part of one
    px, py, pw, ph = frame_box(dose_template, "patient_id")
    for img in (with_pointer(clean, x + 10, y + 6), with_pointer(clean, px + 30, py + 6, dark=True)):
        r = read_screen(img, dose_template, engine=engine)
        ei = cell(r, "ei") if r.fields["ei"].hidden else cell(r, "patient_id")
        assert not ei.valid and ei.value is None
        assert "covered by the pointer" in ei.reasons
        assert r.status == "needs_review"
    kx, ky, kw, kh = frame_box(dose_template, "kv")       # dark digits on white, the pointer 1.5x
    r = read_screen(with_pointer(clean, kx + 8, ky + 4, size=1.5), dose_template, engine=engine)
    assert r.fields["kv"].hidden == "covered by the pointer" and not r.fields["kv"].valid
    # everything else reads as on the clean frame
    base = read_screen(clean, dose_template, engine=engine)
    for name in ("patient_id", "accession", "ctdi", "dlp_total"):
        assert r.fields[name].valid and r.fields[name].value == base.fields[name].value


def test_a_pointer_on_a_table_cell_flags_that_cell_and_the_table(dose_template, engine, screen):
    s, clean = screen
    tx, ty, tw, th = dose_template.field("series").box.as_tuple()
    tab = dose_template.field("series")
    cx, cy = tx + tab.columns[2].x + 20, ty + tab.header + 6      # row 1, mAs
    r = read_screen(with_pointer(clean, cx, cy), dose_template, engine=engine)
    series = r.fields["series"]
    assert not series.valid
    assert series.rows[0]["mas"].hidden == "covered by the pointer" and not series.rows[0]["mas"].valid
    assert series.rows[0]["kv"].valid and series.rows[0]["kv"].value == s.rows[0]["kv"]


def test_no_pointer_no_cover_on_clean_frames(dose_template, engine, screens):
    _, variants = screens
    for name, img in variants.items():
        r = read_screen(img, dose_template, engine=engine)
        assert r.match.matched, name
        hidden = [f.name for f in r.fields.values() if f.hidden] + \
            [c.name for f in r.fields.values() for row in f.rows or () for c in row.values() if c.hidden]
        assert hidden == [], f"{name}: {hidden}"


def test_a_dialog_over_an_anchor_still_matches_and_hides_only_what_it_covers(dose_template, engine, screen):
    s, clean = screen
    ox, oy = synth.WINDOW
    # over the "dose" heading anchor and the kv/mas fields next to it; the title, the patient heading and the
    # table header stay visible
    dialog = (ox + 10, oy + 160, 330, 120)
    img = with_dialog(clean, dialog)
    m = Matcher([dose_template], engine=engine).best(img)
    assert m is not None and m.template_id == "synth-dose"
    assert m.hidden == {"dose_heading": "covered by another window"}
    r = read_screen(img, dose_template, m, engine)
    for name in ("kv", "mas"):
        assert r.fields[name].hidden == "covered by another window" and r.fields[name].value is None
    base = read_screen(clean, dose_template, engine=engine)
    for name in ("patient_name", "patient_id", "accession", "exam_date", "ctdi", "dlp_total", "ei"):
        assert r.fields[name].valid and r.fields[name].value == base.fields[name].value, name
    # the same dialog in the window's own grey still counts as covering the anchor
    grey = with_dialog(clean, dialog, body=(236, 236, 232))
    m2 = Matcher([dose_template], engine=engine).best(grey)
    assert m2 is not None and "dose_heading" in m2.hidden


def test_a_near_miss_is_not_taken_for_a_hidden_anchor(dose_template, engine, screen, pack):
    """Another page of the same program: the dose heading says something else, its surroundings are as
    taught. That is not an anchor under a dialog: no match, as before."""
    s, clean = screen
    ox, oy = synth.WINDOW
    img = clean.copy()
    x, y, w, h = dict(synth.ANCHORS)["dose_heading"]
    cv2.rectangle(img, (ox + x, oy + y), (ox + x + w, oy + y + h), (232, 236, 236), -1)
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    ImageDraw.Draw(pil).text((ox + 24, oy + 170), "图像参数 Image", font=ImageFont.truetype(synth.CJK_BOLD, 14),
                             fill=(20, 40, 90))
    img = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    assert Matcher([dose_template], engine=engine).best(img) is None


def test_an_anchor_outside_the_frame_is_not_a_mismatch(dose_template, engine, screen):
    s, clean = screen
    ox, oy = synth.WINDOW
    # the window's lower part is cut off at the frame's bottom edge: the table header anchor is outside
    cut = np.ascontiguousarray(clean[: oy + 320])
    m = Matcher([dose_template], engine=engine).best(cut)
    assert m is not None and m.hidden.get("table_header") == "outside the frame"
    r = read_screen(cut, dose_template, m, engine)
    assert r.fields["series"].valid is False
    assert r.fields["kv"].valid and r.fields["kv"].value == s.values["kv"]


def test_a_value_longer_than_its_tight_box_is_flagged(tmp_path, engine):
    """A box drawn around one value's ink (plus 3 px): a longer value on another screen runs past it."""
    ref_values = {"name": "王芳", "sex": "女", "age": "45", "exam": "胸部CT"}
    folder = tmp_path / "tight"
    synth.write_form_template(folder)
    data = yaml.safe_load((folder / "synth_form.yaml").read_text(encoding="utf-8"))
    cv2.imwrite(str(folder / "synth_form.png"), synth.render_form(ref_values))
    ox, oy = synth.FORM_WINDOW
    font = ImageFont.truetype(synth.WQY, 16)
    for f in data["fields"]:
        left, _, right, _ = font.getbbox(ref_values[f["name"]])
        f["box"] = [ox + 120 + 6 + left - 3, f["box"][1], right - left + 6, f["box"][3]]
    (folder / "synth_form.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    t = load_template(folder / "synth_form.yaml")
    img = synth.render_form({"name": "欧阳海燕", "sex": "女", "age": "45", "exam": "胸部CT平扫增强"})
    r = read_screen(img, t, engine=engine)
    for name in ("name", "exam"):
        f = r.fields[name]
        assert not f.valid and any("cut off" in x for x in f.reasons), (name, f.text, f.reasons)
    assert r.fields["sex"].valid and r.fields["age"].valid and r.fields["age"].value == 45
    # the same lengths as taught: nothing is cut off
    same = read_screen(synth.render_form(ref_values), t, engine=engine)
    assert all(f.valid for f in same.fields.values()), {n: f.reasons for n, f in same.fields.items()}


@pytest.mark.parametrize("text", ["Liver_art", "HEAD_SEQ", "T1_FS-AX"])
def test_underscores_and_marks_outside_the_letters_band_are_kept(tmp_path, engine, text):
    folder = tmp_path / "marks"
    synth.write_form_template(folder)
    t = load_template(folder / "synth_form.yaml")
    img = synth.render_form({"name": "王芳", "sex": "女", "age": "45", "exam": text})
    r = read_screen(img, t, engine=engine)
    assert r.fields["exam"].text == text and r.fields["exam"].valid


def test_an_unmatched_template_gives_no_valid_table_cell(dose_template, engine):
    r = read_screen(synth.plain_desktop(), dose_template, engine=engine)
    assert not r.match.matched
    cells = [c for row in r.fields["series"].rows or () for c in row.values()]
    assert all(not c.valid for c in cells)
    assert all(not f.valid for f in r.fields.values())


def test_match_json_on_unmatched_images_prints_every_image(pack, tmp_path):
    desk = tmp_path / "desk.png"
    cv2.imwrite(str(desk), synth.plain_desktop())
    form = tmp_path / "form.png"
    cv2.imwrite(str(form), synth.render_form({"name": "王芳"}))
    out = subprocess.run([sys.executable, "-m", "qcedge", "match", "--templates", str(pack), "--json", str(desk),
                          str(form)], capture_output=True, text=True, timeout=120)
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["template"] for d in docs] == [None, "synth-form"], out.stderr
    assert all(isinstance(r["score"], float) for d in docs for r in d["results"])
