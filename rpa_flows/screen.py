"""Where the player looks: the live X screen (mss) or a still image (dry runs, tests)."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from qcedge.rpa_flows.errors import RunInputError

Box = tuple[int, int, int, int]  # x, y, w, h


class Screen(Protocol):
    """Grabs BGR uint8 images of the whole screen or of a region of it."""

    size: tuple[int, int]

    def grab(self, region: Box | None = None) -> np.ndarray: ...


def clip_region(region: Box | None, size: tuple[int, int]) -> Box:
    """The part of `region` (or the whole screen) that lies on a screen of `size` (w, h)."""
    w, h = size
    if region is None:
        return (0, 0, w, h)
    x, y, rw, rh = region
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + rw), min(h, y + rh)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"region {list(region)} lies outside the {w}x{h} screen")
    return (x0, y0, x1 - x0, y1 - y0)


class LiveScreen:
    """The whole X display named by $DISPLAY (all monitors: root-window coordinates, which is
    what clicks use), grabbed through capture.ScreenSource (mss)."""

    def __init__(self, monitor: int = 0) -> None:
        from qcedge.capture.screen import ScreenSource

        self._source = ScreenSource(monitor=monitor, source_id="rpa-screen")
        self._source.open()
        box = self._source.box
        self.origin = (box["left"], box["top"])
        self.size = (box["width"], box["height"])

    def grab(self, region: Box | None = None) -> np.ndarray:
        frame = self._source.read()
        if frame is None:
            raise RuntimeError("the screen source ended")
        if region is None:
            return frame.image
        x, y, w, h = clip_region(region, self.size)
        return frame.image[y:y + h, x:x + w]

    def close(self) -> None:
        self._source.close()


class StillScreen:
    """A fixed image standing in for the screen (dry runs on a saved screenshot)."""

    def __init__(self, image: np.ndarray | str | Path) -> None:
        if not isinstance(image, np.ndarray):
            loaded = cv2.imread(str(image), cv2.IMREAD_COLOR)
            if loaded is None:
                raise RunInputError(f"cannot read image {image}")
            image = loaded
        self.image = image.copy()
        self.image.setflags(write=False)  # handed out as is: the same frame every time
        self.size = (image.shape[1], image.shape[0])

    def grab(self, region: Box | None = None) -> np.ndarray:
        if region is None:
            return self.image
        x, y, w, h = clip_region(region, self.size)
        return self.image[y:y + h, x:x + w]

    def close(self) -> None:
        pass
