"""Event-loop helpers shared by the GUI driver scripts (run as subprocesses on a real X display)."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from PySide6.QtWidgets import QApplication

from qcedge.teaching_mode.app import process_events_until

# Set by a driver to a callable giving extra text for time-out messages (e.g. a status line).
status: Callable[[], str] = lambda: ""  # noqa: E731


def pump(seconds: float = 0.05) -> None:
    """Let the window handle events for `seconds`."""
    app = QApplication.instance()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """Handle events until `predicate()` holds; exit the driver with a message on time-out."""
    if process_events_until(predicate, timeout):
        return
    extra = status()
    raise SystemExit(f"timed out waiting for {what}" + (f"; status: {extra}" if extra else ""))


def xdo(*args: str, settle: float = 0.05) -> None:
    """Real X input through xdotool, then let the window react."""
    subprocess.run(["xdotool", *args], check=True, timeout=20)
    pump(settle)
