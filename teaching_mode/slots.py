"""The slot of a value: the input widget or table cell around it, or the free space up to the next text.

A field's box must hold the longest value the screen can show there, not the ink of the value
on this one frame (a longer name, department or accession number on another frame would be
cut off and still parse as valid). Pure numpy/OpenCV: no OCR, no Qt.
"""
from __future__ import annotations

import cv2
import numpy as np

from qcedge.ocr_templates.preprocess import to_grey

Box = list[int]  # [x, y, w, h]

LINE_DIFF = 30        # grey levels a frame line differs from the slot's background
LINE_FILL = 0.85      # share of a row/column a frame line covers
LINE_EVEN = 24.0      # a frame line is one even shade along its length (a row through text is not)
WORD_GAP = 0.9        # a gap narrower than this many text heights joins the next ink (a unit, a second word)
MAX_RIGHT = 14.0      # free space to the right: at most this many text heights (then the slot stops)
MAX_LEFT = 2.0        # ... and to the left
MAX_WIDGET = 900      # an input widget is at most this wide


def background_level(g: np.ndarray, box: Box) -> int:
    """The most common grey level of `box` on the grey frame `g` (255 for an empty box)."""
    x, y, w, h = box
    crop = g[max(0, y):y + h, max(0, x):x + w]
    if crop.size == 0:
        return 255
    return int(np.bincount(crop.ravel(), minlength=256).argmax())


def _differs(g: np.ndarray, bg: int) -> np.ndarray:
    return np.abs(g.astype(np.int16) - bg) > LINE_DIFF


def ink_bbox(image: np.ndarray, box: Box) -> Box | None:
    """The bounding box of the ink inside `box` (pixels unlike the box's most common shade)."""
    g = to_grey(image)
    H, W = g.shape
    x, y, w, h = (int(v) for v in box)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    crop = g[y0:y1, x0:x1]
    mask = _differs(crop, background_level(g, [x0, y0, x1 - x0, y1 - y0]))
    mask = remove_lines(mask)
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return [x0 + int(xs.min()), y0 + int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def remove_lines(mask: np.ndarray) -> np.ndarray:
    """The mask without straight lines: long ones anywhere (grid lines), shorter ones near the box's
    sides (a widget's border caught in a box drawn around its text; a glyph's stroke is inside)."""
    m = mask.astype(np.uint8)
    ch, cw = m.shape
    lines = np.zeros_like(m)
    hk = max(12, int(0.6 * cw))
    if cw >= hk:
        h = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (hk, 1)))
        edge = max(3, ch // 4)
        keep = np.zeros(ch, bool)
        keep[:edge], keep[max(0, ch - edge):] = True, True
        keep |= h.sum(axis=1) >= 0.9 * cw
        lines[keep] |= h[keep]
    vk = max(10, int(0.75 * ch))  # longer than the glyphs' strokes (the text is shorter than its box)
    if ch >= vk:
        v = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, vk)))
        edge = max(5, cw // 4)
        keep = np.zeros(cw, bool)
        keep[:edge], keep[max(0, cw - edge):] = True, True
        keep |= v.sum(axis=0) >= 0.9 * ch
        lines[:, keep] |= v[:, keep]
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8)) & m  # and the odd corner pixel next to them
    return (m & (1 - lines)).astype(bool)


