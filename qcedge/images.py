"""Read an image file for the commands: one clear error for what is not a whole image, and no library noise.

OpenCV's decoders print to the process's stderr (libpng "IDAT: CRC error", libjpeg "Premature end of JPEG
file", OpenCV's own "[ERROR:0@...] imread_"), and a truncated JPEG still decodes into a partly grey frame. Here
the decoder's stderr is captured: a warning that the data is damaged or cut short refuses the file.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from qcedge.errors import QcedgeError

MAX_BYTES = 200 * 1024 * 1024
DAMAGED = ("premature end", "corrupt", "crc error", "invalid", "bad huffman", "truncated", "unexpected end",
           "error")


class ImageFileError(QcedgeError, ValueError):
    """An image file that cannot be used; `str()` names the file and says why, on one line."""


def read_image(path: str | Path) -> np.ndarray:
    """The image as BGR uint8, or ImageFileError naming the file."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise ImageFileError(f"{path}: no such image file")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ImageFileError(f"{path}: {size} bytes: too big for an image of a screen")
        raw = p.read_bytes()
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if not raw:
        raise ImageFileError(f"{path}: an empty file, not an image")

    def decode() -> np.ndarray | None:
        try:
            return cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        except cv2.error:
            return None

    img, noise = _quietly(decode)
    if img is None or img.size == 0:
        raise ImageFileError(f"{path}: not an image OpenCV can read (PNG, JPEG, BMP, TIFF ...)")
    said = noise.lower()
    if any(word in said for word in DAMAGED):
        raise ImageFileError(f"{path}: the image data is damaged or cut short")
    return img


def _quietly(fn):
    """Run `fn` with file descriptor 2 sent to a private temporary file; (result, what was written there)."""
    import sys

    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            result = fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return result, sink.read(4096).decode("utf-8", "replace")
