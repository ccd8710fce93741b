"""A private virtual X display (Xvfb), for headless stations, tests and benchmarks."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """End a child process: SIGTERM, then SIGKILL if it is still there after `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class VirtualDisplay:
    """A real Xvfb on a free display number, found race-free with -displayfd.

    `-noreset` matters: without it a share of new X connections fail while the
    server resets after the last client leaves. Use as a context manager, or
    call `stop()`. `name` is the DISPLAY value (":N").
    """

    def __init__(self, width: int = 1920, height: int = 1080, depth: int = 24) -> None:
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is not installed (run scripts/setup.sh)")
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x{depth}",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("Xvfb did not report a display number")
        self.name = f":{number}"
        self.size = (width, height)

    def stop(self) -> None:
        stop_process(self.proc)

    def __enter__(self) -> "VirtualDisplay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def display_session(width: int = 1920, height: int = 1080) -> Iterator[VirtualDisplay]:
    """A fresh virtual display with DISPLAY naming it while the block runs (the old DISPLAY comes back after)."""
    display = VirtualDisplay(width, height)
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
