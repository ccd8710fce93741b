"""Find a taught screen in a frame: which template, where (offset) and how big (scale).

Anchors are patches of the template's reference image. Matching runs in two
stages:

1. coarse: the largest anchors are searched over the whole frame at a reduced
   resolution, over a geometric ladder of scales (template `match.min_scale`
   to `max_scale`, default 0.7-1.6; letterboxed frames are just frames with
   black bars). The best peaks become hypotheses (scale, offset).
2. fine: for each hypothesis every anchor is searched at full resolution in a
   small window around where it should be, at scales close to the hypothesis;
   scale and offset are fitted to the anchor centres (least squares), and each
   anchor is scored (normalised cross-correlation) at its fitted place.

The score is the weighted mean of the anchor scores; the template matches when
it reaches `match.threshold`. Per-anchor scores are in `MatchResult.anchor_scores`.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ocr_templates.errors import TemplateError
from ocr_templates.model import Anchor, Template
from ocr_templates.results import MatchResult

log = logging.getLogger(__name__)

COARSE_WIDTH = 480          # the frame is searched at about this width first
COARSE_MIN_SIDE = 9         # an anchor smaller than this at the coarse level is searched finer
SCALE_STEP = 1.06           # ratio between neighbouring coarse scales
HYPOTHESES = 3              # coarse peaks verified at full resolution
BLUR_SIGMA = 0.8            # light blur on both sides: robust to capture-card blur and JPEG


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(image, code)


def _smooth(grey: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(grey, (0, 0), BLUR_SIGMA)


def load_reference(template: Template) -> np.ndarray:
    """The template's reference image, grey."""
    path = template.reference_path
    if path is None:
        raise TemplateError(template.id, "the template has no file path, so its reference image cannot be found",
                            "reference > image")
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise TemplateError(str(template.path), f"reference image '{template.reference.image}' cannot be read",
                            "reference > image")
    return img


@dataclass
class _AnchorModel:
    anchor: Anchor
    patch: np.ndarray                       # grey, smoothed, reference pixels
    centre: tuple[float, float]             # reference coordinates
    cache: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def at(self, w: int, h: int) -> np.ndarray:
        key = (w, h)
        p = self.cache.get(key)
        if p is None:
            interp = cv2.INTER_AREA if w < self.patch.shape[1] else cv2.INTER_LINEAR
            p = cv2.resize(self.patch, (w, h), interpolation=interp)
            if len(self.cache) > 256:
                self.cache.clear()
            self.cache[key] = p
        return p


class _TemplateModel:
    """A template prepared for matching: anchor patches and their resized copies (cached)."""

    def __init__(self, template: Template, reference: np.ndarray | None = None) -> None:
        self.template = template
        ref = _grey(reference) if reference is not None else load_reference(template)
        rh, rw = ref.shape[:2]
        if (rw, rh) != (template.reference.width, template.reference.height):
            log.warning("template %s: reference image is %dx%d, the template says %dx%d", template.id, rw, rh,
                        template.reference.width, template.reference.height)
        smooth = _smooth(ref)
        self.anchors: list[_AnchorModel] = []
        where = str(template.path or template.id)
        for i, a in enumerate(template.anchors):
            x, y, w, h = a.box.as_tuple()
            if x + w > rw or y + h > rh:
                raise TemplateError(where, f"box {[x, y, w, h]} lies outside the {rw}x{rh} reference image",
                                    f"anchors[{i}] '{a.name}' > box")
            patch = smooth[y:y + h, x:x + w]
            if float(patch.std()) < 2.0:
                raise TemplateError(where, "the anchor is a flat patch (no texture): it cannot locate the screen",
                                    f"anchors[{i}] '{a.name}' > box")
            self.anchors.append(_AnchorModel(a, patch.copy(), (x + w / 2, y + h / 2)))
        m = template.match
        self.min_scale, self.max_scale = min(m.min_scale, m.max_scale), max(m.min_scale, m.max_scale)
        n = max(1, math.ceil(math.log(self.max_scale / self.min_scale) / math.log(SCALE_STEP)))
        self.scales = [self.min_scale * (self.max_scale / self.min_scale) ** (i / n) for i in range(n + 1)]
        # the coarse search uses the biggest anchors
        self.coarse = sorted(self.anchors, key=lambda am: -am.patch.size)[:2]
        self.last: tuple[float, float, float] | None = None   # last good (scale, ox, oy)


class _Frame:
    """A frame prepared once for every template: grey, smoothed, and its reduced levels."""

    def __init__(self, image: np.ndarray) -> None:
        if image is None or not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
            raise ValueError("not an image (expected a BGR or grey numpy array)")
        self.grey = _smooth(_grey(image))
        self.h, self.w = self.grey.shape[:2]
        self.levels: dict[float, np.ndarray] = {1.0: self.grey}

    def level(self, factor: float) -> np.ndarray:
        if factor not in self.levels:
            size = (max(1, round(self.w * factor)), max(1, round(self.h * factor)))
            self.levels[factor] = cv2.resize(self.grey, size, interpolation=cv2.INTER_AREA)
        return self.levels[factor]


