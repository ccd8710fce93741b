"""Change, settle and no-signal detection on real frame sequences (encoded video, read back)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from qcedge.capture import ChangeDetector, NoSignalDetector, SettleDetector, open_source

from capture_helpers import console_screen, no_signal_screen, write_video

SIZE = (1920, 1080)
DOSE = {f"Series {i}": f"120 kV  {200 + 13 * i} mAs  CTDIvol {10 + 1.37 * i:.2f} mGy" for i in range(1, 9)}


def dose_screen(**changes: str) -> np.ndarray:
    values = dict(DOSE, **changes)
    return console_screen(values, SIZE, "CT Dose Report")


def exposure_screen() -> np.ndarray:
    return console_screen({"kV": "81", "mAs": "6.3", "EI": "412", "DI": "0.4", "Body part": "CHEST PA"}, SIZE,
                          "DR Exposure")


# What a capture card delivered during a session: screen A, screen B, B with one
# value changed, the signal lost (black, then the card's blue screen), A again.
SEGMENTS = [("A", 5), ("B", 5), ("B'", 5), ("black", 4), ("blue", 4), ("A", 4)]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    pictures = {
        "A": dose_screen(),
        "B": exposure_screen(),
        "B'": console_screen({"kV": "81", "mAs": "6.3", "EI": "418", "DI": "0.4", "Body part": "CHEST PA"}, SIZE,
                             "DR Exposure"),
        "black": no_signal_screen("black", SIZE),
        "blue": no_signal_screen("blue", SIZE),
    }
    frames = [pictures[name] for name, count in SEGMENTS for _ in range(count)]
    # MJPG: lossy like a capture card, so every frame carries its own compression noise
    path = write_video(tmp_path_factory.mktemp("session") / "session.avi", frames, fps=10, fourcc="MJPG")
    with open_source(f"file:{path}") as source:
        decoded = list(source)
    assert len(decoded) == len(frames)
    return decoded


def starts() -> list[int]:
    out, at = [], 0
    for _, count in SEGMENTS:
        out.append(at)
        at += count
    return out


def test_changes_are_reported_exactly_where_the_screen_changed(session):
    detector = ChangeDetector()
    changed = [i for i, frame in enumerate(session) if detector.check(frame).changed]
    assert changed == starts()  # [0, 5, 10, 15, 19, 23]: the one-value change at 10 included


def test_settle_fires_once_per_screen_after_three_identical_frames(session):
    settle = SettleDetector(frames=3)
    fired = [i for i, frame in enumerate(session) if settle.update(frame).settled]
    assert fired == [s + 2 for s in starts()]


def test_settle_by_quiet_time(session):
    """quiet=0.25 s at 10 fps (times from the file's frame rate): the 4th frame of each screen."""
    settle = SettleDetector(frames=1, quiet=0.25)
    fired = [i for i, frame in enumerate(session) if settle.update(frame, t=i / 10).settled]
    assert fired == [s + 3 for s in starts()]


def test_ignored_regions_do_not_count(session):
    # the EI value sits in the second line of the panel: ignore that line
    detector = ChangeDetector(ignore=[(200, 125, 400, 30)])
    changed = [i for i, frame in enumerate(session) if detector.check(frame).changed]
    assert 10 not in changed and 5 in changed


def test_no_signal_frames_are_flagged_with_their_kind_and_transitions(session):
    detector = NoSignalDetector()
    checks = [detector.update(frame) for frame in session]
    flagged = [i for i, c in enumerate(checks) if c.no_signal]
    assert flagged == list(range(15, 23))
    assert {checks[i].kind for i in range(15, 19)} == {"black"}
    assert {checks[i].kind for i in range(19, 23)} == {"blue"}
    transitions = {i: c.transition for i, c in enumerate(checks) if c.transition}
    assert transitions == {16: "lost", 23: "restored"}  # lost after hold=2 frames


def test_screens_that_are_mostly_one_colour_still_count_as_signal():
    dark = np.full((1080, 1920, 3), 18, np.uint8)  # a dark-themed console with three light values
    for k, text in enumerate(["CTDIvol 12.3", "DLP 456.7", "kV 120"]):
        cv2.putText(dark, text, (1500, 980 + 30 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (200, 200, 200), 1)
    form = np.full((1080, 1920, 3), 250, np.uint8)  # an almost empty white form
    cv2.putText(form, "Patient ID  P-0042", (60, 80), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.rectangle(form, (40, 40), (1880, 1040), (180, 180, 180), 1)
    detector = NoSignalDetector()
    for image in (dark, form, dose_screen()):
        check = detector.check(image)
        assert not check.no_signal, check
    grey_flat = np.full((1080, 1920, 3), 128, np.uint8)
    assert detector.check(grey_flat).kind == "uniform"
    assert not NoSignalDetector(flag_uniform=False).check(grey_flat).no_signal


def test_frame_size_change_and_reset_count_as_change():
    detector = ChangeDetector()
    a = dose_screen()
    assert detector.check(a).first
    assert not detector.check(a.copy()).changed
    small = cv2.resize(a, (1280, 720))
    result = detector.check(small)
    assert result.changed and result.first
    detector.reset()
    assert detector.check(small).changed
    with pytest.raises(ValueError):
        ChangeDetector(ignore=[(0, 0, 1920, 1080)]).check(a)


@pytest.mark.slow
def test_h264_noise_is_not_change_but_one_changed_value_is(tmp_path, ffmpeg):
    """A 1080p console screen through H.264 (as an HDMI encoder sends it); one value changes at frame 8."""
    a = dose_screen()
    b = dose_screen(**{"Series 4": "120 kV  239 mAs  CTDIvol 14.81 mGy"})  # was 14.11
    cv2.imwrite(str(tmp_path / "a.png"), a)
    cv2.imwrite(str(tmp_path / "b.png"), b)
    out = tmp_path / "hdmi.mp4"
    proc = ffmpeg.start("-loop", "1", "-framerate", "8", "-t", "1", "-i", str(tmp_path / "a.png"),
                        "-loop", "1", "-framerate", "8", "-t", "1", "-i", str(tmp_path / "b.png"),
                        "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]",
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(out))
    assert proc.wait(60) == 0
    detector = ChangeDetector()
    with open_source(f"file:{out}") as source:
        frames = list(source)
    assert len(frames) == 16
    assert np.abs(frames[12].image.astype(int) - b).mean() < 3  # lossy, but this is the picture
    checks = [detector.check(frame) for frame in frames]
    assert [i for i, c in enumerate(checks) if c.changed] == [0, 8]
