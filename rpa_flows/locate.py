"""Find an anchor image on a screen image: score, box, threshold, fast on 1080p.

Matching is normalised cross-correlation (TM_CCOEFF_NORMED) on grey images. For
needles big enough, a pass at 1/2-1/4 resolution proposes up to eight places and a
full-resolution pass in a small window around each measures the score, so a whole
1920x1080 frame costs a few ms to ~25 ms instead of ~50-200 ms. The place where a
needle was last found is tried first. Several reference images per element (one per
DPI or theme) and several scales are tried in order; the best score wins.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from qcedge.ocr_templates.preprocess import to_grey

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

COARSE_MIN_SIDE = 20  # needles smaller than this (in pixels, either side) are matched at full resolution only
COARSE_FLOOR = 0.3  # coarse candidates scoring at least this are confirmed at full resolution
COARSE_PEAKS = 8  # ... the best this many of them: a thin, pixel-exact needle (text on a list item) can
# score only ~0.55-0.8 at half resolution and still be a 1.00 match at full resolution


@dataclass(slots=True)
class ImageMatch:
    """Best place of a needle in a haystack, in haystack (screen) coordinates."""

    score: float
    box: Box
    threshold: float
    image: str = ""
    scale: float = 1.0
    seconds: float = 0.0
    candidates: list[float] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.score >= self.threshold

    @property
    def center(self) -> tuple[int, int]:
        x, y, w, h = self.box
        return (x + w // 2, y + h // 2)


@lru_cache(maxsize=256)
def _load(path: str, mtime: float) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f"cannot read anchor image {path}")
    return to_grey(img)


def load_needle(path: str | Path) -> np.ndarray:
    """A grey anchor image from a PNG file (cached until the file changes)."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        raise FileNotFoundError(f"anchor image not found: {p}") from None
    return _load(str(p), mtime)


def _ncc(hay: np.ndarray, needle: np.ndarray) -> np.ndarray:
    res = cv2.matchTemplate(hay, needle, cv2.TM_CCOEFF_NORMED)
    # A flat needle (no variance) gives inf/nan: treat as no information.
    return np.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0)


class Peak(NamedTuple):
    """A place in a score map and its score."""

    score: float
    x: int
    y: int


def _peaks(res: np.ndarray, floor: float, k: int, suppress: tuple[int, int]) -> list[Peak]:
    """Up to k local maxima of a score map above floor, strongest first."""
    res = res.copy()
    out: list[Peak] = []
    sw, sh = suppress
    for _ in range(k):
        _, best, _, (x, y) = cv2.minMaxLoc(res)
        if best < floor:
            break
        out.append(Peak(float(best), x, y))
        res[max(0, y - sh):y + sh + 1, max(0, x - sw):x + sw + 1] = -1.0
    return out


def coarse_factor(needle_shape: tuple[int, ...], hay_shape: tuple[int, ...]) -> int:
    """How much to shrink for the coarse pass: the shrunk needle keeps at least ~12 px on its short side."""
    side = min(needle_shape[:2])
    if side < COARSE_MIN_SIDE or hay_shape[0] * hay_shape[1] < 200_000:
        return 1
    return 4 if side >= 48 else 3 if side >= 24 else 2


