"""Finding a taught screen: right template, right place and scale, nothing on foreign screens."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from qcedge.ocr_templates import Matcher, TemplateError, match_template
from tests.ocr_templates import synth


def expected(variant: str, seed: int = 42) -> tuple[float, float, float]:
    """(scale, ox, oy) the synthetic variant was rendered with."""
    wx, wy = synth.WINDOW
    if variant == "clean":
        return 1.0, 0.0, 0.0
    if variant == "moved":
        px, py = 60 + seed * 37 % 500, 40 + seed * 53 % 300
        return 1.0, px - wx, py - wy
    if variant == "scaled125":
        px, py = 40 + seed * 13 % 200, 30 + seed * 7 % 100
        return 1.25, px - 1.25 * wx, py - 1.25 * wy
    # hdmi: a 1600x1200 desktop fitted into 1920x1080 (pillarbox)
    k = 1080 / 1200
    x0 = (1920 - round(1600 * k)) // 2
    px, py = 150 + seed * 11 % 300, 200
    return k, x0 + k * (px - wx), k * (py - wy)


@pytest.mark.parametrize("variant", ["clean", "moved", "scaled125", "hdmi"])
def test_match_finds_offset_and_scale(dose_template, screens, variant):
    _, images = screens
    m = match_template(images[variant], dose_template)
    s, ox, oy = expected(variant)
    assert m.matched and m.template_id == "synth-dose"
    assert m.scale == pytest.approx(s, abs=0.01)
    # every corner of the window lands within 3 px of where it was drawn (text re-rendered at 125% is not an exact zoom)
    wx, wy = synth.WINDOW
    for x, y in [(wx, wy), (wx + synth.WIN_SIZE[0], wy), (wx, wy + synth.WIN_SIZE[1]),
                 (wx + synth.WIN_SIZE[0], wy + synth.WIN_SIZE[1])]:
        fx, fy = m.to_frame(x, y)
        assert fx == pytest.approx(x * s + ox, abs=3.0) and fy == pytest.approx(y * s + oy, abs=3.0)
    assert set(m.anchor_scores) == {"title", "patient_heading", "table_header", "dose_heading"}
    assert min(m.anchor_scores.values()) >= dose_template.match.threshold


def test_matcher_picks_the_right_template_and_rejects_foreign_screens(dose_template, form_template, screens):
    _, images = screens
    matcher = Matcher([dose_template, form_template])
    assert matcher.best(images["hdmi"]).template_id == "synth-dose"
    form = synth.render_form({"name": "李娜", "sex": "男", "age": "7", "exam": "头颅MR"}, pos=(500, 300))
    hit = matcher.best(form)
    assert hit.template_id == "synth-form" and hit.offset == pytest.approx((200, 140), abs=1.5)
    assert matcher.best(synth.plain_desktop()) is None
    scores = {r.template_id: r for r in matcher.match_all(form)}
    assert not scores["synth-dose"].matched and scores["synth-dose"].score < 0.6


def test_matcher_warm_start_follows_a_moved_window(dose_template):
    matcher = Matcher([dose_template])
    s = synth.random_screen(7)
    first = matcher.best(synth.render(s, pos=(100, 100)))
    assert matcher.counts.warm_starts == 0 and matcher.counts.frame_searches >= 1   # cold: searched the frame
    searched = matcher.counts.frame_searches
    again = matcher.best(synth.render(s, pos=(100, 100)))
    # the same screen again: found where it was, with no search over the frame
    assert matcher.counts.warm_starts == 1 and matcher.counts.frame_searches == searched
    assert first.offset == pytest.approx(again.offset, abs=0.5) and again.score == pytest.approx(first.score)
    moved = matcher.best(synth.render(s, pos=(400, 250)))
    # moved: the warm start fails and the frame is searched again
    assert matcher.counts.warm_starts == 1 and matcher.counts.frame_searches > searched
    assert moved.offset == pytest.approx((200, 130), abs=1.5)
    matcher.reset()
    cold = matcher.best(synth.render(s, pos=(400, 250)))
    assert matcher.counts.warm_starts == 1 and cold.offset == pytest.approx(moved.offset, abs=0.5)


def test_flat_anchor_is_a_template_error(pack, dose_template):
    bad = dose_template.model_copy(update={"anchors": [dose_template.anchors[0].model_copy(
        update={"box": dose_template.anchors[0].box.model_copy(update={"x": 1500, "y": 1000})})]})
    with pytest.raises(TemplateError, match="flat patch"):
        Matcher([bad])


def test_not_an_image(dose_template):
    with pytest.raises(ValueError, match="not an image"):
        match_template(None, dose_template)


def test_text_anchor_rejects_a_near_miss_of_the_same_program(form_template, engine):
    """Same window, same layout, another screen: only the title's words differ."""
    values = {"name": "李娜", "sex": "男", "age": "7", "exam": "头颅MR"}
    near = synth.render_form(values, pos=(420, 260), title="RIS 放射预约 Registration")
    right = synth.render_form(values, pos=(420, 260))
    with_text = Matcher([form_template], engine=engine)
    assert with_text.best(right).template_id == "synth-form"
    assert with_text.best(near) is None
    scores = with_text.match_all(near)[0].anchor_scores
    assert scores["form_title"] <= 0.5 and scores["form_heading"] > 0.95


def test_mouse_pointer_on_a_text_anchor_still_matches(form_template, engine):
    img = synth.render_form({"name": "李娜"}, pos=(420, 260))
    x, y = 420 + 60, 260 + 10   # on the title text
    pts = np.array([[0, 0], [0, 17], [4, 13], [7, 19], [9, 18], [6, 12], [12, 12]]) + [x, y]
    cv2.fillPoly(img, [pts], (255, 255, 255))
    cv2.polylines(img, [pts], True, (0, 0, 0), 1)
    hit = Matcher([form_template], engine=engine).best(img)
    assert hit is not None and hit.template_id == "synth-form"
