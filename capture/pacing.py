"""Pacing: deliver frames no faster than a given rate (a file played like a live
source, a screen grabbed at 5 fps)."""
from __future__ import annotations

import time


class Pacer:
    """Sleeps so that successive `wait()` calls return `1/fps` seconds apart.

    The schedule is anchored at the first call; when the caller falls behind by
    more than `slack` seconds the schedule is re-anchored instead of bursting
    to catch up (a live source does not deliver old frames faster either).
    """

    def __init__(self, fps: float, slack: float = 0.5) -> None:
        if fps <= 0:
            raise ValueError("Pacer fps must be positive")
        self.interval = 1.0 / fps
        self.slack = slack
        self._next: float | None = None

    def reset(self) -> None:
        self._next = None

    def wait(self) -> None:
        now = time.monotonic()
        if self._next is None or now - self._next > self.slack:
            self._next = now + self.interval
            return
        delay = self._next - now
        if delay > 0:
            time.sleep(delay)
        self._next += self.interval
