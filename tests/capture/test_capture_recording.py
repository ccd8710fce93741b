"""The detectors on the samples' recording: a 1080p, 5 fps session at a console, mp4v-encoded,
with the truth of what was on screen when (recording.json)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from qcedge.capture import ChangeDetector, NoSignalDetector, SettleDetector, open_source

pytestmark = pytest.mark.slow


@dataclass
class Observed:
    meta: dict
    changed: list[int] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)
    no_signal: list[int] = field(default_factory=list)
    frames: int = 0


@pytest.fixture(scope="module")
def observed(samples_dir) -> Observed:
    """One pass over the video with the daemon's detectors (one shared ChangeDetector)."""
    meta = json.loads((samples_dir / "recording.json").read_text(encoding="utf-8"))
    out = Observed(meta)
    settle, signal = SettleDetector(frames=3, detector=ChangeDetector()), NoSignalDetector()
    with open_source(f"file:{samples_dir / meta['video']}") as source:
        for i, frame in enumerate(source):
            update = settle.update(frame)
            if update.changed:
                out.changed.append(i)
            if update.settled:
                out.settled.append(i)
            if signal.check(frame).no_signal:
                out.no_signal.append(i)
            out.frames += 1
    assert out.frames == meta["frame_count"]
    return out


def test_changes_happen_only_where_the_truth_says_something_moved(observed):
    meta, fps = observed.meta, observed.meta["fps"]
    causes = [(a["shown_s"], a["shown_s"]) for a in meta["appearances"]]
    causes += [(e["start_s"], e["end_s"]) for e in meta["events"]]
    unexplained = [i for i in observed.changed
                   if not any(start - 1e-6 <= i / fps <= end + 1 / fps + 1e-6 for start, end in causes)]
    assert unexplained == [], "compression noise (or nothing) reported as change"
    for a in meta["appearances"]:
        assert round(a["shown_s"] * fps) in observed.changed, f"the {a['kind']} screen at {a['shown_s']} s was missed"


def test_every_taught_screen_settles_three_frames_after_it_is_drawn(observed):
    meta, fps = observed.meta, observed.meta["fps"]
    settled_at = [i / fps for i in observed.settled]
    for a in meta["appearances"]:
        inside = [t for t in settled_at if a["start_s"] <= t < a["end_s"]]
        if a["template_id"]:
            assert inside, f"{a['kind']} at {a['start_s']}-{a['end_s']} s never settled"
            # fully drawn at start_s: that frame and the next two are identical
            assert inside[0] == pytest.approx(a["start_s"] + 2 / fps), (a["kind"], a["start_s"], inside[0])
    # a screen that stays up settles again only after something moved (pointer, dialog, clock)
    assert len(settled_at) <= len(meta["appearances"]) + len(meta["events"])


def test_no_frame_of_the_session_is_taken_for_no_signal(observed):
    assert observed.no_signal == []
