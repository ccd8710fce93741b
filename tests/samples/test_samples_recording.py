"""The sample recording: its video has the frames, screens and timings recording.json says."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from qcedge.ocr_templates import load_template
from samples.generate import TEMPLATES, SEED
from samples.recording import make_recording, session
from samples.truth import load_recording


@pytest.fixture(scope="module")
def recording(samples_dir: Path) -> dict:
    if not (samples_dir / "recording.json").is_file():
        make_recording(samples_dir, seed=SEED, quiet=True)
    return load_recording(samples_dir)


@pytest.fixture(scope="module")
def frames(recording: dict) -> dict[int, np.ndarray]:
    """The frames the tests look at (middle, first and last frame of every appearance), read in one pass."""
    fps = recording["fps"]
    wanted = set()
    for a in recording["appearances"]:
        wanted |= {int(round(a["shown_s"] * fps)), int(round((a["start_s"] + a["end_s"]) / 2 * fps)),
                   int(round(a["end_s"] * fps)) - 1}
    cap = cv2.VideoCapture(recording["_video"])
    got: dict[int, np.ndarray] = {}
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if n in wanted:
            got[n] = frame
        n += 1
    cap.release()
    got[-1] = n  # type: ignore[assignment]  # the number of frames decoded
    return got


def test_video_has_the_frames_and_rate_the_json_says(recording: dict, frames: dict) -> None:
    cap = cv2.VideoCapture(recording["_video"])
    assert cap.isOpened()
    assert cap.get(cv2.CAP_PROP_FPS) == recording["fps"] == 5
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == tuple(recording["size"]) == (1920, 1080)
    cap.release()
    assert frames[-1] == recording["frame_count"]
    assert 60 <= recording["duration_s"] <= 120
    assert recording["duration_s"] == recording["frame_count"] / recording["fps"]
    assert Path(recording["_video"]).stat().st_size < 15_000_000


def test_appearances_are_contiguous_and_records_are_one_per_taught_screen(recording: dict) -> None:
    apps = recording["appearances"]
    assert apps[0]["shown_s"] == 0 and apps[-1]["end_s"] == recording["duration_s"]
    for a, b in zip(apps, apps[1:]):
        assert a["end_s"] == b["shown_s"]
    for a in apps:
        assert a["shown_s"] <= a["start_s"] < a["end_s"]
    taught = [a for a in apps if a["template_id"]]
    assert {a["template_id"] for a in taught} == {"ct_dose_report", "dr_exposure_panel", "ris_registration"}
    identities = [(a["template_id"], tuple(sorted(a["identity"].items()))) for a in taught]
    assert len(set(identities)) == len(identities)
    assert [r["identity"] for r in recording["expected_records"]] == [a["identity"] for a in taught]
    kinds = {e["kind"] for e in recording["events"]}
    assert {"opening", "refresh", "dialog", "pointer_move", "clock_tick"} <= kinds
    assert any(a["template_id"] is None and a["kind"] != "desktop" for a in apps), "no foreign screen"


def _anchor_score(frame: np.ndarray, ref: np.ndarray, box, window) -> float:
    x, y, w, h = box
    wx, wy = window[:2]
    patch = cv2.cvtColor(ref[y:y + h, x:x + w], cv2.COLOR_BGR2GRAY)
    got = cv2.cvtColor(frame[wy + y:wy + y + h, wx + x:wx + x + w], cv2.COLOR_BGR2GRAY)
    return float(cv2.matchTemplate(got, patch, cv2.TM_CCOEFF_NORMED)[0, 0])


def test_each_taught_appearance_shows_its_screen_and_values(recording: dict, frames: dict) -> None:
    fps = recording["fps"]
    segs, _ = session(SEED)
    shown = [s for s in segs if s.screen is not None]
    apps = [a for a in recording["appearances"] if a["kind"] != "desktop"]
    assert len(shown) == len(apps)
    for seg, a in zip(shown, apps):
        assert seg.inst.fields == a["fields"]
        mid = frames[int(round((a["start_s"] + a["end_s"]) / 2 * fps))]
        x, y, w, h = a["window"]
        expected = cv2.cvtColor(np.asarray(seg.screen.render(seg.inst, 1.0)[0]), cv2.COLOR_RGB2BGR)
        region = mid[y:y + h, x:x + w].astype(np.int16)
        diff = np.abs(region - expected).mean(axis=2)
        assert np.mean(diff > 40) < 0.01, f"{a['kind']} at {a['start_s']} s differs from its truth"
        if a["template_id"]:
            t = load_template(TEMPLATES / f"{a['template_id']}.yaml")
            ref = cv2.imread(str(t.reference_path))
            for anchor in t.anchors:
                assert _anchor_score(mid, ref, anchor.box.as_tuple(), a["window"]) > 0.9, (a["kind"], anchor.name)


def test_opening_and_refresh_frames_are_not_the_settled_screen(recording: dict, frames: dict) -> None:
    """Opening: the lower part is not drawn yet. Refresh: the values are cleared before the new ones come."""
    fps = recording["fps"]
    events = {e["start_s"]: e["kind"] for e in recording["events"] if e["kind"] in ("opening", "refresh")}
    seen = set()
    for a in recording["appearances"]:
        if not a["template_id"] or a["start_s"] == a["shown_s"]:
            continue
        kind = events[a["shown_s"]]
        seen.add(kind)
        first = frames[int(round(a["shown_s"] * fps))].astype(int)
        done = frames[int(round((a["start_s"] + a["end_s"]) / 2 * fps))].astype(int)
        x, y, w, h = a["window"]
        if kind == "opening":
            region = (slice(y + h * 3 // 4, y + h - 30), slice(x, x + w))
            assert np.abs(first[region] - done[region]).mean() > 5, a["kind"]
        else:
            t = load_template(TEMPLATES / f"{a['template_id']}.yaml")
            for f in t.fields:
                if f.name in a["fields"]:
                    bx, by, bw, bh = f.box.as_tuple()
                    region = (slice(y + by, y + by + bh), slice(x + bx, x + bx + bw))
                    assert np.abs(first[region] - done[region]).mean() > 2, (a["kind"], f.name)
    assert seen == {"opening", "refresh"}
