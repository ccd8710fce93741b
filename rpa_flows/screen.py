"""Where the player looks: the live X screen (mss) or a still image (dry runs, tests)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

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
    """The X display named by $DISPLAY, grabbed with mss (one mss instance per thread)."""

    def __init__(self, monitor: int = 0) -> None:
        import mss

        self._mss = mss
        self._local = threading.local()
        self.monitor_index = monitor
        mon = self._sct().monitors[monitor]
        self.origin = (mon["left"], mon["top"])
        self.size = (mon["width"], mon["height"])

    def _sct(self):
        sct = getattr(self._local, "sct", None)
        if sct is None:
            factory = getattr(self._mss, "MSS", None) or self._mss.mss
            sct = self._local.sct = factory()
        return sct

    def grab(self, region: Box | None = None) -> np.ndarray:
        x, y, w, h = clip_region(region, self.size)
        shot = self._sct().grab({"left": self.origin[0] + x, "top": self.origin[1] + y, "width": w, "height": h})
        return cv2.cvtColor(np.asarray(shot), cv2.COLOR_BGRA2BGR)

    def close(self) -> None:
        sct = getattr(self._local, "sct", None)
        if sct is not None:
            sct.close()
            self._local.sct = None


class StillScreen:
    """A fixed image standing in for the screen (dry runs on a saved screenshot)."""

    def __init__(self, image: np.ndarray | str | Path) -> None:
        if not isinstance(image, np.ndarray):
            loaded = cv2.imread(str(image), cv2.IMREAD_COLOR)
            if loaded is None:
                raise ValueError(f"cannot read image {image}")
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
