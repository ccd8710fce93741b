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
    line_fraction: float = 0.8  # a run this fraction of the crop's width/height is a grid line
    min_contrast: int = 28      # ink must differ from the background by at least this (0-255)


DEFAULT = PrepSettings()


def to_grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def dark_on_light(grey: np.ndarray) -> np.ndarray:
    """Grey crop with dark text on a light background (inverted when needed)."""
    border = np.concatenate([grey[0, :], grey[-1, :], grey[:, 0], grey[:, -1]])
    bg = float(np.median(border))
    if bg < 128:
        # light-on-dark if the background is dark; confirm with the mean of the middle
        return 255 - grey
    return grey


def ink_mask(grey: np.ndarray, settings: PrepSettings = DEFAULT) -> tuple[np.ndarray, float]:
    """(mask of ink pixels, background level) for a dark-on-light grey crop."""
    border = np.concatenate([grey[0, :], grey[-1, :], grey[:, 0], grey[:, -1]])
    bg = float(np.percentile(border, 75))
    bg = max(bg, float(np.percentile(grey, 60)))
    darkness = np.clip(bg - grey.astype(np.float32), 0, 255).astype(np.uint8)
    if int(darkness.max()) < settings.min_contrast:
        return np.zeros_like(grey, dtype=bool), bg
    t, _ = cv2.threshold(darkness, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    t = max(float(t), settings.min_contrast * 0.6)
    return darkness > t, bg


def remove_lines(mask: np.ndarray, settings: PrepSettings = DEFAULT) -> np.ndarray:
    """Drop long horizontal and vertical runs (grid lines, borders) from an ink mask."""
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
    return out


def ink_bbox(mask: np.ndarray, inner: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int] | None:
    """Bounding box (x, y, w, h) of the ink components that belong to `inner` (x0, y0, x1, y1).

    A component belongs when its centre lies inside `inner` (the field box
    proper, without the search margin). Specks of one or two pixels are noise.
    """
    n, _, stats, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    x0 = y0 = 10**9
    x1 = y1 = -1
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if area < 3 and max(w, h) < 3:
            continue
        if inner is not None:
            cx, cy = centroids[i]
            if not (inner[0] <= cx < inner[2] and inner[1] <= cy < inner[3]):
                continue
        x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x + w), max(y1, y + h)
    if x1 < 0:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def has_ink(crop: np.ndarray, settings: PrepSettings = DEFAULT) -> bool:
    grey = dark_on_light(to_grey(crop))
    mask, _ = ink_mask(grey, settings)
    return ink_bbox(remove_lines(mask, settings)) is not None


def prepare_crop(crop: np.ndarray, inner: tuple[int, int, int, int] | None = None,
                 settings: PrepSettings = DEFAULT) -> np.ndarray | None:
    """A clean BGR text-line image for the recogniser, or None when the crop holds no text.

    `inner` is the field box inside the crop (x0, y0, x1, y1) when the crop was
    cut with a margin around it.
    """
    if crop is None or crop.size == 0 or min(crop.shape[:2]) < 3:
        return None
    grey = dark_on_light(to_grey(crop))
    mask, bg = ink_mask(grey, settings)
    mask = remove_lines(mask, settings)
    bbox = ink_bbox(mask, inner)
    if bbox is None:
        return None
    x, y, w, h = bbox
    # cut the text with its anti-aliased edge, wipe what is not ink-near (lines, neighbours)
    keep = cv2.dilate(mask[y:y + h, x:x + w].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    text = grey[y:y + h, x:x + w].copy()
    bg_level = int(round(bg))
    text[~keep] = bg_level
    # contrast: darkest ink -> 0, background -> 255
    lo = float(text.min())
    if bg_level - lo >= 8:
        text = np.clip((text.astype(np.float32) - lo) * (255.0 / (bg_level - lo)), 0, 255).astype(np.uint8)
    else:
        text[:] = 255
    scale = min(settings.max_upscale, settings.text_height / max(h, 1))
    if scale > 1.05 or scale < 0.95:
        interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        text = cv2.resize(text, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)
    th = text.shape[0]
    py = max(2, round(th * settings.pad_y))
    px = max(4, round(th * settings.pad_x))
    text = cv2.copyMakeBorder(text, py, py, px, px, cv2.BORDER_CONSTANT, value=255)
    return cv2.cvtColor(text, cv2.COLOR_GRAY2BGR)
