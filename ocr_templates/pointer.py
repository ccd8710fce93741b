"""Find a mouse pointer drawn into a frame (an HDMI capture shows it; so do some screen grabs).

A pointer resting on a value hides part of it: '199' under an arrow reads '499'. Such a field
must never come back valid. Pointers are two-tone sprites (a light fill in a dark outline, or
the reverse) in a few shapes: the arrow, a slimmer arrow, the pointing hand (a busy pointer is an
arrow with something beside it). The I-beam is not searched: as a sprite it matches every box corner.

Two stages per sprite and size: at half size, a linear filter (mean of the sprite's fill minus mean
of its outline, either sign) finds the few places where an even blob sits in an outline of that
shape; only there, at full size, the normalised correlation over the sprite's own pixels and the
two-tone test decide. The search ends at the first sure hit: there is one mouse.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

# Sprite outlines at 100 % (about 20 px tall), tip or hot spot near (0, 0).
SHAPES: dict[str, list[tuple[float, float]]] = {
    # the classic arrow (Windows, most X themes)
    "arrow": [(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)],
    # a slimmer, longer arrow (Adwaita / DMZ style)
    "arrow_slim": [(0, 0), (0, 19), (4.5, 14.5), (7.5, 21.5), (10, 20.5), (7, 13.5), (12.5, 13.5)],
    # the pointing hand over links and buttons
    "hand": [(5, 1), (6, 0), (8, 0), (9, 1), (9, 8), (11, 8), (13, 9), (15, 10), (16, 12), (16, 18), (14, 22),
             (5, 22), (2, 17), (0, 13), (1, 12), (3, 12), (5, 14)],
}
BASE_HEIGHT = 20.0          # the sprites' height at 100 %
POINTER_SCALES = (0.9, 1.0, 1.12, 1.25, 1.5)   # cursor sizes relative to the UI's own scale (DPI settings)
LINEAR_SCALES = (1.0, 1.25, 1.5)   # sizes of the first, coarse stage
MATCH_FLOOR = 0.7           # NCC over the sprite's own pixels at or above this is a pointer
SUPERSAMPLE = 4
COARSE_FLOOR = 60          # fill-minus-outline response (half size) worth a closer look
SURE = 0.85                # a pointer found this clearly ends the search (there is one mouse)
SPREAD = 0.5               # the fill (at half size, blended with its outline) may vary this much of the contrast
MAX_CANDIDATES = 12         # ... and never more than this
CANDIDATE_AREA = 6000      # ... and one more per this many pixels of the region
CANDIDATES = 3             # places per sprite checked closely
TWO_TONE = 70              # grey levels between a pointer's fill and its outline (blur and JPEG included)


@dataclass(frozen=True, slots=True)
class PointerHit:
    """A pointer found in a frame: its bounding box (frame pixels), shape and score."""

    box: tuple[int, int, int, int]
    shape: str
    score: float

    def overlaps(self, box: tuple[int, int, int, int], margin: int = 0) -> bool:
        x, y, w, h = self.box
        bx, by, bw, bh = box
        return x < bx + bw + margin and bx - margin < x + w and y < by + bh + margin and by - margin < y + h


@lru_cache(maxsize=256)
def sprite(shape: str, height: int, outline: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grey sprite, mask of its pixels, mask of its fill, mask of its outline) at `height` pixels: a light
    fill in a dark outline.

    A dark theme's pointer is the same sprite inverted: its correlation is the negative.
    """
    pts = np.array(SHAPES[shape], dtype=np.float64)
    k = height / BASE_HEIGHT
    w = int(np.ceil(pts[:, 0].max() * k)) + 3
    h = int(np.ceil(pts[:, 1].max() * k)) + 3
    s = SUPERSAMPLE
    big = np.full((h * s, w * s), 128, np.uint8)
    cover = np.zeros((h * s, w * s), np.uint8)
    poly = np.round((pts * k + 1) * s).astype(np.int32)
    outline = outline * s
    cv2.fillPoly(big, [poly], 255, lineType=cv2.LINE_AA)
    cv2.polylines(big, [poly], True, 0, thickness=outline, lineType=cv2.LINE_AA)
    cv2.fillPoly(cover, [poly], 255)
    cv2.polylines(cover, [poly], True, 255, thickness=outline)
    img = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    mask = (cv2.resize(cover, (w, h), interpolation=cv2.INTER_AREA) >= 250).astype(np.uint8)
    fill = (img >= 235) & (mask > 0)
    line = (img <= 40) & (mask > 0)
    return img, mask, fill, line


def _sizes(scale: float) -> list[int]:
    return sorted({max(10, round(BASE_HEIGHT * scale * p)) for p in POINTER_SCALES})


def _outlines(height: int) -> tuple[int, ...]:
    """Outline widths to try: 1 px always; the scaled width too for big pointers (150 % and more)."""
    return (1,) if height < BASE_HEIGHT * 1.4 else (1, round(height / BASE_HEIGHT))


