"""Searching one anchor in a frame: over the whole frame (coarse), near a place (fine), at a place (score).

Every search is normalised cross-correlation (OpenCV `TM_CCOEFF_NORMED`) of the
anchor's smoothed reference patch, resized to the scale tried.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from qcedge.ocr_templates.match_prepared import AnchorModel, Frame, TemplateModel
from qcedge.ocr_templates.match_tuning import BLUR_SIGMA, COARSE_MIN_SIDE, COARSE_WIDTH, HYPOTHESES, RESCORE_BELOW


class Hypothesis(NamedTuple):
    """Where a coarse peak of one anchor puts the template: frame = reference * scale + (ox, oy)."""

    score: float    # the coarse peak
    scale: float
    ox: float
    oy: float


class AnchorHit(NamedTuple):
    """The best place of one anchor near where it was expected (frame pixels)."""

    score: float
    scale: float
    cx: float       # the anchor's centre
    cy: float


class AnchorLook(NamedTuple):
    """An anchor scored at one place: NCC, and the frame and reference pixels compared (None: off the frame)."""

    ncc: float
    seen: np.ndarray | None
    patch: np.ndarray | None


def ncc(image: np.ndarray, patch: np.ndarray) -> np.ndarray | None:
    """NCC of `patch` at every place in `image` (NaN as 0), or None when the patch does not fit."""
    if patch.shape[0] > image.shape[0] or patch.shape[1] > image.shape[1] or min(patch.shape[:2]) < 2:
        return None
    res = cv2.matchTemplate(image, patch, cv2.TM_CCOEFF_NORMED)
    return np.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0)


def coarse_factor(frame: Frame, am: AnchorModel, min_scale: float) -> float:
    """The reduction the whole-frame search of this anchor runs at: ~COARSE_WIDTH wide, finer for small anchors."""
    base = min(1.0, COARSE_WIDTH / max(frame.w, 1))
    side = min(am.patch.shape[:2]) * min_scale
    factor = base
    while factor < 1.0 and side * factor < COARSE_MIN_SIDE:
        factor = min(1.0, factor * 2)
    return round(factor, 4)


def coarse_hypotheses(frame: Frame, tm: TemplateModel, am: AnchorModel, scales: Sequence[float] | None = None
                      ) -> list[Hypothesis]:
    """Hypotheses from searching one anchor over the whole (reduced) frame at every scale (or `scales`)."""
    f = coarse_factor(frame, am, tm.min_scale)
    img = frame.level(f)
    ph, pw = am.patch.shape[:2]
    peaks: list[Hypothesis] = []
    for s in (tm.scales if scales is None else scales):
        w, h = round(pw * s * f), round(ph * s * f)
        if w < 3 or h < 3:
            continue
        res = ncc(img, am.at(w, h))
        if res is None:
            continue
        for _ in range(2):  # the two best places at this scale
            _, mx, _, loc = cv2.minMaxLoc(res)
            fx, fy = loc[0] / f, loc[1] / f
            peaks.append(Hypothesis(float(mx), s, fx - am.anchor.box.x * s, fy - am.anchor.box.y * s))
            x0, y0 = max(0, loc[0] - w // 2), max(0, loc[1] - h // 2)
            res[y0:loc[1] + h // 2 + 1, x0:loc[0] + w // 2 + 1] = -1.0
    peaks.sort(reverse=True)
    kept: list[Hypothesis] = []
    for p in peaks:
        if all(abs(p.ox - q.ox) + abs(p.oy - q.oy) > 6 / f or abs(math.log(p.scale / q.scale)) > 0.12
               for q in kept):
            kept.append(p)
        if len(kept) >= HYPOTHESES:
            break
    return kept


def _subpixel(res: np.ndarray, lx: int, ly: int) -> tuple[float, float]:
    """The peak at (lx, ly) of `res`, refined to sub-pixel by a parabola through its neighbours."""
    px, py = float(lx), float(ly)
    if 0 < lx < res.shape[1] - 1:
        a, b, c = res[ly, lx - 1], res[ly, lx], res[ly, lx + 1]
        d = a - 2 * b + c
        if d < 0:
            px += 0.5 * (a - c) / d
    if 0 < ly < res.shape[0] - 1:
        a, b, c = res[ly - 1, lx], res[ly, lx], res[ly + 1, lx]
        d = a - 2 * b + c
        if d < 0:
            py += 0.5 * (a - c) / d
    return px, py


def search_near(frame: Frame, am: AnchorModel, scale: float, ox: float, oy: float, radius: float,
                scale_steps: Sequence[float]) -> AnchorHit:
    """The best place for one anchor near where (scale, ox, oy) puts it, trying scale * each of `scale_steps`.

    Runs on the frame's fine level; `radius` and the result are in frame pixels.
    """
    f = frame.fine
    img = frame.level(f)
    H, W = img.shape[:2]
    ph, pw = am.patch.shape[:2]
    r = max(2, round(radius * f))
    best = AnchorHit(-1.0, scale, ox + am.centre[0] * scale, oy + am.centre[1] * scale)
    for k in scale_steps:
        s = scale * k
        w, h = max(2, round(pw * s * f)), max(2, round(ph * s * f))
        # top-left of the patch (at this scale) centred where the hypothesis puts the anchor centre
        x = round((ox + am.centre[0] * scale) * f - w / 2)
        y = round((oy + am.centre[1] * scale) * f - h / 2)
        x0, y0 = max(0, x - r), max(0, y - r)
        x1, y1 = min(W, x + w + r), min(H, y + h + r)
        if x1 - x0 < w or y1 - y0 < h:
            continue
        res = ncc(img[y0:y1, x0:x1], am.at(w, h))
        if res is None:
            continue
        _, mx, _, loc = cv2.minMaxLoc(res)
        if mx <= best.score:
            continue
        px, py = _subpixel(res, *loc)   # a steadier fit
        best = AnchorHit(float(mx), s, (x0 + px + w / 2) / f, (y0 + py + h / 2) / f)
    return best


def score_anchor(frame: Frame, am: AnchorModel, scale: float, ox: float, oy: float, radius: int = 2
                 ) -> AnchorLook:
    """NCC of the anchor where (scale, ox, oy) puts it, with the pixels compared.

    Full resolution; a search of a pixel or two absorbs rounding. When the
    anchor is not nearly identical there, sizes 1.5 % either side and a pixel
    more are tried too: a UI drawn at another scale renders text a little
    wider or narrower than a plain zoom (long anchors notice).
    """
    best = AnchorLook(0.0, None, None)
    for k, r in ((1.0, radius), (0.985, radius + 1), (1.015, radius + 1)):
        if k != 1.0 and best.ncc >= RESCORE_BELOW:
            break
        found = _score_at(frame, am, scale, ox, oy, r, k)
        if found.ncc > best.ncc or best.seen is None:
            best = found
    return best


def _score_at(frame: Frame, am: AnchorModel, scale: float, ox: float, oy: float, radius: int, k: float
              ) -> AnchorLook:
    ph, pw = am.patch.shape[:2]
    w, h = max(2, round(pw * scale * k)), max(2, round(ph * scale * k))
    x = round(ox + am.centre[0] * scale - w / 2)
    y = round(oy + am.centre[1] * scale - h / 2)
    pad = 4
    x0, y0 = max(0, x - radius - pad), max(0, y - radius - pad)
    x1, y1 = min(frame.w, x + w + radius + pad), min(frame.h, y + h + radius + pad)
    if x1 - x0 < w or y1 - y0 < h:
        return AnchorLook(0.0, None, None)
    win = cv2.GaussianBlur(frame.raw[y0:y1, x0:x1], (0, 0), BLUR_SIGMA)
    cx0, cy0 = max(0, x - radius) - x0, max(0, y - radius) - y0
    win = win[cy0:cy0 + h + 2 * radius, cx0:cx0 + w + 2 * radius]
    patch = am.at(w, h)
    res = ncc(win, patch)
    if res is None:
        return AnchorLook(0.0, None, None)
    _, mx, _, (lx, ly) = cv2.minMaxLoc(res)
    return AnchorLook(max(0.0, float(mx)), win[ly:ly + h, lx:lx + w], patch)
