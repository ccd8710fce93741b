"""No-signal detection: the black, blue or flat screens a capture card or an
encoder shows when its input has no signal (or a console's screen is off).

Works on a colour thumbnail (480 px wide: a 1 px text stroke still shows;
reached from 1080p by two exact halvings, the cheap path).
The dominant colour is the median; coverage is the share of the thumbnail
within `tolerance` levels (per channel) of it. A frame is "no signal" when it is

- blue: blue well above red and green, coverage >= `coverage` (0.97), so the
  "NO SIGNAL" caption a card writes on its blue screen does not hide it;
- black: all channels under `black_level` and flat: no thumbnail pixel more
  than `detail_level` levels from the dominant colour. A dark-themed console
  with a few light values on it is a signal, never a lost one;
- uniform: any other colour, flat the same way (set `flag_uniform=False` to
  count flat screens as signal). An almost empty white form is not flat.

Erring on the side of "signal" is deliberate: a screen wrongly taken for no
signal would not be read at all, while a no-signal screen taken for a signal
only matches no template.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from qcedge.capture.frame import Frame
from qcedge.capture.thumbnail import as_image, colour_thumbnail

log = logging.getLogger(__name__)

Kind = Literal["black", "blue", "uniform"]


@dataclass(frozen=True, slots=True)
class SignalCheck:
    """The verdict on one frame."""

    no_signal: bool
    kind: Kind | None  # what kind of flat screen, None when there is a signal
    coverage: float  # fraction of the frame near the dominant colour
    colour: tuple[int, int, int]  # dominant colour, BGR
    transition: Literal["lost", "restored"] | None = None  # set by update() when the state flips


class NoSignalDetector:
    """Tells frames with a signal from "no signal" screens.

    `check()` judges one frame. `update()` also keeps state: the signal counts
    as lost after `hold` consecutive no-signal frames (a single black frame
    while a program switches screens is not a lost signal) and as restored at
    the first good frame; the result's `transition` says when that happens.
    """

    def __init__(
        self,
        coverage: float = 0.97,
        tolerance: int = 24,
        black_level: int = 32,
        detail_level: int = 24,
        flag_uniform: bool = True,
        hold: int = 2,
        width: int = 480,
    ) -> None:
        if not 0.5 <= coverage <= 1.0:
            raise ValueError("NoSignalDetector coverage must be between 0.5 and 1")
        if hold < 1:
            raise ValueError("NoSignalDetector hold must be at least 1")
        self.coverage = coverage
        self.tolerance = tolerance
        self.black_level = black_level
        self.detail_level = detail_level
        self.flag_uniform = flag_uniform
        self.hold = hold
        self.width = width
        self._run = 0
        self._lost = False
        self._lost_since: float | None = None

    @property
    def signal_lost(self) -> bool:
        return self._lost

    @property
    def lost_since(self) -> float | None:
        """Monotonic time the signal was lost, or None while there is a signal."""
        return self._lost_since

    def check(self, frame: Frame | np.ndarray) -> SignalCheck:
        thumb = colour_thumbnail(as_image(frame), self.width)
        if thumb.ndim == 3 and thumb.shape[2] == 4:
            thumb = cv2.cvtColor(thumb, cv2.COLOR_BGRA2BGR)
        coarse = colour_thumbnail(thumb, 64)
        colour = np.median(coarse.reshape(-1, 3), axis=0).round()
        b, g, r = (int(c) for c in colour)
        channels = cv2.split(cv2.absdiff(thumb, (b, g, r, 0)))
        deviation = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
        near = cv2.countNonZero(cv2.compare(deviation, self.tolerance, cv2.CMP_LE))
        coverage = near / deviation.size
        flat = cv2.minMaxLoc(deviation)[1] <= self.detail_level
        kind: Kind | None = None
        if max(b, g, r) <= self.black_level:
            if flat:
                kind = "black"
        elif b >= 96 and b - max(g, r) >= 64:
            if coverage >= self.coverage:
                kind = "blue"
        elif self.flag_uniform and flat:
            kind = "uniform"
        return SignalCheck(kind is not None, kind, coverage, (b, g, r))

    def update(self, frame: Frame | np.ndarray) -> SignalCheck:
        result = self.check(frame)
        transition = None
        if result.no_signal:
            self._run += 1
            if not self._lost and self._run >= self.hold:
                self._lost = True
                self._lost_since = frame.t if isinstance(frame, Frame) else time.monotonic()
                transition = "lost"
                log.warning("no signal (%s screen)", result.kind)
        else:
            self._run = 0
            if self._lost:
                self._lost = False
                transition = "restored"
                gone = (time.monotonic() - self._lost_since) if self._lost_since is not None else 0.0
                self._lost_since = None
                log.info("signal restored after %.1f s", gone)
        if transition is None:
            return result
        return SignalCheck(result.no_signal, result.kind, result.coverage, result.colour, transition)
