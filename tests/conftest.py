"""Shared fixtures: a real Xvfb display, the generated samples, free loopback ports."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qcedge.capture.xvfb import VirtualDisplay, display_session

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
GENERATED = SAMPLES / "generated"


@pytest.fixture(scope="session")
def xvfb() -> Iterator[VirtualDisplay]:
    """A 1920x1080 Xvfb display; DISPLAY is set for the whole session while it runs."""
    with display_session() as display:
        yield display


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The generated samples (screens, ground truth, recording); made by `python -m samples.generate`."""
    if not (GENERATED / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "samples.generate", "--quiet"], cwd=ROOT, check=True)
    return GENERATED
