"""Crop pre-processing for recognition: where accuracy is won.

A field box cut from a frame holds the value plus whatever else the box caught:
blank space, cell borders, grid lines, a neighbour's edge, JPEG noise. The
recogniser wants one dark-on-light text line, tightly framed with a little
background margin, at a comfortable height. `prepare_crop` does that:

1. grey, estimate the background from the crop border; invert light-on-dark;
2. ink mask = pixels clearly darker than the background (Otsu on the contrast);
3. remove long horizontal/vertical runs (grid lines, cell borders);
4. keep ink components that belong to the box (not neighbours cut at the edge);
5. trim to the ink, re-pad with background, scale so text sits at ~`text_height` px;
6. stretch contrast.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class PrepSettings:
    text_height: int = 32       # ink height after scaling (PP-OCR rec input is 48 px)
    max_upscale: float = 4.0
    pad_y: float = 0.25         # background margin above/below, in text heights
    pad_x: float = 0.5          # background margin left/right, in text heights
    line_fraction: float = 0.9  # a run this fraction of the crop's width/height is a grid line
    min_contrast: int = 28      # ink must differ from the background by at least this (0-255)


DEFAULT = PrepSettings()
FAINT = 12   # darker than the background by this much: part of a (faint) line


def to_grey(image: np.ndarray) -> np.ndarray:
    """A grey copy of a BGR or BGRA image (a grey image as it is)."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def contrast_grey(image: np.ndarray, inner: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Grey version of a crop with the most text contrast: luma, or one colour channel when the text
    is coloured (yellow on white, red on black lose most of their contrast in plain luma)."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    luma = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    region = (lambda a: a[inner[1]:inner[3], inner[0]:inner[2]]) if inner is not None else (lambda a: a)

    def spread(a: np.ndarray) -> float:
        r = region(a)
        if r.size == 0 or min(r.shape[:2]) < 3:
            return 0.0
        lo, hi, _, _ = cv2.minMaxLoc(cv2.blur(np.ascontiguousarray(r), (3, 3)))  # 3x3 mean: no single-pixel noise
        return float(hi - lo)

    best, best_spread = luma, spread(luma)
    for c in range(3):
        ch = image[:, :, c]
        sp = spread(ch)
        if sp > best_spread * 1.5:  # only a clearly better channel: luma is the natural choice
            best, best_spread = ch, sp
    return np.ascontiguousarray(best)


