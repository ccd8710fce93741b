"""The anchor locator on still 1920x1080 images: right place, exposed score, threshold, region, fallbacks."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from qcedge.rpa_flows.locate import find_image

ROOT = Path(__file__).resolve().parents[2]
ANCHORS = ROOT / "samples" / "flows" / "ris" / "anchors"
FORM = ROOT / "samples" / "flows" / "ris" / "templates" / "ris_form.png"


def screen_with(patch: np.ndarray, at: tuple[int, int], seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.full((1080, 1920, 3), 238, np.uint8)
    frame[:] = (245, 241, 238)
    noise = rng.integers(0, 12, size=frame.shape, dtype=np.uint8)
    frame = cv2.subtract(frame, noise)
    x, y = at
    frame[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
    return frame


@pytest.mark.parametrize("name, at", [("form_title.png", (1311, 707)), ("save_button.png", (3, 1040)),
                                      ("popup_ok.png", (960, 2))])
def test_finds_anchor_where_it_is(name, at):
    needle = cv2.imread(str(ANCHORS / name))
    m = find_image(screen_with(needle, at), ANCHORS / name, threshold=0.9)
    assert m.found and m.score > 0.99
    assert m.box == (at[0], at[1], needle.shape[1], needle.shape[0])
    assert m.center == (at[0] + needle.shape[1] // 2, at[1] + needle.shape[0] // 2)


def test_on_the_real_form_the_right_button_wins():
    form = cv2.imread(str(FORM))
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[40:840, 60:1160] = form
    save = find_image(frame, ANCHORS / "save_button.png", threshold=0.9)
    assert save.found and save.box[:2] == (120, 650)
    # the confirm dialog's button is not on this screen: the score says so, below the threshold
    yes = find_image(frame, ANCHORS / "confirm_yes.png", threshold=0.9)
    assert not yes.found and yes.score < 0.9


def test_region_limits_the_search_and_box_stays_in_screen_coordinates():
    needle = cv2.imread(str(ANCHORS / "popup_ok.png"))
    frame = screen_with(needle, (700, 500))
    assert find_image(frame, needle, 0.9, region=(600, 400, 400, 300)).box[:2] == (700, 500)
    outside = find_image(frame, needle, 0.9, region=(0, 0, 600, 400))
    assert not outside.found


def test_fallback_reference_images_and_scales():
    needle = cv2.imread(str(ANCHORS / "search_title.png"))
    big = cv2.resize(needle, None, fx=1.25, fy=1.25, interpolation=cv2.INTER_CUBIC)
    frame = screen_with(big, (400, 300))
    assert not find_image(frame, needle, 0.9).found  # taught at 100 %, shown at 125 %
    m = find_image(frame, needle, 0.9, scales=(1.0, 1.25))
    assert m.found and m.scale == 1.25 and abs(m.box[0] - 400) <= 2
    other = cv2.imread(str(ANCHORS / "login_title.png"))
    m2 = find_image(frame, [other, big], 0.9)
    assert m2.found and m2.box[:2] == (400, 300)


@pytest.mark.parametrize("name", sorted(p.name for p in ANCHORS.glob("*.png")))
def test_coarse_search_finds_every_sample_anchor_like_an_exhaustive_search(name):
    """The fast path (coarse proposals, full-resolution score) agrees with plain full-resolution matching."""
    needle = cv2.imread(str(ANCHORS / name))
    rng = np.random.default_rng(len(name))
    for _ in range(3):
        at = (int(rng.integers(0, 1920 - needle.shape[1])), int(rng.integers(0, 1080 - needle.shape[0])))
        frame = screen_with(needle, at, seed=int(rng.integers(0, 1000)))
        m = find_image(frame, ANCHORS / name, threshold=0.9)
        res = cv2.matchTemplate(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.cvtColor(needle, cv2.COLOR_BGR2GRAY),
                                cv2.TM_CCOEFF_NORMED)
        _, best, _, loc = cv2.minMaxLoc(res)
        assert m.box[:2] == loc == at and abs(m.score - best) < 1e-4


def test_pixel_exact_list_item_is_found_at_threshold_0_98():
    """A 90x20 list item among similar ones, at odd pixels: the half-size pass scores it ~0.7, and the
    full-resolution check of the best coarse candidates must still find the 1.00 match."""
    frame = np.full((1080, 1920, 3), 235, np.uint8)
    items = ["Internal", "Surgery", "Pediatric", "Ortho", "Eye", "Emergency", "ENT", "Oncology"]
    for i, text in enumerate(items):
        y = 301 + i * 21
        cv2.rectangle(frame, (701, y), (790, y + 19), (255, 255, 255), -1)
        cv2.putText(frame, text, (704, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1, cv2.LINE_AA)
    for i in range(len(items)):
        needle = frame[301 + i * 21:321 + i * 21, 701:791].copy()
        m = find_image(frame, [needle], 0.98)
        assert m.found and m.box == (701, 301 + i * 21, 90, 20), (items[i], m.score, m.candidates)
