"""Reading a matched screen with the real recogniser: values right, doubtful ones never clean."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from qcedge.ocr_templates import OcrEngine, ScreenReader, get_engine, match_template, read_screen
from qcedge.ocr_templates.engines import Recognition
from qcedge.ocr_templates.preprocess import prepare_crop
from tests.ocr_templates import synth


def _cells(reading):
    """(name, FieldResult) for every value and table cell."""
    for name, f in reading.fields.items():
        if f.rows is None:
            yield name, f
        else:
            for i, row in enumerate(f.rows):
                for col, cell in row.items():
                    yield f"{name}[{i}].{col}", cell


def _truth(screen):
    out = {k: v for k, v in screen.values.items()}
    for i, row in enumerate(screen.rows):
        for col, v in row.items():
            out[f"series[{i}].{col}"] = v
    return out


@pytest.mark.parametrize("variant", ["clean", "hdmi"])
def test_reads_every_field_right(dose_template, screens, engine, variant):
    screen, images = screens
    reading = read_screen(images[variant], dose_template, engine=engine)
    truth = _truth(screen)
    got = dict(_cells(reading))
    assert set(got) == set(truth)
    for name, f in got.items():
        assert f.value == truth[name], (name, f.text, f.reasons)
    assert [c.ok for c in reading.checks] == [True, True]
    if variant == "clean":
        assert reading.status == "complete"
        assert all(f.valid for f in got.values())


def test_wrong_total_and_empty_field_go_to_review(dose_template, engine):
    s = synth.random_screen(11)
    s.texts["dlp_total"] = "999.9 mGy·cm"   # the screen's total disagrees with its series
    s.texts["ei"] = ""
    reader = ScreenReader([dose_template], engine=engine)
    reading = reader.process(synth.render(s, pos=(300, 200), seed=11))
    assert reading is not None and reading.status == "needs_review"
    total = reading.fields["dlp_total"]
    assert total.value == 999.9 and total.valid          # the value itself reads fine ...
    check = next(c for c in reading.checks if c.name == "total_dlp")
    assert not check.ok and "999.9" in check.message     # ... but it does not add up
    assert not reading.fields["ei"].valid and "empty" in reading.fields["ei"].reasons[0]


def test_reader_gives_nothing_for_a_foreign_screen(dose_template, engine):
    assert ScreenReader([dose_template], engine=engine).process(synth.plain_desktop()) is None


def test_unmatched_template_marks_every_field(dose_template, engine):
    desk = synth.plain_desktop()
    m = match_template(desk, dose_template)
    reading = read_screen(desk, dose_template, m, engine)
    assert not m.matched and reading.status == "needs_review"
    assert all(not f.valid and "did not match" in f.reasons[0] for f in reading.fields.values())
    assert "needs 0.80" in reading.fields["kv"].reasons[0]


def _line(text, size=(220, 34), fg=(0, 0, 0), bg=(255, 255, 255), font=synth.SANS, px=15, lines=False):
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    d.text((8, 8), text, font=ImageFont.truetype(font, px), fill=fg)
    if lines:
        d.line([(0, 1), (size[0], 1)], fill=(120, 120, 120))
        d.line([(0, size[1] - 2), (size[0], size[1] - 2)], fill=(120, 120, 120))
        d.line([(size[0] - 3, 0), (size[0] - 3, size[1])], fill=(120, 120, 120))
    return cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)


def test_prepare_crop_inverts_trims_and_scales():
    out = prepare_crop(_line("1263.9", fg=(240, 240, 120), bg=(30, 34, 40), lines=True))
    assert out is not None and 40 <= out.shape[0] <= 64     # small text scaled up to the recogniser's height
    grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    assert np.median(grey) > 200                          # dark text on light now
    assert grey[:, :3].min() > 200 and grey[:, -3:].min() > 200   # borders gone, re-padded
    assert prepare_crop(_line("", lines=True)) is None    # grid lines only: an empty cell


def test_engines_read_a_value_line(engine):
    crops = [prepare_crop(_line("CTDIvol 12.34 mGy", lines=True)), prepare_crop(_line("4521.7", px=13))]
    assert [r.text.replace(" ", "") for r in engine.recognize(crops)][1] == "4521.7"
    tess = get_engine("tesseract")
    assert tess.recognize([crops[1]])[0].text == "4521.7"


def test_detect_finds_text_lines(engine):
    img = np.full((120, 400, 3), 255, np.uint8)
    img[:40] = _line("kV 120", size=(400, 40))
    img[60:100] = _line("mAs 250", size=(400, 40))
    found = engine.detect(img)
    texts = [b.text.replace(" ", "") for b in found]
    assert texts == ["kV120", "mAs250"]
    assert found[1].box[1] > 50


class _SizeSensitive(OcrEngine):
    """Reads weak fields differently at the two sizes the reader uses (what a shaky recogniser does)."""

    name = "size-sensitive"

    def __init__(self, real):
        self.real = real

    def recognize(self, crops):
        out = self.real.recognize(crops)
        return [Recognition(r.text + ("x" if c.shape[0] > 62 else ""), r.confidence) for c, r in zip(crops, out)]

    def detect(self, image):
        return []


def test_two_readings_that_differ_are_never_clean(form_template, engine):
    img = synth.render_form({"name": "王芳", "sex": "女", "age": "45", "exam": "胸部CT平扫"}, pos=(350, 220))
    reading = read_screen(img, form_template, engine=_SizeSensitive(engine))
    exam = reading.fields["exam"]   # free text, no pattern: read twice
    assert not exam.valid and "second reading" in exam.reasons[-1]
    assert reading.fields["age"].valid          # an integer with a range is read once
    good = read_screen(img, form_template, engine=engine)
    assert good.fields["exam"].valid and good.fields["exam"].value == "胸部CT平扫"


@pytest.mark.parametrize("fg,bg", [((255, 240, 100), (255, 255, 255)), ((255, 60, 60), (60, 60, 200)),
                                   ((0, 220, 0), (20, 20, 20))])
def test_coloured_text_with_little_grey_contrast(engine, fg, bg):
    """Pale yellow on white is almost invisible in plain grey; the best colour channel is used."""
    crop = prepare_crop(_line("1263.9", fg=fg, bg=bg))
    assert crop is not None and engine.recognize([crop])[0].text == "1263.9"


def test_bitmap_font_keeps_its_one_pixel_decimal_point(engine):
    """Unsmoothed fonts draw '.' as one pixel: it must survive the clean-up, or 25.0 reads 250."""
    img = Image.new("RGB", (120, 30), (245, 247, 250))
    d = ImageDraw.Draw(img)
    d.fontmode = "1"
    d.text((10, 8), "347.29", font=ImageFont.truetype(synth.WQY, 14), fill=(0, 0, 0))
    crop = prepare_crop(cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR))
    assert engine.recognize([crop])[0].text == "347.29"


def test_tight_box_keeps_the_strokes_of_ones(engine):
    """A box drawn tight around its text: a '1' is nearly as tall as the box, yet it is no grid line."""
    from qcedge.ocr_templates.read import crop_box

    img = Image.new("RGB", (200, 40), (255, 255, 255))
    ImageDraw.Draw(img).text((20, 10), "15.10.2025", font=ImageFont.truetype(synth.CJK, 14), fill=(0, 0, 0))
    frame = cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)
    ys, xs = np.nonzero(frame.min(axis=2) < 128)
    # as tight as a person draws it: two pixels above and below the digits
    box = (int(xs.min()) - 2, int(ys.min()) - 2, int(xs.max() - xs.min() + 5), int(ys.max() - ys.min() + 5))
    crop = prepare_crop(*crop_box(frame, box))
    assert engine.recognize([crop])[0].text == "15.10.2025"
