"""Video files through the shared OpenCV path: frame-exact, paced, looped."""
from __future__ import annotations

import time

import numpy as np
import pytest

from qcedge.capture import SourceError, VideoFileSource, open_source

from capture_helpers import console_screen, numbered_frames, write_video


@pytest.fixture
def lossless_video(tmp_path):
    frames = numbered_frames(12)
    return write_video(tmp_path / "frames.avi", frames, fps=25, fourcc="FFV1"), frames


def test_a_lossless_video_reads_back_frame_exact_in_order(lossless_video):
    path, frames = lossless_video
    with open_source(f"file:{path}") as source:
        got = list(source)
    assert len(got) == len(frames)
    for i, (frame, expected) in enumerate(zip(got, frames)):
        assert frame.image.dtype == np.uint8 and frame.image.shape == (240, 320, 3)
        assert np.array_equal(frame.image, expected), f"frame {i} differs"
        assert frame.index == i
        assert frame.origin == f"frames.avi#{i}"
        assert frame.source_id == f"file:{path}"
    assert source.live is False


def test_mjpeg_video_reads_back_close_to_the_original(tmp_path):
    frames = [console_screen({"kV": str(80 + 10 * i), "mAs": str(100 + 50 * i)}, size=(640, 360), offset=8 * i)
              for i in range(5)]
    path = write_video(tmp_path / "frames_mjpg.avi", frames, fourcc="MJPG")
    with VideoFileSource(path) as source:
        got = [f.image for f in source]
    assert len(got) == 5
    # lossy, but each read frame is nearest to its own original, and close to it
    means = [[np.abs(a.astype(int) - f.astype(int)).mean() for f in frames] for a in got]
    assert [int(np.argmin(row)) for row in means] == [0, 1, 2, 3, 4]
    assert all(row[i] < 3.0 for i, row in enumerate(means))  # mean abs error in grey levels


def test_looping_starts_again_at_the_first_frame_and_keeps_counting(lossless_video):
    path, frames = lossless_video
    with open_source(f"file:{path}?loop=1") as source:
        got = [source.read() for _ in range(30)]
    assert all(f is not None for f in got)
    for k, frame in enumerate(got):
        assert frame.index == k
        assert np.array_equal(frame.image, frames[k % 12])
    assert got[12].origin == "frames.avi#0"


def test_pacing_plays_the_file_at_its_frame_rate(lossless_video):
    path, _ = lossless_video
    # 12 frames at 25 fps: the paced read cannot be faster than 11 frame intervals
    with open_source(f"file:{path}?pace=1") as source:
        start = time.monotonic()
        got = list(source)
        elapsed = time.monotonic() - start
    assert len(got) == 12
    assert elapsed >= 11 / 25 - 0.01
    assert got[-1].t - got[0].t >= 11 / 25 - 0.01


def test_a_missing_or_broken_file_raises_source_error(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        VideoFileSource(tmp_path / "none.mp4").open()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(SourceError, match="cannot open"):
        VideoFileSource(junk).open()


def test_reopen_after_close_starts_from_the_beginning(lossless_video):
    path, frames = lossless_video
    source = VideoFileSource(path)
    source.open()
    source.open()  # idempotent
    for _ in range(5):
        source.read()
    source.close()
    with pytest.raises(SourceError):
        source.read()
    source.open()
    first = source.read()
    source.close()
    assert first.index == 0 and np.array_equal(first.image, frames[0])
