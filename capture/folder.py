"""Image folder source: the stills of a folder, in natural sort order."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import cv2
import numpy as np

from qcedge.capture.frame import Frame
from qcedge.capture.opencv_source import to_bgr
from qcedge.capture.pacing import Pacer
from qcedge.capture.errors import SourceError, SourceSpecError
from qcedge.capture.source import FrameSource

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def natural_key(name: str) -> list[object]:
    """Sort key that puts frame2 before frame10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_image(path: Path) -> np.ndarray | None:
    """Decode an image file (unicode paths included); None if it is not one."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    return None if image is None else to_bgr(image)


class FileSequenceSource(FrameSource):
    """What the sources that read a list of files share: paced delivery, frame numbering, open state.

    fps: deliver at most this many frames a second (0/None: unpaced). loop: start again after the last.
    """

    live = False

    def __init__(self, *, fps: float | None, loop: bool, source_id: str) -> None:
        self.fps = fps
        self.loop = loop
        self.source_id = source_id
        self.files: list[Path] = []
        self._index = 0
        self._open = False
        self._pacer = Pacer(fps) if fps else None

    def _require_open(self) -> None:
        if not self._open:
            raise SourceError(f"{self.source_id} is not open")

    def _deliver(self, image: np.ndarray, origin: str) -> Frame:
        """The next frame (after the pacer's wait), numbered in delivery order."""
        if self._pacer:
            self._pacer.wait()
        frame = Frame(image, self.source_id, self._index, origin=origin)
        self._index += 1
        return frame

    def close(self) -> None:
        self._open = False


class ImageFolderSource(FileSequenceSource):
    """Frames from the PNG/JPEG (also BMP, TIFF, WebP) stills of a folder.

    Files are listed at open() and read in natural order (frame2 before
    frame10). A file that cannot be decoded is skipped with a warning.
    fps: deliver at most this many frames a second (0/None: unpaced).
    loop: start again at the first file after the last.
    """

    def __init__(self, folder: str | os.PathLike[str], *, fps: float | None = None, loop: bool = False,
                 source_id: str | None = None) -> None:
        self.folder = Path(folder)
        super().__init__(fps=fps, loop=loop, source_id=source_id or f"folder:{self.folder.name}")
        self._pos = 0

    def open(self) -> None:
        if self._open:
            return
        if not self.folder.is_dir():
            raise SourceSpecError(f"image folder {self.folder} not found")
        self.files = list_images(self.folder)
        if not self.files:
            raise SourceSpecError(f"image folder {self.folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
        self._pos = 0
        self._index = 0
        self._open = True
        log.info("image folder %s: %d images", self.folder, len(self.files))

    def read(self) -> Frame | None:
        self._require_open()
        skipped = 0
        while True:
            if self._pos >= len(self.files):
                if not self.loop or skipped >= len(self.files):
                    return None
                self._pos = 0
            path = self.files[self._pos]
            self._pos += 1
            image = read_image(path)
            if image is not None:
                break
            skipped += 1
            log.warning("skipping %s: not a readable image", path.name)
        return self._deliver(image, path.name)
