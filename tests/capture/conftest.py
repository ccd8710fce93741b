"""Fixtures for the capture tests (helpers live in capture_helpers.py)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from capture_helpers import FFMPEG, FFmpegProcs, split_picture


@pytest.fixture
def ffmpeg(tmp_path: Path) -> Iterator[FFmpegProcs]:
    if not FFMPEG:
        pytest.skip("ffmpeg not installed")
    procs = FFmpegProcs(tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture
def picture_png(tmp_path: Path) -> Path:
    path = tmp_path / "split.png"
    cv2.imwrite(str(path), split_picture())
    return path
