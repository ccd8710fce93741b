"""Settle detection: the screen has stopped changing, so it is worth reading.

A screen settles when, since its last change, at least `frames` consecutive
frames (the changed one included) were near-identical and, if `quiet` is set,
at least `quiet` seconds have passed. The detector says so exactly once per
settled screen; the next change re-arms it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qcedge.capture.change import Change, ChangeDetector
from qcedge.capture.frame import Frame


@dataclass(frozen=True, slots=True)
class SettleUpdate:
    """What one frame told the settle detector."""

    change: Change  # the change check of this frame
    settled: bool  # True exactly once: this frame completes a settled screen
    stable_frames: int  # frames since the last change, the changed frame included
    stable_seconds: float  # seconds since the last change

    @property
    def changed(self) -> bool:
        return self.change.changed


class SettleDetector:
    """Emits once per settled screen.

    frames: near-identical frames needed (>= 1; the changed frame counts).
    quiet: seconds without change needed (0 = frames only).
    detector: the ChangeDetector deciding "near-identical" (one is made with
        defaults if not given). Share it: then one thumbnail per frame serves
        both change and settle detection.
    """

    def __init__(self, frames: int = 3, quiet: float = 0.0, detector: ChangeDetector | None = None) -> None:
        if frames < 1:
            raise ValueError("SettleDetector frames must be at least 1")
        if quiet < 0:
            raise ValueError("SettleDetector quiet must not be negative")
        self.frames = int(frames)
        self.quiet = float(quiet)
        self.detector = detector or ChangeDetector()
        self._stable = 0
        self._since = 0.0
        self._emitted = False

    @property
    def is_settled(self) -> bool:
        """The current screen has settled (and was reported)."""
        return self._emitted

    def reset(self) -> None:
        """Forget everything: the next frame starts a new screen."""
        self.detector.reset()
        self._stable = 0
        self._emitted = False

    def update(self, frame: Frame | np.ndarray, t: float | None = None) -> SettleUpdate:
        """Feed one frame. `t` (monotonic seconds) defaults to frame.t or now."""
        if t is None:
            t = frame.t if isinstance(frame, Frame) else time.monotonic()
        change = self.detector.check(frame)
        if change.changed or self._stable == 0:
            self._stable = 1
            self._since = t
            self._emitted = False
        else:
            self._stable += 1
        quiet_for = max(0.0, t - self._since)
        settled = False
        if not self._emitted and self._stable >= self.frames and quiet_for >= self.quiet:
            self._emitted = True
            settled = True
        return SettleUpdate(change, settled, self._stable, quiet_for)