def match_gray(hay: np.ndarray, needle: np.ndarray, threshold: float) -> tuple[float, int, int, list[float]]:
    """Best (score, x, y) of needle in hay (both grey); coarse-to-fine when the needle is big enough.

    The coarse pass (1/2 to 1/4 resolution) only proposes places; every score
    returned is measured at full resolution.
    """
    nh, nw = needle.shape[:2]
    hh, hw = hay.shape[:2]
    if nh > hh or nw > hw:
        return 0.0, 0, 0, []
    f = coarse_factor(needle.shape, hay.shape)
    if f == 1:
        res = _ncc(hay, needle)
        _, best, _, (x, y) = cv2.minMaxLoc(res)
        return float(best), x, y, [float(best)]
    small_hay = cv2.resize(hay, (hw // f, hh // f), interpolation=cv2.INTER_AREA)
    small_needle = cv2.resize(needle, (nw // f, nh // f), interpolation=cv2.INTER_AREA)
    coarse = _ncc(small_hay, small_needle)
    peaks = _peaks(coarse, min(COARSE_FLOOR, threshold), COARSE_PEAKS, (max(2, nw // (2 * f)), max(2, nh // (2 * f))))
    if not peaks:
        _, best, _, _ = cv2.minMaxLoc(coarse)
        return float(best), 0, 0, [float(best)]
    best = Peak(-1.0, 0, 0)
    pad = f + 2
    for _, cx, cy in peaks:
        x0, y0 = max(0, cx * f - pad), max(0, cy * f - pad)
        x1, y1 = min(hw, cx * f + nw + pad), min(hh, cy * f + nh + pad)
        res = _ncc(hay[y0:y1, x0:x1], needle)
        _, score, _, (x, y) = cv2.minMaxLoc(res)
        if score > best.score:
            best = Peak(float(score), x0 + x, y0 + y)
    return best.score, best.x, best.y, [p.score for p in peaks]


HINT_MARGIN = 12  # pixels around the last known place that are searched first


def find_image(
    screen: np.ndarray,
    needles: Sequence[np.ndarray | str | Path] | np.ndarray | str | Path,
    threshold: float = 0.85,
    region: Box | None = None,
    scales: Sequence[float] = (1.0,),
    hint: Box | None = None,
    gray_screen: np.ndarray | None = None,
) -> ImageMatch:
    """Best match of any of `needles` (arrays or PNG paths) at any of `scales` in `screen`.

    `screen` is the full screen image; `region` (x, y, w, h) restricts the search
    and the returned box is in full-screen coordinates either way. `hint` is
    where the needle was last found: that neighbourhood is tried first and kept
    when it scores at least `threshold` (windows seldom move). `gray_screen` is
    the grey version of `screen` when the caller has it already.
    """
    t0 = time.perf_counter()
    if isinstance(needles, (np.ndarray, str, Path)):
        needles = [needles]
    full_gray = gray_screen if gray_screen is not None else to_grey(screen)
    if hint is not None:
        hx, hy, hw, hh = hint
        near = (hx - HINT_MARGIN, hy - HINT_MARGIN, hw + 2 * HINT_MARGIN, hh + 2 * HINT_MARGIN)
        if region is not None:
            x0, y0 = max(near[0], region[0]), max(near[1], region[1])
            x1 = min(near[0] + near[2], region[0] + region[2])
            y1 = min(near[1] + near[3], region[1] + region[3])
            near = (x0, y0, x1 - x0, y1 - y0)
        if near[2] > 0 and near[3] > 0:
            quick = find_image(screen, needles, threshold, near, scales, None, full_gray)
            if quick.found:
                quick.seconds = time.perf_counter() - t0
                return quick
    ox, oy = 0, 0
    gray = full_gray
    if region is not None:
        x, y, w, h = region
        x0, y0 = max(0, x), max(0, y)
        gray = full_gray[y0:max(y0, y + h), x0:max(x0, x + w)]
        ox, oy = x0, y0
    best = ImageMatch(score=0.0, box=(0, 0, 0, 0), threshold=threshold)
    for item in needles:
        name = str(item) if not isinstance(item, np.ndarray) else "<array>"
        base = to_grey(item) if isinstance(item, np.ndarray) else load_needle(item)
        for scale in scales:
            needle = base if scale == 1.0 else cv2.resize(
                base, (max(1, round(base.shape[1] * scale)), max(1, round(base.shape[0] * scale))),
                interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
            score, x, y, cands = match_gray(gray, needle, threshold)
            if score > best.score:
                best = ImageMatch(score=score, box=(ox + x, oy + y, needle.shape[1], needle.shape[0]),
                                  threshold=threshold, image=name, scale=scale, candidates=cands)
        if best.found:
            break  # the first reference image that matches wins; later ones are fallbacks
    best.seconds = time.perf_counter() - t0
    return best