def enclosing_frame(image: np.ndarray, box: Box) -> Box | None:
    """The inside of the rectangle (input widget, table cell) around the middle of `box`, or None.

    From the box's centre, looks up and down for a row that differs from the slot's background
    across the middle half of the box, then left and right for columns that differ along the
    whole height between those rows; the rows must span from the left to the right column.
    """
    g = to_grey(image)
    H, W = g.shape
    x, y, w, h = (int(v) for v in box)
    cx, cy = x + w // 2, y + h // 2
    if not (0 <= cx < W and 0 <= cy < H):
        return None
    bg = background_level(g, [x + w // 4, y + h // 4, max(1, w // 2), max(1, h // 2)])
    d = _differs(g, bg)
    c0, c1 = max(0, x + w // 4), min(W, x + w - w // 4 + 1)
    reach = max(10, int(2.5 * h))  # a tile (label on top, value below) has its top line further up

    def row_line(r: int) -> bool:  # differs from the background all along, in one even shade (not text)
        return d[r, c0:c1].mean() >= LINE_FILL and float(g[r, c0:c1].std()) < LINE_EVEN

    top = next((r for r in range(cy, max(-1, cy - reach), -1) if row_line(r)), None)
    bottom = next((r for r in range(cy + 1, min(H, cy + reach)) if row_line(r)), None)
    if top is None or bottom is None or bottom - top < 6:
        return None

    def col_line(c: int) -> bool:
        return d[top + 1:bottom, c].mean() >= LINE_FILL and float(g[top + 1:bottom, c].std()) < LINE_EVEN

    left = next((c for c in range(cx, max(-1, cx - MAX_WIDGET), -1) if col_line(c)), None)
    right = next((c for c in range(cx + 1, min(W, cx + MAX_WIDGET)) if col_line(c)), None)
    if left is None or right is None or right - left < 6:
        return None
    span = slice(left + 1, right)
    if d[top, span].mean() < LINE_FILL or d[bottom, span].mean() < LINE_FILL:
        return None
    return [left + 1, top + 1, right - left - 1, bottom - top - 1]


def free_slot(image: np.ndarray, ink: Box, stops: list[Box] | None = None, margin: int = 3) -> Box:
    """The space around free-standing text: right up to the next text (or line), a little left, up and down.

    `stops` are other text boxes (detected lines); the slot ends before any on the same line.
    """
    g = to_grey(image)
    H, W = g.shape
    x, y, w, h = ink
    th = max(8, h)
    bg = background_level(g, [x - margin, y - margin, w + 2 * margin, h + 2 * margin])
    band = _differs(g[max(0, y - 1):min(H, y + h + 1)], bg)
    cols = band.any(axis=0)
    word = max(3, int(WORD_GAP * th))
    # right: follow ink within a word gap (units, second words), then free space to the next ink
    right = x + w
    c = right
    limit = min(W, x + w + int(MAX_RIGHT * th))
    for stop in stops or ():
        sx, sy, sw, sh = stop
        overlap = min(y + h, sy + sh) - max(y, sy)
        if overlap > 0.4 * min(h, sh) and sx >= x + w - 2:
            limit = min(limit, sx)
    gap_start = None
    while c < limit:
        if cols[c]:
            if gap_start is not None and c - gap_start >= word:
                break
            gap_start = None
            right = c + 1
        elif gap_start is None:
            gap_start = c
        c += 1
    if c < limit:  # stopped at the next text: the slot ends half-way into the gap
        right = right + max(margin, (c - right) // 2)
    else:  # nothing up to the limit: all of it (less a margin before a detected neighbour)
        right = max(right + margin, limit - margin)
    # left: half-way into the gap before the previous ink (at most MAX_LEFT text heights)
    c = x - 1
    lo = max(0, x - int(MAX_LEFT * th))
    while c >= lo and not cols[c]:
        c -= 1
    gap = x - (c + 1)
    left = x - (gap // 2 if gap >= word else min(margin, gap // 2))
    # up and down: free rows, at most a third of the text height
    pad = max(margin, th // 3)
    cols_band = _differs(g[:, max(0, left):min(W, right)], bg)
    top = y
    while top > max(0, y - pad) and not cols_band[top - 1].any():
        top -= 1
    bottom = y + h
    while bottom < min(H, y + h + pad) and not cols_band[bottom].any():
        bottom += 1
    left, top = max(0, left), max(0, top)
    return [int(left), int(top), int(max(1, min(W, right) - left)), int(max(1, bottom - top))]


def find_slot(image: np.ndarray, box: Box, stops: list[Box] | None = None, margin: int = 3) -> Box:
    """The slot of the value whose text is in `box`: the input widget or cell around it, else free space."""
    ink = ink_bbox(image, box)
    if ink is None:
        return [int(v) for v in box]
    frame = enclosing_frame(image, box)
    if frame is not None and frame[2] <= max(12 * ink[2], 20 * ink[3]) and frame[3] <= 4 * ink[3] + 8 \
            and frame[0] < ink[0] + ink[2] and ink[0] < frame[0] + frame[2] \
            and not any(_centre_in(s, frame) for s in stops or ()):
        return frame  # (a frame holding other texts too is a panel, not this value's widget)
    return free_slot(image, ink, stops, margin)


def _centre_in(box: Box, frame: Box) -> bool:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return frame[0] <= cx <= frame[0] + frame[2] and frame[1] <= cy <= frame[1] + frame[3]


def union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return [x0, y0, x1 - x0, y1 - y0]
