"""Small grey thumbnails: the cheap view of a frame that change, settle and
no-signal detection work on."""
from __future__ import annotations

import cv2
import numpy as np

from qcedge.capture.frame import Frame


def as_image(frame: Frame | np.ndarray) -> np.ndarray:
    """The image of a Frame, or the array itself."""
    return frame.image if isinstance(frame, Frame) else frame


def thumb_size(width: int, height: int, thumb_width: int) -> tuple[int, int]:
    """(w, h) of a thumbnail `thumb_width` wide with the frame's aspect ratio."""
    tw = max(1, min(thumb_width, width))
    th = max(1, round(height * tw / width))
    return tw, th


_TO_GREY = {3: cv2.COLOR_BGR2GRAY, 4: cv2.COLOR_BGRA2GRAY}


def _grey(image: np.ndarray) -> np.ndarray:
    """BGR or BGRA to grey (capture imports no other part, so not ocr_templates.preprocess.to_grey)."""
    return image if image.ndim == 2 else cv2.cvtColor(image, _TO_GREY[image.shape[2]])


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """INTER_AREA resize to `size`, by exact halvings first where possible.

    OpenCV's INTER_AREA has a fast path for a factor of exactly 2; a direct
    1920 -> 320 colour resize is several times slower than three halvings
    and a small last step (about 8 ms against 2 ms, measured on 1080p).
    """
    tw, th = size
    while True:
        h, w = image.shape[:2]
        if w < 2 * tw or h < 2 * th or w % 2 or h % 2:
            break
        image = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    if image.shape[1] == tw and image.shape[0] == th:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def grey_thumbnail(image: np.ndarray, width: int = 960) -> np.ndarray:
    """A grey uint8 thumbnail `width` pixels wide (INTER_AREA: each pixel is the
    mean of its block, which also averages away capture noise).

    The first halving runs on the colour image (less work for the grey
    conversion after it), the rest on grey.
    """
    h, w = image.shape[:2]
    size = thumb_size(w, h, width)
    if size == (w, h):
        return np.ascontiguousarray(_grey(image))
    if image.ndim == 3 and w >= 2 * size[0] and h >= 2 * size[1] and w % 2 == 0 and h % 2 == 0:
        image = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return shrink(_grey(image), size)


def colour_thumbnail(image: np.ndarray, width: int = 96) -> np.ndarray:
    """A BGR uint8 thumbnail `width` pixels wide (INTER_AREA)."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    size = thumb_size(w, h, width)
    if size == (w, h):
        return image
    return shrink(image, size)
