"""Snap a drawn box to the text inside it: the ink's bounding box plus a margin."""
from __future__ import annotations

import cv2
import numpy as np

from qcedge.ocr_templates.preprocess import to_grey


def ink_mask(crop: np.ndarray, threshold: int = 40) -> np.ndarray:
    """Pixels that differ from the crop's background (its most common grey level)."""
    grey = to_grey(crop)
    background = int(np.bincount(grey.ravel(), minlength=256).argmax())
    return (np.abs(grey.astype(np.int16) - background) > threshold).astype(np.uint8)


def snap_box(image: np.ndarray, box: list[int] | tuple[int, int, int, int], margin: int = 3,
             min_pixels: int = 4) -> list[int]:
    """Tighten `box` [x, y, w, h] to the text inside it, grown by `margin` and kept in the image.

    Text inside an input widget snaps to the widget's inside (values on other frames may
    be longer); free text snaps to its ink. Lines that span the whole box (borders, grid
    lines) are not ink. Returns the box unchanged when it holds no ink.
    """
    H, W = image.shape[:2]
    x, y, w, h = (int(v) for v in box)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + w), min(H, y + h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return [x, y, w, h]
    mask = ink_mask(image[y0:y1, x0:x1])
    raw = mask.copy()
    # drop full-width rows and full-height columns (frame lines of the widget)
    rows_full = mask.mean(axis=1) > 0.9
    cols_full = mask.mean(axis=0) > 0.9
    mask[rows_full, :] = 0
    mask[:, cols_full] = 0
    if int(mask.sum()) < min_pixels:
        return [x, y, w, h]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    ch, cw = mask.shape

    def is_line(i: int) -> bool:  # the border of an input box or a grid line, not a glyph
        w, h = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]
        return (w <= 2 and h >= 0.6 * ch and h > 12) or (h <= 2 and w >= 0.6 * cw and w > 12)

    def is_frame(i: int) -> bool:  # the outline of an input widget around the text
        w, h = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]
        return w >= 0.5 * cw and h >= 0.5 * ch and h > 8 and stats[i, cv2.CC_STAT_AREA] < 0.25 * w * h

    comps = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 2]
    frames = [i for i in comps if is_frame(i)]
    if frames:  # text inside an input field: only what is inside the field counts
        f = max(frames, key=lambda i: stats[i, cv2.CC_STAT_WIDTH] * stats[i, cv2.CC_STAT_HEIGHT])
        fx, fy = stats[f, cv2.CC_STAT_LEFT], stats[f, cv2.CC_STAT_TOP]
        fw, fh = stats[f, cv2.CC_STAT_WIDTH], stats[f, cv2.CC_STAT_HEIGHT]
        inside = [i for i in comps if i != f and stats[i, cv2.CC_STAT_LEFT] > fx and stats[i, cv2.CC_STAT_TOP] > fy
                  and stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] < fx + fw
                  and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] < fy + fh]
        comps = inside or comps
    keep = [i for i in comps if not is_line(i) and not is_frame(i)] or comps
    if not keep:
        return [x, y, w, h]
    xs = [stats[i, cv2.CC_STAT_LEFT] for i in keep]
    ys = [stats[i, cv2.CC_STAT_TOP] for i in keep]
    xe = [stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in keep]
    ye = [stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in keep]
    widget = _enclosing_widget(raw, (min(xs), min(ys), max(xe), max(ye)))
    if widget is not None:
        # the value lives in an input widget: its inside is the field, since values on
        # other frames (other fonts, longer numbers) need more room than this one
        left, top, right, bottom = widget
        return [int(x0 + left + 1), int(y0 + top + 1), int(right - left - 1), int(bottom - top - 1)]
    nx0 = max(0, x0 + min(xs) - margin)
    ny0 = max(0, y0 + min(ys) - margin)
    nx1 = min(W, x0 + max(xe) + margin)
    ny1 = min(H, y0 + max(ye) + margin)
    return [int(nx0), int(ny0), int(nx1 - nx0), int(ny1 - ny0)]


def _enclosing_widget(mask: np.ndarray, ink: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The nearest full lines above, below, left and right of the ink (an input widget's
    outline), as (left, top, right, bottom) in the mask; None when the ink is not boxed in."""
    x0, y0, x1, y1 = ink
    rows = np.flatnonzero(mask.mean(axis=1) > 0.85)
    above, below = rows[rows < y0], rows[rows >= y1]
    if not len(above) or not len(below):
        return None
    top, bottom = int(above.max()), int(below.min())
    cols = np.flatnonzero(mask[top:bottom + 1].mean(axis=0) > 0.9)
    left_of, right_of = cols[cols < x0], cols[cols >= x1]
    if not len(left_of) or not len(right_of):
        return None
    return int(left_of.max()), top, int(right_of.min()), bottom