def dark_on_light(grey: np.ndarray, inner: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Grey crop with dark text on a light background (inverted when the text is the lighter part).

    Text is the minority of a field's pixels: when the median (the background)
    is closer to the darkest pixels than to the lightest, the text is light.
    """
    region = grey[inner[1]:inner[3], inner[0]:inner[2]] if inner is not None else grey
    if region.size == 0:
        region = grey
    # extremes rather than p5/p95: a few digits in a big dark box are well under 5% of its pixels
    lo, mid, hi = np.percentile(region, (0.5, 50, 99.5))
    if (hi - mid) > (mid - lo) + 4:
        return 255 - grey
    return grey


def ink_mask(grey: np.ndarray, settings: PrepSettings = DEFAULT, inner: tuple[int, int, int, int] | None = None
             ) -> tuple[np.ndarray, float]:
    """(mask of ink pixels, background level) for a dark-on-light grey crop."""
    region = grey[inner[1]:inner[3], inner[0]:inner[2]] if inner is not None else grey
    if region.size == 0:
        region = grey
    bg = float(np.percentile(region, 60))
    darkness = np.clip(bg - grey.astype(np.float32), 0, 255).astype(np.uint8)
    dark_in = darkness[inner[1]:inner[3], inner[0]:inner[2]] if inner is not None else darkness
    if dark_in.size == 0:
        dark_in = darkness
    if int(dark_in.max()) < settings.min_contrast:
        return np.zeros_like(grey, dtype=bool), bg
    # the threshold comes from the box proper: the margin may hold other colours (panel edges)
    t, _ = cv2.threshold(np.ascontiguousarray(dark_in), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    t = max(float(t), settings.min_contrast * 0.6)
    return darkness > t, bg


def remove_lines(mask: np.ndarray, settings: PrepSettings = DEFAULT,
                 inner: tuple[int, int, int, int] | None = None, grey: np.ndarray | None = None,
                 bg: float | None = None) -> np.ndarray:
    """Drop grid lines and box outlines from an ink mask.

    Long horizontal/vertical runs of ink are lines. With the grey crop and its
    background level, rows (columns) that are faintly but continuously darker
    than the background across the box (85% of its width, 90% of its height)
    are lines too: a blurred outline that thresholding broke into pieces.
    """
    h, w = mask.shape
    m = mask.astype(np.uint8)
    out = mask.copy()
    if w >= 8:
        k = max(8, int(w * settings.line_fraction))
        horiz = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 1)))
        out &= ~horiz.astype(bool)
    if h >= 8:
        k = max(8, int(h * settings.line_fraction))
        vert = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k)))
        out &= ~vert.astype(bool)
    if grey is not None and bg is not None:
        # faint, continuous lines (a blurred box outline) that thresholding broke into pieces
        faint = (bg - grey.astype(np.int16)) >= FAINT
        x0, y0, x1, y1 = inner if inner is not None else (0, 0, w, h)
        rows = faint[:, x0:x1].mean(axis=1) if x1 > x0 else np.zeros(h)
        cols = faint[y0:y1, :].mean(axis=0) if y1 > y0 else np.zeros(w)
        line_rows = rows >= 0.85
        line_cols = cols >= 0.9
        if line_rows.any():
            near = cv2.dilate(line_rows.astype(np.uint8)[:, None], np.ones((3, 1), np.uint8))[:, 0].astype(bool)
            out[line_rows | (near & (rows >= 0.5)), :] = False
        if line_cols.any():
            near = cv2.dilate(line_cols.astype(np.uint8)[None, :], np.ones((1, 3), np.uint8))[0].astype(bool)
            out[:, line_cols | (near & (cols >= 0.5))] = False
    return out


def ink_bbox(mask: np.ndarray, inner: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int] | None:
    """Bounding box (x, y, w, h) of the text in an ink mask, or None when there is none."""
    found = text_components(mask, inner)
    return found[0] if found else None


def text_components(mask: np.ndarray, inner: tuple[int, int, int, int] | None = None
                    ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """(bounding box (x, y, w, h), mask of the text's components) of an ink mask, or None.

    - a component belongs to the field when its centre lies inside `inner`
      (x0, y0, x1, y1; the field box proper, without the search margin);
    - components that span the whole crop (frames, panel edges) are not text;
    - there is text only if some component is at least a quarter of the box
      height tall (specks and remnants of lines are not text);
    - small components (a decimal point, a minus; one pixel in a bitmap font)
      count when they sit in the band of the tall ones.
    """
    H, W = mask.shape
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    ix0, iy0, ix1, iy1 = inner if inner is not None else (0, 0, W, H)
    tall_min = max(3, 0.25 * (iy1 - iy0))
    tall, small = [], []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        cx, cy = centroids[i]
        if not (ix0 <= cx < ix1 and iy0 <= cy < iy1):
            continue
        if w >= 0.9 * W and h >= 0.9 * H:
            continue
        touches = (x == 0) + (y == 0) + (x + w == W) + (y + h == H)
        if touches >= 3:
            continue
        if h >= tall_min:
            tall.append((x, y, w, h, i))
        else:  # a decimal point of a bitmap font is a single pixel
            small.append((x, y, w, h, i))
    if not tall:
        return None
    band0 = min(b[1] for b in tall)
    band1 = max(b[1] + b[3] for b in tall)
    bh = band1 - band0
    slack = 0.15 * bh
    left = min(b[0] for b in tall) - bh
    right = max(b[0] + b[2] for b in tall) + bh

    def mark(b: tuple[int, int, int, int, int]) -> bool:
        """A small mark of the text: a point or minus in the band, or an underscore, caret or accent just
        outside it (text without descenders or ascenders leaves them outside the tall letters' band)."""
        x, y, w, h, _ = b
        if y >= band0 - slack and y + h <= band1 + slack:
            return True
        flat = h <= max(3, 0.3 * bh) and w <= 2 * bh
        beside = x >= left and x + w <= right
        near = y >= band0 - 0.5 * bh and y + h <= band1 + 0.5 * bh
        return flat and beside and near and 0 < x and x + w < W and 0 < y and y + h < H

    boxes = tall + [b for b in small if mark(b)]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    lut = np.zeros(n, dtype=bool)
    lut[[b[4] for b in boxes]] = True
    return (x0, y0, x1 - x0, y1 - y0), lut[labels]


def has_ink(crop: np.ndarray, inner: tuple[int, int, int, int] | None = None, settings: PrepSettings = DEFAULT
            ) -> bool:
    grey = dark_on_light(contrast_grey(crop, inner), inner)
    mask, bg = ink_mask(grey, settings, inner)
    return ink_bbox(remove_lines(mask, settings, inner, grey, bg), inner) is not None


def prepare_crop(crop: np.ndarray, inner: tuple[int, int, int, int] | None = None,
                 settings: PrepSettings = DEFAULT) -> np.ndarray | None:
    """A clean BGR text-line image for the recogniser, or None when the crop holds no text.

    `inner` is the field box inside the crop (x0, y0, x1, y1) when the crop was
    cut with a margin around it.
    """
    if crop is None or crop.size == 0 or min(crop.shape[:2]) < 3:
        return None
    grey = dark_on_light(contrast_grey(crop, inner), inner)
    raw, bg = ink_mask(grey, settings, inner)
    found = text_components(remove_lines(raw, settings, inner, grey, bg), inner)
    if found is None:
        return None
    (x, y, w, h), keep = found
    # wipe ink that is not the text (lines, outlines, a neighbour's edge) with its anti-aliased halo;
    # the text's own faint strokes stay as they are
    other = raw & ~keep
    bg_level = int(round(bg))
    if other.any():
        halo = cv2.dilate(other.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~keep
        grey = grey.copy()
        grey[halo] = bg_level
    H, W = grey.shape
    x0, y0, x1, y1 = max(0, x - 1), max(0, y - 1), min(W, x + w + 1), min(H, y + h + 1)
    text = grey[y0:y1, x0:x1].copy()
    w, h = x1 - x0, y1 - y0
    # contrast: darkest ink -> 0, background -> 255
    lo = float(text.min())
    if bg_level - lo >= 8:
        text = np.clip((text.astype(np.float32) - lo) * (255.0 / (bg_level - lo)), 0, 255).astype(np.uint8)
    else:
        text[:] = 255
    scale = min(settings.max_upscale, settings.text_height / max(h - 2, 1))
    if scale > 1.05 or scale < 0.95:
        interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        text = cv2.resize(text, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)
    th = text.shape[0]
    py = max(2, round(th * settings.pad_y))
    px = max(4, round(th * settings.pad_x))
    text = cv2.copyMakeBorder(text, py, py, px, px, cv2.BORDER_CONSTANT, value=255)
    return cv2.cvtColor(text, cv2.COLOR_GRAY2BGR)
