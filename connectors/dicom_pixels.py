"""The pixels of a DICOM image (a screen save) as a BGR uint8 image for the OCR pipeline."""
from __future__ import annotations

import warnings

import numpy as np
from pydicom.dataset import Dataset

from qcedge.connectors.errors import DicomReadError, scrubbed


_LUT_DATA = ("RedPaletteColorLookupTableData", "SegmentedRedPaletteColorLookupTableData")


def screen_image(ds: Dataset, frame: int = 0, *, name: str | None = None) -> np.ndarray:
    """The pixels of (one frame of) an image as BGR uint8, ready for the OCR pipeline.

    DicomReadError names `name` (the file; else "dataset") and the problem: no pixel data,
    pixel data that cannot be decoded, PALETTE COLOR without its lookup table."""
    source = name or "dataset"
    if "PixelData" not in ds:
        raise DicomReadError(source, "holds no pixel data")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR" and not any(k in ds for k in _LUT_DATA) and "PaletteColorLookupTableUID" not in ds:
        raise DicomReadError(source, "PALETTE COLOR image without a colour lookup table: cannot be shown")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decoder warnings are about this file: our message says it
            return _screen_image(ds, frame, photometric)
    except DicomReadError:
        raise
    except Exception as exc:  # pixel decoders and LUT code raise many kinds
        raise DicomReadError(source, f"pixel data cannot be decoded ({scrubbed(exc)})") from None


def _screen_image(ds: Dataset, frame: int, photometric: str) -> np.ndarray:
    import cv2
    from pydicom.pixels import apply_color_lut, apply_voi_lut

    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if frames > 1:
        arr = arr[min(frame, frames - 1)]
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        samples = 3
    if samples == 1:
        grey = arr.astype(np.float64)
        if "WindowCenter" in ds or "VOILUTSequence" in ds:
            try:
                grey = apply_voi_lut(arr, ds).astype(np.float64)
            except Exception:
                pass
        lo, hi = float(grey.min()), float(grey.max())
        if arr.dtype == np.uint8 and "WindowCenter" not in ds:
            out = arr.astype(np.uint8)
        else:
            out = np.zeros(grey.shape, np.uint8) if hi <= lo else ((grey - lo) * (255.0 / (hi - lo))).round().astype(np.uint8)
        if photometric == "MONOCHROME1":
            out = 255 - out
        return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    rgb = arr
    if rgb.dtype != np.uint8:
        bits = int(ds.get("BitsStored", 8) or 8)
        rgb = (rgb.astype(np.float64) * (255.0 / (2**bits - 1))).clip(0, 255).round().astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
