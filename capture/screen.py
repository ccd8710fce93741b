"""Screen source: grabs a monitor or a region of the X display with mss."""
from __future__ import annotations

import logging
import threading

import cv2
import mss
import numpy as np

from qcedge.capture.frame import Frame
from qcedge.capture.pacing import Pacer
from qcedge.capture.errors import SourceError, SourceSpecError
from qcedge.capture.source import FrameSource

log = logging.getLogger(__name__)

Region = tuple[int, int, int, int]


class ScreenSource(FrameSource):
    """Frames from the screen.

    monitor: mss monitor index: 0 is the whole virtual screen (all monitors),
        1 the first monitor, 2 the second, ...
    region: (x, y, w, h) inside that monitor (relative to its top-left), or
        None for the whole monitor.
    fps: if set, read() returns frames no faster than this.
    display: X display name (default: $DISPLAY).

    mss connections are per thread (one `mss.MSS()` per thread, made on first
    use in that thread), so a ScreenSource may be read from any thread.
    """

    live = True

    def __init__(self, monitor: int = 1, region: Region | None = None, fps: float | None = None,
                 source_id: str | None = None, display: str | None = None) -> None:
        if monitor < 0:
            raise ValueError("monitor index must be 0 (all monitors) or more")
        if region is not None:
            if len(region) != 4 or region[2] <= 0 or region[3] <= 0 or region[0] < 0 or region[1] < 0:
                raise ValueError(f"region must be x,y,w,h with x,y >= 0 and w,h > 0, got {region}")
        self.monitor = monitor
        self.region = tuple(int(v) for v in region) if region is not None else None
        self.fps = fps
        self.display = display
        self.source_id = source_id or _default_id(monitor, self.region)
        self._local = threading.local()
        self._instances: list[mss.MSS] = []
        self._lock = threading.Lock()
        self._box: dict[str, int] | None = None
        self._pacer = Pacer(fps) if fps else None
        self._index = 0

    @property
    def box(self) -> dict[str, int] | None:
        """The grabbed rectangle in virtual-screen coordinates (after open())."""
        return self._box

    def _sct(self) -> mss.MSS:
        sct = getattr(self._local, "sct", None)
        if sct is None:
            try:
                sct = mss.MSS(display=self.display) if self.display else mss.MSS()
            except Exception as exc:  # mss raises ScreenShotError, Xlib errors, KeyError for no DISPLAY
                raise SourceError(f"cannot connect to the display for screen capture: "
                                  f"{exc or type(exc).__name__}") from exc
            self._local.sct = sct
            with self._lock:
                self._instances.append(sct)
        return sct

    def open(self) -> None:
        if self._box is not None:
            return
        sct = self._sct()
        monitors = sct.monitors
        if self.monitor >= len(monitors):
            self.close()
            raise SourceSpecError(
                f"monitor {self.monitor} not found: the display has {len(monitors) - 1} monitor(s) "
                f"(use 0 for all, 1..{len(monitors) - 1} for one)")
        mon = monitors[self.monitor]
        box = {"left": mon["left"], "top": mon["top"], "width": mon["width"], "height": mon["height"]}
        if self.region is not None:
            x, y, w, h = self.region
            if x + w > mon["width"] or y + h > mon["height"]:
                self.close()
                raise SourceSpecError(
                    f"region {x},{y},{w},{h} does not fit monitor {self.monitor} "
                    f"({mon['width']}x{mon['height']})")
            box = {"left": mon["left"] + x, "top": mon["top"] + y, "width": w, "height": h}
        self._box = box
        self._index = 0
        if self._pacer:
            self._pacer.reset()
        log.info("screen source %s open: %dx%d at %d,%d", self.source_id, box["width"], box["height"],
                 box["left"], box["top"])

    def read(self) -> Frame | None:
        if self._box is None:
            raise SourceError(f"{self.source_id} is not open")
        if self._pacer:
            self._pacer.wait()
        try:
            shot = self._sct().grab(self._box)
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"screen grab failed on {self.source_id}: {exc or type(exc).__name__}") from exc
        image = cv2.cvtColor(np.asarray(shot), cv2.COLOR_BGRA2BGR)
        frame = Frame(image, self.source_id, self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        with self._lock:
            instances, self._instances = self._instances, []
        for sct in instances:
            try:
                sct.close()
            except Exception:  # the display may already be gone
                pass
        self._local = threading.local()
        self._box = None


def _default_id(monitor: int, region: Region | None) -> str:
    text = f"screen:{monitor}"
    if region is not None:
        text += "@" + ",".join(str(v) for v in region)
    return text
