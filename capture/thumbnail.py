"""Small grey thumbnails: the cheap view of a frame that change, settle and
no-signal detection work on."""
from __future__ import annotations

import cv2
import numpy as np

from capture.frame import Frame


def as_image(frame: Frame | np.ndarray) -> np.ndarray:
    """The image of a Frame, or the array itself."""
    return frame.image if isinstance(frame, Frame) else frame


def thumb_size(width: int, height: int, thumb_width: int) -> tuple[int, int]:
    """(w, h) of a thumbnail `thumb_width` wide with the frame's aspect ratio."""
    tw = max(1, min(thumb_width, width))
    th = max(1, round(height * tw / width))
    return tw, th


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def grey_thumbnail(image: np.ndarray, width: int = 960) -> np.ndarray:
    """A grey uint8 thumbnail `width` pixels wide (INTER_AREA: each pixel is the
    mean of its block, which also averages away capture noise).

    For small factors (<= 3) resizing the colour image first is the faster
    order, for large ones converting to grey first (measured on 1080p frames).
    """
    h, w = image.shape[:2]
    size = thumb_size(w, h, width)
    if size == (w, h):
        return np.ascontiguousarray(_grey(image))
    if image.ndim == 3 and size[0] * 3 >= w:
        return _grey(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return cv2.resize(_grey(image), size, interpolation=cv2.INTER_AREA)


def colour_thumbnail(image: np.ndarray, width: int = 96) -> np.ndarray:
    """A BGR uint8 thumbnail `width` pixels wide (INTER_AREA)."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    size = thumb_size(w, h, width)
    if size == (w, h):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