def _coarse_factor(frame: _Frame, am: _AnchorModel, min_scale: float) -> float:
    base = min(1.0, COARSE_WIDTH / max(frame.w, 1))
    side = min(am.patch.shape[:2]) * min_scale
    factor = base
    while factor < 1.0 and side * factor < COARSE_MIN_SIDE:
        factor = min(1.0, factor * 2)
    return round(factor, 4)


def _ncc(image: np.ndarray, patch: np.ndarray) -> np.ndarray | None:
    if patch.shape[0] > image.shape[0] or patch.shape[1] > image.shape[1] or min(patch.shape[:2]) < 2:
        return None
    res = cv2.matchTemplate(image, patch, cv2.TM_CCOEFF_NORMED)
    return np.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0)


def _coarse(frame: _Frame, tm: _TemplateModel) -> list[tuple[float, float, float, float]]:
    """Hypotheses (score, scale, ox, oy) from the coarse search."""
    found: list[tuple[float, float, float, float]] = []
    for am in tm.coarse:
        f = _coarse_factor(frame, am, tm.min_scale)
        img = frame.level(f)
        ph, pw = am.patch.shape[:2]
        peaks: list[tuple[float, float, float, float]] = []
        for s in tm.scales:
            w, h = round(pw * s * f), round(ph * s * f)
            if w < 3 or h < 3:
                continue
            res = _ncc(img, am.at(w, h))
            if res is None:
                continue
            _, mx, _, loc = cv2.minMaxLoc(res)
            # the frame position of the anchor's top-left, back to the reference origin
            fx, fy = loc[0] / f, loc[1] / f
            ax, ay = am.anchor.box.x, am.anchor.box.y
            peaks.append((float(mx), s, fx - ax * s, fy - ay * s))
        peaks.sort(reverse=True)
        kept: list[tuple[float, float, float, float]] = []
        for p in peaks:
            if all(abs(p[2] - q[2]) + abs(p[3] - q[3]) > 8 / f or abs(math.log(p[1] / q[1])) > 0.15 for q in kept):
                kept.append(p)
            if len(kept) >= HYPOTHESES:
                break
        found.extend(kept)
    found.sort(reverse=True)
    return found[:HYPOTHESES + 1]


def _search(frame: _Frame, am: _AnchorModel, scale: float, ox: float, oy: float, radius: int,
            scale_steps: Sequence[float]) -> tuple[float, float, float, float]:
    """Best (score, scale, cx, cy) for one anchor near where (scale, ox, oy) puts it."""
    ph, pw = am.patch.shape[:2]
    best = (-1.0, scale, ox + am.centre[0] * scale, oy + am.centre[1] * scale)
    for k in scale_steps:
        s = scale * k
        w, h = max(2, round(pw * s)), max(2, round(ph * s))
        x = round(ox + am.anchor.box.x * scale + (pw * scale - w) / 2)
        y = round(oy + am.anchor.box.y * scale + (ph * scale - h) / 2)
        x0, y0 = max(0, x - radius), max(0, y - radius)
        x1, y1 = min(frame.w, x + w + radius), min(frame.h, y + h + radius)
        if x1 - x0 < w or y1 - y0 < h:
            continue
        res = _ncc(frame.grey[y0:y1, x0:x1], am.at(w, h))
        if res is None:
            continue
        _, mx, _, loc = cv2.minMaxLoc(res)
        # sub-pixel peak (parabola fit) for a steadier fit
        px, py = float(loc[0]), float(loc[1])
        lx, ly = loc
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
        if mx > best[0]:
            best = (float(mx), s, x0 + px + w / 2, y0 + py + h / 2)
    return best


def _fit(points: list[tuple[tuple[float, float], tuple[float, float], float]], fallback_scale: float
         ) -> tuple[float, float, float]:
    """Least-squares scale and offset from (reference centre, frame centre, weight) pairs."""
    if len(points) == 1:
        (rx, ry), (fx, fy), _ = points[0]
        return fallback_scale, fx - rx * fallback_scale, fy - ry * fallback_scale
    r = np.array([p[0] for p in points], dtype=np.float64)
    q = np.array([p[1] for p in points], dtype=np.float64)
    wts = np.array([p[2] for p in points], dtype=np.float64)
    rm = (r * wts[:, None]).sum(0) / wts.sum()
    qm = (q * wts[:, None]).sum(0) / wts.sum()
    rd, qd = r - rm, q - qm
    den = float((wts[:, None] * rd * rd).sum())
    if den < 100.0:  # anchors (nearly) on one spot: the spread says nothing about scale
        s = fallback_scale
    else:
        s = float((wts[:, None] * rd * qd).sum()) / den
    return s, float(qm[0] - s * rm[0]), float(qm[1] - s * rm[1])


