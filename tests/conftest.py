"""Shared fixtures: a real Xvfb display, the generated samples, free loopback ports."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
GENERATED = SAMPLES / "generated"


class XvfbDisplay:
    """A real X server on a free display number, started with -displayfd."""

    def __init__(self, width: int = 1920, height: int = 1080) -> None:
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is not installed (run scripts/setup.sh)")
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            self.proc.kill()
            raise RuntimeError("Xvfb did not report a display number")
        self.name = f":{number}"
        self.size = (width, height)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def xvfb() -> Iterator[XvfbDisplay]:
    """A 1920x1080 Xvfb display; DISPLAY is set for the whole session while it runs."""
    display = XvfbDisplay()
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display.name
    try:
        yield display
    finally:
        display.stop()
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The generated samples (screens, ground truth, recording); made by `python -m samples.generate`."""
    if not (GENERATED / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "samples.generate", "--quiet"], cwd=ROOT, check=True)
    return GENERATED
