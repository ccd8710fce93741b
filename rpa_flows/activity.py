"""Notice the person at the workstation: input the player did not send.

Two signals from the desktop backend (X11: rpa_flows.x11): the idle time (MIT-SCREEN-SAVER;
reset by every key or pointer event, real or synthetic) and the pointer
position. The player notes when it last sent input and where it left the
pointer; input newer than that, or a pointer moved away, is somebody else.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

TOLERANCE_S = 0.03  # our timestamp is taken after the server handled our event, so idle >= since_own without others


@dataclass(slots=True)
class Activity:
    reason: str
    idle: float


class ActivityMonitor:
    """Compares X idle time and pointer position with the player's own last input."""

    def __init__(self, display_name: str | None = None, source=None) -> None:
        """`source`: a desktop backend (rpa_flows.desktop.Desktop) giving idle() and pointer();
        without one, an X connection of its own."""
        self._source = source
        self._d = None
        if source is None:
            from Xlib import display

            self._d = display.Display(display_name)
            self._root = self._d.screen().root
            self._has_idle = self._d.has_extension("MIT-SCREEN-SAVER")
        self._lock = threading.Lock()
        self.last_own_input = time.monotonic()
        self.pointer_left_at: tuple[int, int] | None = None

    def idle(self) -> float | None:
        """Seconds since the last input event of anyone (None when the server cannot say)."""
        if self._source is not None:
            return self._source.idle()
        if not self._has_idle:
            return None
        with self._lock:
            return self._root.screensaver_query_info().idle / 1000.0

    def pointer(self) -> tuple[int, int]:
        if self._source is not None:
            return self._source.pointer()
        with self._lock:
            p = self._root.query_pointer()
        return (p.root_x, p.root_y)

    def note_own_input(self, pointer: tuple[int, int] | None = None) -> None:
        """Call right after the player sent input; `pointer` where it left the pointer if it moved it.

        Keys and typing leave the pointer where it was: the last known place stays, so a pointer
        the person moved meanwhile is still noticed.
        """
        self.last_own_input = time.monotonic()
        if pointer is not None:
            self.pointer_left_at = pointer
        elif self.pointer_left_at is None:
            self.pointer_left_at = self.pointer()

    def check(self) -> Activity | None:
        """Somebody else's input since the player's last input, or None."""
        # read our clock BEFORE asking the server: its answer comes later, so with no foreign input
        # idle >= since_own however slow the round trip is
        since_own = time.monotonic() - self.last_own_input
        idle = self.idle()
        if self.pointer_left_at is not None:
            where = self.pointer()
            if abs(where[0] - self.pointer_left_at[0]) > 2 or abs(where[1] - self.pointer_left_at[1]) > 2:
                return Activity(f"the pointer moved from {self.pointer_left_at} to {where}", idle or 0.0)
        if idle is not None and idle + TOLERANCE_S < since_own:
            return Activity(f"keyboard or mouse input {idle:.1f} s ago", idle)
        return None

    def rebase(self) -> None:
        """Accept the current state as the player's own (after a pause ended)."""
        idle = self.idle() or 0.0
        self.last_own_input = time.monotonic() - idle
        self.pointer_left_at = self.pointer()

    def close(self) -> None:
        if self._d is None:
            return
        try:
            self._d.close()
        except Exception:  # noqa: BLE001
            pass
