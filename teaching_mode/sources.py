"""What the teaching window can open: stills, folders, video files, DICOM screen saves, live sources.

Finite sources give random access (a slider scrubs them); live sources (screen, capture
device, stream) are read through `capture.open_source` and can be frozen.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qcedge.teaching_mode.draft import read_image
from qcedge.teaching_mode.errors import TeachError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".ts", ".mpg", ".mpeg"}
DICOM_SUFFIXES = {".dcm", ".dicom"}


class OpenError(TeachError, ValueError):
    """A source that cannot be opened (bad input); the message is for the integrator."""


def dicom_to_bgr(path: str | Path) -> np.ndarray:
    """The pixels of a DICOM secondary capture / screen save as BGR uint8."""
    try:
        from qcedge.capture import open_source  # type: ignore[attr-defined]

        src = open_source(f"dicom:{path}")  # opened already
        try:
            frame = src.read()
        finally:
            src.close()
        if frame is not None:
            return frame.image
    except Exception as exc:  # noqa: BLE001 - fall back to reading the pixels here
        log.debug("capture.open_source could not read the DICOM file (%s); using pydicom", exc)
    import pydicom

    ds = pydicom.dcmread(str(path))
    arr = ds.pixel_array
    if arr.ndim == 4:
        arr = arr[0]
    photometric = str(getattr(ds, "PhotometricInterpretation", "RGB"))
    if arr.ndim == 2:
        arr = arr.astype(np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = ((arr - lo) * (255.0 / (hi - lo or 1.0))).astype(np.uint8)
        if photometric == "MONOCHROME1":
            arr = 255 - arr
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if photometric.startswith("YBR"):
        from pydicom.pixels import convert_color_space

        arr = convert_color_space(arr, photometric, "RGB")
    return cv2.cvtColor(arr.astype(np.uint8), cv2.COLOR_RGB2BGR)


@dataclass
class OpenedSource:
    """A source opened for teaching. `count` is None for live sources."""

    kind: str                  # image, folder, video, dicom, live
    spec: str
    count: int | None = 1
    names: list[str] = field(default_factory=list)
    _files: list[Path] = field(default_factory=list)
    _cap: Any = None
    _live: Any = None
    _still: np.ndarray | None = None

    def frame_at(self, index: int) -> np.ndarray:
        if self.kind in ("image", "dicom"):
            assert self._still is not None
            return self._still
        if self.kind == "folder":
            path = self._files[index]
            return dicom_to_bgr(path) if path.suffix.lower() in DICOM_SUFFIXES else read_image(path)
        if self.kind == "video":
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, image = self._cap.read()
            if not ok:
                raise OpenError(f"{self.spec}: cannot read frame {index}")
            return image
        raise OpenError("a live source has no frame index; use read()")

    def read(self) -> np.ndarray | None:
        """The next frame of a live source (None at its end)."""
        if self._live is None:
            return None
        frame = self._live.read()
        return None if frame is None else frame.image

    def paths(self) -> list[Path]:
        return list(self._files)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        if self._live is not None:
            try:
                self._live.close()
            finally:
                self._live = None


def open_any(spec: str) -> OpenedSource:
    """Open a still, a folder, a video file, a DICOM file, or a live spec ('screen', 'device:0', URL)."""
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES | DICOM_SUFFIXES)
        if not files:
            raise OpenError(f"{spec}: no images (png, jpg, bmp, tif, dcm) in this folder")
        return OpenedSource("folder", spec, len(files), [p.name for p in files], _files=files)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return OpenedSource("image", spec, 1, [path.name], _files=[path], _still=read_image(path))
        if suffix in DICOM_SUFFIXES or _is_dicom(path):
            return OpenedSource("dicom", spec, 1, [path.name], _files=[path], _still=dicom_to_bgr(path))
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise OpenError(f"{spec}: not an image, video or DICOM file that can be read")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if count <= 0:
            count = 0
            while cap.grab():
                count += 1
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        if count <= 0:
            cap.release()
            raise OpenError(f"{spec}: the video has no frames")
        return OpenedSource("video", spec, count, [f"{path.name} #{i}" for i in range(count)], _cap=cap)
    try:
        from qcedge.capture import open_source  # type: ignore[attr-defined]
    except ImportError:
        raise OpenError(f"{spec}: no such file, and live sources need capture.open_source") from None
    try:
        live = open_source(spec)  # open_source opens it
    except Exception as exc:  # noqa: BLE001 - capture.SourceError and bad specs alike
        raise OpenError(f"{spec}: {exc}") from None
    return OpenedSource("live", spec, None, [], _live=live)


def _is_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(132)
        return head[128:132] == b"DICM"
    except OSError:
        return False


def display_path(path: str | Path) -> str:
    """A path as shown in the window: relative to the working folder when inside it."""
    text = str(path)
    if "://" in text:
        return text
    try:
        return str(Path(text).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return text
