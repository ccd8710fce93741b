"""Change detection: did the screen change since the last change we reported?

Works on a reduced grey image (960 px wide by default: half of a 1080p frame),
so a 1080p frame costs about 2-3 ms. Two measures, either of which reports a
change:

- `score`: the mean absolute difference of the whole thumbnail (0-255): big
  changes (another screen, a dialog, a scroll);
- `cells`: how many thumbnail pixels differ by more than `cell_threshold`:
  small local changes (one digit of one field).

Why not a 64-160 px thumbnail: there a one-digit change of a 13 px font in a
1080p frame moves no thumbnail pixel by more than 1-14 grey levels (the ink
moves inside the 12x12 block and averages out), which is within capture noise.
At 960 px the same change moves pixels by 42-63 levels on a low-contrast
(84 grey levels) background and 120-180 on a light one, while H.264 keeps a
still 1080p console screen within 20 levels and its refinement after a change
within 25 (measured; see docs/capture.md). Hence `cell_threshold` 32. Lower
`width` for speed where only whole-screen changes matter.

The comparison is against the *reference*: the thumbnail of the last frame
reported as changed (or the first frame). So a slow drift still adds up to a
change, and frames that are "the same screen" never move the reference.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from qcedge.capture.frame import Frame
from qcedge.capture.thumbnail import as_image, grey_thumbnail

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Change:
    """The result of one change check."""

    changed: bool
    score: float  # mean abs difference of the thumbnail, 0-255
    cells: int  # thumbnail pixels that differ by more than cell_threshold
    first: bool = False  # no reference yet (first frame, or the frame size changed)


class ChangeDetector:
    """Reports whether a frame differs from the reference (last changed) frame.

    width: thumbnail width in pixels (height follows the aspect ratio).
    threshold: mean abs difference (0-255) above which the frame changed.
    cell_threshold, min_cells: a frame also changed when at least `min_cells`
        thumbnail pixels differ by more than `cell_threshold` grey levels.
    ignore: boxes (x, y, w, h) in frame pixels whose changes do not count
        (a clock in the task bar, a blinking cursor's field).
    """

    def __init__(
        self,
        width: int = 960,
        threshold: float = 1.0,
        cell_threshold: int = 32,
        min_cells: int = 1,
        ignore: Sequence[Box] = (),
    ) -> None:
        if width < 8:
            raise ValueError("ChangeDetector width must be at least 8 pixels")
        if threshold <= 0 or not 0 < cell_threshold < 255 or min_cells < 1:
            raise ValueError("ChangeDetector thresholds must be positive (cell_threshold < 255, min_cells >= 1)")
        self.width = width
        self.threshold = float(threshold)
        self.cell_threshold = int(cell_threshold)
        self.min_cells = int(min_cells)
        self.ignore: list[Box] = [tuple(int(v) for v in b) for b in ignore]  # type: ignore[misc]
        self._reference: np.ndarray | None = None
        self._frame_size: tuple[int, int] | None = None
        self._mask: np.ndarray | None = None

    @property
    def reference(self) -> np.ndarray | None:
        """The reference thumbnail (grey uint8), or None before the first frame."""
        return self._reference

    def reset(self) -> None:
        """Forget the reference: the next frame counts as changed."""
        self._reference = None
        self._frame_size = None
        self._mask = None

    def thumbnail(self, frame: Frame | np.ndarray) -> np.ndarray:
        return grey_thumbnail(as_image(frame), self.width)

    def check(self, frame: Frame | np.ndarray) -> Change:
        """Compare with the reference; a changed frame becomes the new reference."""
        image = as_image(frame)
        h, w = image.shape[:2]
        thumb = grey_thumbnail(image, self.width)
        if self._reference is None or self._frame_size != (w, h):
            if self._frame_size is not None and self._frame_size != (w, h):
                log.info("frame size changed from %dx%d to %dx%d", *self._frame_size, w, h)
            self._frame_size = (w, h)
            self._mask = self._build_mask(w, h, thumb.shape)
            self._reference = thumb
            return Change(True, 255.0, thumb.size, first=True)
        change = self.compare(self._reference, thumb)
        if change.changed:
            self._reference = thumb
        return change

    def compare(self, a: np.ndarray, b: np.ndarray) -> Change:
        """Compare two thumbnails of the same size (no state change)."""
        diff = cv2.absdiff(a, b)
        if self._mask is not None:
            score = cv2.mean(diff, mask=self._mask)[0]
            diff = cv2.bitwise_and(diff, self._mask)
        else:
            score = cv2.mean(diff)[0]
        _, over = cv2.threshold(diff, self.cell_threshold, 255, cv2.THRESH_BINARY)
        cells = cv2.countNonZero(over)
        return Change(score > self.threshold or cells >= self.min_cells, float(score), int(cells))

    def _build_mask(self, w: int, h: int, shape: tuple[int, ...]) -> np.ndarray | None:
        if not self.ignore:
            return None
        th, tw = shape[:2]
        sx, sy = tw / w, th / h
        mask = np.full((th, tw), 255, np.uint8)
        for x, y, bw, bh in self.ignore:
            x0, y0 = int(np.floor(x * sx)), int(np.floor(y * sy))
            x1, y1 = int(np.ceil((x + bw) * sx)), int(np.ceil((y + bh) * sy))
            mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 0
        if not mask.any():
            raise ValueError("ChangeDetector ignore boxes cover the whole frame")
        return mask
