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


def grey_thumbnail(image: np.ndarray, width: int = 160) -> np.ndarray:
    """A grey uint8 thumbnail `width` pixels wide (INTER_AREA: each pixel is the
    mean of its block, which also averages away capture noise).

    Converting to grey before resizing is the faster order (about 1.5 ms for a
    1080p frame on the project's 2-core machine).
    """
    if image.ndim == 2:
        grey = image
    elif image.shape[2] == 4:
        grey = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    else:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape[:2]
    size = thumb_size(w, h, width)
    if size == (w, h):
        return np.ascontiguousarray(grey)
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def colour_thumbnail(image: np.ndarray, width: int = 96) -> np.ndarray:
    """A BGR uint8 thumbnail `width` pixels wide (INTER_AREA)."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    size = thumb_size(w, h, width)
    if size == (w, h):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
