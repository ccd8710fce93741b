"""DICOM source: secondary captures and screen saves (single or multi-frame)
as BGR uint8 frames.

Photometric interpretations: MONOCHROME1/2 (any bit depth: the modality
rescale, then the first VOI window if the object has one, else the frame's
own range, is mapped to 0-255; MONOCHROME1 is inverted), RGB, YBR_* (to RGB
by pydicom) and PALETTE COLOR. Objects without pixel data (structured reports
such as an RDSR, presentation states) get a clear error, or are skipped when
reading a folder. Nothing from the header is logged (it carries patient data).
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, pixel_array

from qcedge.capture.folder import FileSequenceSource, natural_key
from qcedge.capture.frame import Frame
from qcedge.capture.errors import NotAnImageError, SourceError, SourceSpecError

log = logging.getLogger(__name__)

PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _sop_class_name(ds: Dataset) -> str:
    uid = ds.get("SOPClassUID")
    if uid is None:
        return "unknown SOP class"
    name = getattr(uid, "name", "") or str(uid)
    return f"{name} ({uid})" if name != str(uid) else str(uid)


def check_image(ds: Dataset, name: str) -> None:
    """Raise NotAnImageError unless the dataset has pixel data."""
    if not any(tag in ds for tag in PIXEL_TAGS):
        raise NotAnImageError(f"{name} is a DICOM object without an image: {_sop_class_name(ds)}")


def frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def to_bgr8(ds: Dataset, array: np.ndarray) -> np.ndarray:
    """One decoded frame of `ds` (as pydicom gives it) as a BGR uint8 image."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        if not any(k in ds for k in ("RedPaletteColorLookupTableData", "SegmentedRedPaletteColorLookupTableData")):
            raise SourceError("PALETTE COLOR image without a colour lookup table")
        array = apply_color_lut(array, ds)
        photometric = "RGB"
    if array.ndim == 3 and array.shape[2] == 3:
        if array.dtype == np.uint8:
            rgb = array
        else:  # 16-bit colour: scale by the stored bit depth, not by the content
            bits = int(ds.get("BitsStored", 16) or 16)
            rgb = _scale_to_uint8(array.astype(np.float64), (0.0, float(2 ** bits - 1)))
        return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if array.ndim != 2:
        raise SourceError(f"unsupported pixel layout {array.shape} ({photometric})")
    grey = _monochrome_to_uint8(ds, array)
    if photometric == "MONOCHROME1":
        grey = 255 - grey
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _monochrome_to_uint8(ds: Dataset, array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8 and "WindowCenter" not in ds and "RescaleSlope" not in ds:
        return np.ascontiguousarray(array)
    values = apply_modality_lut(array, ds).astype(np.float64)
    window = None
    if "WindowCenter" in ds and "WindowWidth" in ds:
        centre, width = ds.WindowCenter, ds.WindowWidth
        centre = float(centre[0] if isinstance(centre, pydicom.multival.MultiValue) else centre)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        if width >= 1:
            window = (centre - width / 2.0, centre + width / 2.0)
    return _scale_to_uint8(values, window)


def _scale_to_uint8(values: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    low, high = window if window else (float(values.min()), float(values.max()))
    if high <= low:
        return np.zeros(values.shape, np.uint8) if window is None or values.max() < high else \
            np.full(values.shape, 255, np.uint8)
    out = (values - low) * (255.0 / (high - low))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def read_dataset(path: Path) -> Dataset:
    """The dataset of one file; SourceError (one line, naming the file) for anything broken."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # about this file: our error names it
            return pydicom.dcmread(str(path))
    except InvalidDicomError as exc:
        raise SourceSpecError(f"{path.name} is not a DICOM file") from exc
    except Exception as exc:  # truncated or corrupt files raise many kinds (EOFError, struct.error, ...)
        raise SourceSpecError(f"cannot read DICOM file {path.name}: {_one_line(exc)}") from exc


class DicomSource(FileSequenceSource):
    """Frames from a DICOM file, or from every image object in a folder.

    A multi-frame object gives one frame per DICOM frame. In a folder, files
    that are not DICOM or hold no image are skipped (logged by file name);
    a single file that holds no image raises NotAnImageError at open().
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float | None = None, loop: bool = False,
                 source_id: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(fps=fps, loop=loop, source_id=source_id or f"dicom:{self.path.name}")
        self.dataset: Dataset | None = None  # the object the last frame came from
        self._current: Dataset | None = None
        self._file_pos = 0
        self._frame_pos = 0
        self._frames = 0

    def open(self) -> None:
        if self._open:
            return
        self._current = None
        if self.path.is_dir():
            self.files = sorted((p for p in self.path.rglob("*") if p.is_file()),
                                key=lambda p: natural_key(str(p.relative_to(self.path))))
            if not self.files:
                raise SourceSpecError(f"DICOM folder {self.path} is empty")
        elif self.path.is_file():
            ds = read_dataset(self.path)
            check_image(ds, self.path.name)
            self.files = [self.path]
            self._current = ds
            self._frames = frame_count(ds)
        else:
            raise SourceSpecError(f"DICOM file or folder {self.path} not found")
        self._file_pos = 0
        self._frame_pos = 0
        self._index = 0
        self._open = True

    def _next_dataset(self) -> bool:
        """Move to the next image object; False at the end (after a loop, if looping)."""
        skipped = 0
        wrapped = False
        while True:
            if self._current is not None:
                self._file_pos += 1
                self._current = None
            if self._file_pos >= len(self.files):
                if not self.loop or wrapped or self._index == 0:
                    return False
                self._file_pos, wrapped = 0, True
            path = self.files[self._file_pos]
            try:
                ds = read_dataset(path)
                check_image(ds, path.name)
            except SourceError as exc:
                if not self.path.is_dir():
                    raise
                log.info("skipping: %s", exc)
                skipped += 1
                self._file_pos += 1
                continue
            self._current, self._frames, self._frame_pos = ds, frame_count(ds), 0
            return True

    def read(self) -> Frame | None:
        self._require_open()
        if (self._current is None or self._frame_pos >= self._frames) and not self._next_dataset():
            return None
        ds, path = self._current, self.files[self._file_pos]
        assert ds is not None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                array = pixel_array(ds, index=self._frame_pos if self._frames > 1 else None)
                image = to_bgr8(ds, array)
        except SourceError as exc:
            raise SourceError(f"cannot show the image in {path.name}: {exc}") from exc
        except Exception as exc:  # pixel decoders raise many kinds
            raise SourceError(f"cannot decode the image in {path.name}: {_one_line(exc)}") from exc
        origin = f"{path.name}#{self._frame_pos}" if self._frames > 1 else path.name
        self._frame_pos += 1
        self.dataset = ds
        return self._deliver(image, origin)

    def close(self) -> None:
        super().close()
        self._current = None