def _verify(frame: _Frame, tm: _TemplateModel, scale: float, ox: float, oy: float, radius: int,
            steps: Sequence[float]) -> tuple[float, float, float, float, dict[str, float]]:
    """Refine a hypothesis with every anchor; (score, scale, ox, oy, anchor scores)."""
    # nearest anchors to the hypothesis first would help long layouts; the radius covers it
    pts = []
    scales = []
    for am in tm.anchors:
        sc, s, cx, cy = _search(frame, am, scale, ox, oy, radius, steps)
        if sc > 0.3:
            pts.append((am.centre, (cx, cy), am.anchor.weight * sc))
            scales.append(s)
    if not pts:
        return 0.0, scale, ox, oy, {am.anchor.name: 0.0 for am in tm.anchors}
    fallback = float(np.median(scales)) if scales else scale
    s, fx, fy = _fit(pts, fallback)
    if not (tm.min_scale * 0.95 <= s <= tm.max_scale * 1.05):
        s, fx, fy = fallback, *_fit(pts, fallback)[1:]
    # score every anchor where the fit puts it (a 1-2 px search absorbs rounding)
    scores: dict[str, float] = {}
    total = wsum = 0.0
    for am in tm.anchors:
        sc = _search(frame, am, s, fx, fy, 2, (1.0,))[0]
        sc = max(0.0, sc)
        scores[am.anchor.name] = round(sc, 4)
        total += am.anchor.weight * sc
        wsum += am.anchor.weight
    return total / wsum, s, fx, fy, scores


class Matcher:
    """Match frames against a set of templates. Prepared patches are cached between frames.

    `best(image)` returns the best template at or above its threshold, or None;
    `match(image, template_id)` and `match_all(image)` give the full results.
    """

    def __init__(self, templates: Iterable[Template], references: dict[str, np.ndarray] | None = None) -> None:
        references = references or {}
        self._models = {t.id: _TemplateModel(t, references.get(t.id)) for t in templates}

    @property
    def templates(self) -> list[Template]:
        return [m.template for m in self._models.values()]

    @staticmethod
    def _match(frame: _Frame, tm: _TemplateModel, t0: float) -> MatchResult:
        tid = tm.template.id
        threshold = tm.template.match.threshold
        best = (0.0, 1.0, 0.0, 0.0, {am.anchor.name: 0.0 for am in tm.anchors})
        # warm start: the screen is often where it was on the previous frame
        if tm.last is not None:
            s, ox, oy = tm.last
            cand = _verify(frame, tm, s, ox, oy, 4, (1.0,))
            if cand[0] >= max(threshold, 0.9):
                best = cand
        if best[0] < max(threshold, 0.9):
            for _, s, ox, oy in _coarse(frame, tm):
                radius = max(6, round(2.5 / max(COARSE_WIDTH / max(frame.w, 1), 0.25)))
                cand = _verify(frame, tm, s, ox, oy, radius, (0.97, 0.985, 1.0, 1.015, 1.03))
                if cand[0] > best[0]:
                    best = cand
                if best[0] >= 0.97:
                    break
        score, s, ox, oy, scores = best
        matched = score >= threshold
        if matched:
            tm.last = (s, ox, oy)
        return MatchResult(template_id=tid, score=round(float(score), 4), matched=matched, scale=round(s, 5),
                           offset=(round(ox, 2), round(oy, 2)), anchor_scores=scores,
                           seconds=time.perf_counter() - t0)

    def match(self, image: np.ndarray, template_id: str) -> MatchResult:
        t0 = time.perf_counter()
        return self._match(_Frame(image), self._models[template_id], t0)

    def match_all(self, image: np.ndarray) -> list[MatchResult]:
        """One result per template, best score first."""
        t0 = time.perf_counter()
        frame = _Frame(image)
        results = [self._match(frame, tm, t0) for tm in self._models.values()]
        return sorted(results, key=lambda r: -r.score)

    def best(self, image: np.ndarray) -> MatchResult | None:
        """The best-scoring template at or above its threshold, or None."""
        t0 = time.perf_counter()
        results = self.match_all(image)
        hit = next((r for r in results if r.matched), None)
        if hit is not None:
            hit.seconds = time.perf_counter() - t0
        return hit


def match_template(image: np.ndarray, template: Template, reference: np.ndarray | None = None) -> MatchResult:
    """Match one template against one frame (no caching between calls)."""
    t0 = time.perf_counter()
    tm = _TemplateModel(template, reference)
    return Matcher._match(_Frame(image), tm, t0)