def _two_tone(window: np.ndarray, fill: np.ndarray, line: np.ndarray) -> bool:
    """Whether the sprite's fill and outline pixels are two clearly different, even tones there (a pointer),
    not a faint pattern that correlates with the sprite's shape."""
    if not fill.any() or not line.any() or window.shape != fill.shape:
        return False
    a, b = window[fill].astype(np.float32), window[line].astype(np.float32)
    ma = float(np.median(a))
    # the outline is thin: blur, JPEG and half-pixel shifts leave only its core at full contrast
    mb = float(np.percentile(b, 25)) if ma > float(np.median(b)) else float(np.percentile(b, 75))
    return abs(ma - mb) >= TWO_TONE and float(np.percentile(np.abs(a - ma), 80)) <= abs(ma - mb) * 0.3


def find_pointers(grey: np.ndarray, scale: float = 1.0) -> list[PointerHit]:
    """Pointers in a grey region (coordinates relative to the region).

    `scale` is the UI's scale in this frame (the template match scale). Two stages per sprite: a
    linear filter (mean of the sprite's fill minus mean of its outline, either sign) finds the few
    places where a blob sits in an outline of that shape (light in dark or dark in light); only there the normalised
    correlation over the sprite's own pixels and the two-tone test decide.
    """
    if grey.ndim != 2 or min(grey.shape[:2]) < 8:
        return []
    H, W = grey.shape
    # the linear stage runs at half size (a quarter of the pixels); candidates are verified at full size
    half = cv2.resize(grey, (max(1, W // 2), max(1, H // 2)), interpolation=cv2.INTER_AREA).astype(np.float32)
    hits: list[PointerHit] = []
    sizes = _sizes(scale)
    # the linear stage at a few sizes (at half size it is blurry anyway); each candidate is verified at the
    # full-size heights nearest to its stage's
    stages = sorted({max(10, round(BASE_HEIGHT * scale * p)) for p in LINEAR_SCALES})
    for height in stages:
        near = [h for h in sizes if min(stages, key=lambda st: abs(st - h)) == height]
        for shape in SHAPES:
            k_img, _, k_fill, k_line = sprite(shape, max(6, round(height / 2)), 1)
            kh, kw = k_img.shape
            if kh > half.shape[0] or kw > half.shape[1] or not k_fill.any() or not k_line.any():
                continue
            kernel = k_fill.astype(np.float32) / k_fill.sum() - k_line.astype(np.float32) / k_line.sum()
            resp = cv2.filter2D(half, -1, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
            ny, nx = half.shape[0] - kh + 1, half.shape[1] - kw + 1
            resp = np.abs(resp[:ny, :nx])
            # local peaks above the floor, strongest first
            peaks = (resp >= COARSE_FLOOR) & (resp >= cv2.dilate(resp, np.ones((3, 3), np.uint8)))
            ys, xs = np.nonzero(peaks)
            order = np.argsort(-resp[ys, xs])[: min(MAX_CANDIDATES, max(CANDIDATES, H * W // CANDIDATE_AREA))]
            for cy, cx in zip(ys[order].tolist(), xs[order].tolist()):
                # a pointer's fill is one even tone
                if float(half[cy:cy + kh, cx:cx + kw][k_fill].std()) > SPREAD * float(resp[cy, cx]):
                    continue
                found = None
                for size, outline in ((h, t) for h in near for t in _outlines(h)):
                    img, mask, fill, line = sprite(shape, size, outline)
                    found = _verify(grey, 2 * cx, 2 * cy, img, mask, fill, line, shape, slack=2)
                    if found is not None:
                        break
                if found is not None:
                    hits.append(found)
                    if found.score >= SURE:
                        return [found]   # one mouse, one pointer
                    break
    hits.sort(key=lambda h: -h.score)
    kept: list[PointerHit] = []
    for h in hits:
        if not any(h.overlaps(k.box) for k in kept):
            kept.append(h)
    return kept


def _verify(grey: np.ndarray, cx: int, cy: int, img: np.ndarray, mask: np.ndarray, fill: np.ndarray,
            line: np.ndarray, shape: str, slack: int = 1) -> PointerHit | None:
    """The sprite at (cx, cy), give or take `slack` pixels: correlation over its pixels and its two tones."""
    H, W = grey.shape
    sh, sw = img.shape
    x0, y0 = max(0, cx - slack), max(0, cy - slack)
    x1, y1 = min(W, cx + sw + slack), min(H, cy + sh + slack)
    win = grey[y0:y1, x0:x1]
    if win.shape[0] < sh or win.shape[1] < sw:
        return None
    res = cv2.matchTemplate(win, img, cv2.TM_CCOEFF_NORMED, mask=mask)
    res = np.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0)
    res[np.abs(res) > 1.0001] = 0.0
    lo, mx, lo_loc, loc = cv2.minMaxLoc(res)
    if -lo > mx:
        mx, loc = -lo, lo_loc
    if mx < MATCH_FLOOR:
        return None
    x, y = x0 + loc[0], y0 + loc[1]
    if not _two_tone(grey[y:y + sh, x:x + sw], fill, line):
        return None
    return PointerHit((x, y, sw, sh), shape, float(mx))
