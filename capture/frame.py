"""The frame: one image from a source, with its time and origin."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """A BGR uint8 image (H x W x 3) with its capture time and source.

    `t` is `time.monotonic()` at capture (for latencies); `wall_time` is
    `time.time()` (for records). `index` counts frames from the source's start.
    `origin` optionally says where inside the source the frame came from (a file
    name in a folder, "file.dcm#3" for a DICOM frame); empty for live sources.
    """

    image: np.ndarray
    source_id: str
    index: int = 0
    t: float = field(default_factory=time.monotonic)
    wall_time: float = field(default_factory=time.time)
    origin: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        h, w = self.image.shape[:2]
        return w, h
