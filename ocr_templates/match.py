"""Find a taught screen in a frame: which template, where (offset) and how big (scale).

Anchors are patches of the template's reference image. Matching runs in two
stages:

1. coarse: the largest anchor ("lead") is searched over the whole frame at
   about 400 px wide, first at the usual scale (a quick probe), then over a
   geometric ladder of scales (template `match.min_scale` to `max_scale`,
   default 0.7-1.6; letterboxed frames are just frames with black bars). The
   best peaks become hypotheses (scale, offset). A second lead is tried only
   when the first was not plainly seen (hidden under a dialog, say).
2. fine: for each hypothesis the lead, then every anchor, is searched in a
   small window around where it should be (half resolution for big frames);
   scale and offset are fitted to the anchor centres (least squares, refitted
   once), and each anchor is scored (normalised cross-correlation, full
   resolution) at its fitted place.

Each anchor's score is lowered when its shades differ beyond one gain/offset
shared by all anchors (same text, other background: an inactive tab), or when
one character-sized spot differs (another word). With an OCR engine, such a
spot (or a score below 0.93) makes the Matcher read an anchor that has a
`text`, and a text that disagrees unmatches the template.

The template matches when the weighted mean of the anchor scores reaches
`match.threshold` and every anchor reaches `match.anchor_threshold`.
Per-anchor scores are in `MatchResult.anchor_scores`. `Matcher.best` searches
all templates side by side and stops at a conclusive match; warm starts from
the previous frame's position make a repeated screen cost a few milliseconds.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from qcedge.ocr_templates import cover as covermod
from qcedge.ocr_templates.errors import TemplateError
from qcedge.ocr_templates.model import Anchor, Template
from qcedge.ocr_templates.results import MatchResult

if TYPE_CHECKING:
    from qcedge.ocr_templates.engines.base import OcrEngine

log = logging.getLogger(__name__)

COARSE_WIDTH = 400          # the frame is searched at about this width first
COARSE_MIN_SIDE = 3          # an anchor smaller than this at the coarse level is searched finer
SCALE_STEP = 1.12           # ratio between neighbouring coarse scales
HYPOTHESES = 3              # coarse peaks verified at full resolution
FINE_STEPS = (0.94, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06)   # scales tried around a coarse hypothesis
FINE_HALF_FROM = 1200       # frames at least this wide are refined at half resolution
LEAD_MIN = 0.5              # a hypothesis whose own anchor scores below this is dropped
PHOTO_OK = 12.0             # mean grey-level difference an anchor may show after the common gain/offset
SNAP_TO_USUAL = 0.03        # a lead scale within 3 % of the template's usual scale is taken as that scale
FIT_OUTLIER = 4.0           # px: an anchor this far from where the others put it is left out of the fit
FIT_SPREAD = 25.0           # px (RMS from their centre): anchors closer together do not fit a scale of their own
HIDDEN_SPREAD = 0.04         # visible anchors must lie this far apart (of the screen size) to place it alone
PHOTO_TRUST = 0.7           # anchors at least this alike set the common gain/offset
PHOTO_SPAN = 24.0           # ... beyond that its score fades to 0 over this many levels
TEXT_CHECK_BELOW = 0.93     # with an engine, a text anchor scoring below this is read
TEXT_AGREE = 0.9            # similarity (difflib ratio, look-alikes folded) a text anchor must reach
RESCORE_BELOW = 0.95        # an anchor scoring less at the fitted place is also tried 1.5 % bigger/smaller
LOCAL_CHECK = 16.0          # a text anchor with a character-sized spot differing this much (grey levels) is read
LOCAL_OK = 30.0             # ... and anchors that cannot be read lose score beyond this
LOCAL_SPAN = 20.0
UNREAD_TEXT_MARGIN = 0.05   # without an OCR engine, text anchors must score this much above the anchor floor
LEAD_SEEN = 0.8             # a lead found this clearly over the whole frame needs no second lead
PROBE_MIN = 0.7             # coarse peak a quick probe at the usual scale must reach to be verified
STEADY_DROP = 0.02          # a warm match scoring within this of last time's score ends Matcher.best
CONCLUSIVE = 0.95           # Matcher.best stops at a match scoring this high ...
CONCLUSIVE_ANCHOR = 0.9     # ... with every anchor at least this
GOOD_ENOUGH = 0.9           # a verified score this high ends the search early
BLUR_SIGMA = 1.2            # light blur on both sides: robust to capture-card blur and JPEG


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(image, code)


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
        self.ref = ref
        smooth = cv2.GaussianBlur(ref, (0, 0), BLUR_SIGMA)
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
        # the coarse search leads with the biggest anchors that stay visible at the coarse level
        def rank(am: _AnchorModel) -> tuple[bool, int]:
            return (min(am.patch.shape[:2]) * self.min_scale * 0.25 >= COARSE_MIN_SIDE, am.patch.size)

        self.coarse = sorted(self.anchors, key=rank, reverse=True)[:2]
        self.last: tuple[float, float, float] | None = None   # last good (scale, ox, oy)
        self.usual_scale = min(max(1.0, self.min_scale), self.max_scale)   # probed first: last scale seen
        self.last_score = 1.0
        self.text_checked = False   # an OCR engine reads text anchors (set by Matcher)


class _Frame:
    """A frame prepared once for every template: grey, and its reduced, lightly smoothed levels."""

    def __init__(self, image: np.ndarray) -> None:
        if image is None or not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
            raise ValueError("not an image (expected a BGR or grey numpy array)")
        if image.dtype != np.uint8:
            raise ValueError("not an 8-bit image")
        self.raw = _grey(image)
        self.h, self.w = self.raw.shape[:2]
        self.levels: dict[float, np.ndarray] = {}
        # full resolution is only needed for small frames; big ones are refined at half size
        self.fine = 1.0 if self.w < FINE_HALF_FROM else 0.5

    def level(self, factor: float) -> np.ndarray:
        img = self.levels.get(factor)
        if img is None:
            if factor == 1.0:
                img = self.raw
            else:
                size = (max(1, round(self.w * factor)), max(1, round(self.h * factor)))
                img = cv2.resize(self.raw, size, interpolation=cv2.INTER_AREA)
            sigma = BLUR_SIGMA * factor
            if sigma >= 0.5:
                img = cv2.GaussianBlur(img, (0, 0), sigma)
            self.levels[factor] = img
        return img


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


Hypothesis = tuple[float, float, float, float]   # (coarse score, scale, ox, oy)


def _coarse(frame: _Frame, tm: _TemplateModel, am: _AnchorModel, scales: Sequence[float] | None = None
            ) -> list[Hypothesis]:
    """Hypotheses from searching one anchor over the whole (reduced) frame at every scale (or `scales`)."""
    f = _coarse_factor(frame, am, tm.min_scale)
    img = frame.level(f)
    ph, pw = am.patch.shape[:2]
    peaks: list[Hypothesis] = []
    for s in (tm.scales if scales is None else scales):
        w, h = round(pw * s * f), round(ph * s * f)
        if w < 3 or h < 3:
            continue
        res = _ncc(img, am.at(w, h))
        if res is None:
            continue
        for _ in range(2):  # the two best places at this scale
            _, mx, _, loc = cv2.minMaxLoc(res)
            fx, fy = loc[0] / f, loc[1] / f
            peaks.append((float(mx), s, fx - am.anchor.box.x * s, fy - am.anchor.box.y * s))
            x0, y0 = max(0, loc[0] - w // 2), max(0, loc[1] - h // 2)
            res[y0:loc[1] + h // 2 + 1, x0:loc[0] + w // 2 + 1] = -1.0
    peaks.sort(reverse=True)
    kept: list[Hypothesis] = []
    for p in peaks:
        if all(abs(p[2] - q[2]) + abs(p[3] - q[3]) > 6 / f or abs(math.log(p[1] / q[1])) > 0.12 for q in kept):
            kept.append(p)
        if len(kept) >= HYPOTHESES:
            break
    return kept


def _search(frame: _Frame, am: _AnchorModel, scale: float, ox: float, oy: float, radius: float,
            scale_steps: Sequence[float]) -> tuple[float, float, float, float]:
    """Best (score, scale, cx, cy) for one anchor near where (scale, ox, oy) puts it.

    Runs on the frame's fine level; `radius` and the result are in frame pixels.
    """
    f = frame.fine
    img = frame.level(f)
    H, W = img.shape[:2]
    ph, pw = am.patch.shape[:2]
    r = max(2, round(radius * f))
    best = (-1.0, scale, ox + am.centre[0] * scale, oy + am.centre[1] * scale)
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
        res = _ncc(img[y0:y1, x0:x1], am.at(w, h))
        if res is None:
            continue
        _, mx, _, loc = cv2.minMaxLoc(res)
        if mx <= best[0]:
            continue
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
        best = (float(mx), s, (x0 + px + w / 2) / f, (y0 + py + h / 2) / f)
    return best


def _score(frame: _Frame, am: _AnchorModel, scale: float, ox: float, oy: float, radius: int = 2
           ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """(NCC, frame pixels, reference pixels) of the anchor where (scale, ox, oy) puts it.

    Full resolution; a search of a pixel or two absorbs rounding. When the
    anchor is not nearly identical there, sizes 1.5 % either side and a pixel
    more are tried too: a UI drawn at another scale renders text a little
    wider or narrower than a plain zoom (long anchors notice).
    """
    best: tuple[float, np.ndarray | None, np.ndarray | None] = (0.0, None, None)
    for k, r in ((1.0, radius), (0.985, radius + 1), (1.015, radius + 1)):
        if k != 1.0 and best[0] >= RESCORE_BELOW:
            break
        found = _score_at(frame, am, scale, ox, oy, r, k)
        if found[0] > best[0] or best[1] is None:
            best = found
    return best


def _score_at(frame: _Frame, am: _AnchorModel, scale: float, ox: float, oy: float, radius: int, k: float
              ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    ph, pw = am.patch.shape[:2]
    w, h = max(2, round(pw * scale * k)), max(2, round(ph * scale * k))
    x = round(ox + am.centre[0] * scale - w / 2)
    y = round(oy + am.centre[1] * scale - h / 2)
    pad = 4
    x0, y0 = max(0, x - radius - pad), max(0, y - radius - pad)
    x1, y1 = min(frame.w, x + w + radius + pad), min(frame.h, y + h + radius + pad)
    if x1 - x0 < w or y1 - y0 < h:
        return 0.0, None, None
    win = cv2.GaussianBlur(frame.raw[y0:y1, x0:x1], (0, 0), BLUR_SIGMA)
    cx0, cy0 = max(0, x - radius) - x0, max(0, y - radius) - y0
    win = win[cy0:cy0 + h + 2 * radius, cx0:cx0 + w + 2 * radius]
    patch = am.at(w, h)
    res = _ncc(win, patch)
    if res is None:
        return 0.0, None, None
    _, mx, _, (lx, ly) = cv2.minMaxLoc(res)
    return max(0.0, float(mx)), win[ly:ly + h, lx:lx + w], patch


def _photometric(pairs: list[tuple[np.ndarray, np.ndarray]], trusted: list[bool] | None = None
                 ) -> list[tuple[float, float]]:
    """Mean absolute difference (grey levels) of each anchor after one gain and offset for all anchors.

    NCC ignores brightness and contrast per anchor, so a tab drawn active in the
    reference and inactive in the frame (same text, other background) scores
    high. One gain/offset shared by all anchors still absorbs what a capture
    card does to levels, and leaves such a difference visible.
    """
    fit = [p for p, t in zip(pairs, trusted or [True] * len(pairs)) if t] or pairs
    ref = np.concatenate([r.ravel() for _, r in fit]).astype(np.float64)
    frm = np.concatenate([f.ravel() for f, _ in fit]).astype(np.float64)
    var = ref.var()
    gain = float(((ref - ref.mean()) * (frm - frm.mean())).mean() / var) if var > 1e-6 else 1.0
    gain = min(max(gain, 0.5), 2.0)
    off = float(frm.mean() - gain * ref.mean())
    out = []
    for f, r in pairs:
        diff = np.abs(f.astype(np.float32) - (gain * r.astype(np.float32) + off))
        k = max(3, min(f.shape[:2]))  # about one character
        local = cv2.blur(diff, (k, k), borderType=cv2.BORDER_REFLECT)
        out.append((float(diff.mean()), float(local.max())))
    return out


def _fit(points: list[tuple[tuple[float, float], tuple[float, float], float]], fallback_scale: float
         ) -> tuple[float, float, float]:
    """Least-squares scale and offset from (reference centre, frame centre, weight) pairs."""
    r = np.array([p[0] for p in points], dtype=np.float64)
    q = np.array([p[1] for p in points], dtype=np.float64)
    wts = np.array([p[2] for p in points], dtype=np.float64)
    rm = (r * wts[:, None]).sum(0) / wts.sum()
    qm = (q * wts[:, None]).sum(0) / wts.sum()
    rd, qd = r - rm, q - qm
    den = float((wts[:, None] * rd * rd).sum())
    if len(points) == 1 or den < FIT_SPREAD ** 2 * wts.sum():  # anchors close together: no scale from spread
        s = fallback_scale
    else:
        s = float((wts[:, None] * rd * qd).sum()) / den
    return s, float(qm[0] - s * rm[0]), float(qm[1] - s * rm[1])


# (score, scale, ox, oy, anchor scores, anchor local differences)
Verified = tuple[float, float, float, float, dict[str, float], dict[str, float]]


def _nothing(tm: "_TemplateModel", scale: float = 1.0, ox: float = 0.0, oy: float = 0.0) -> Verified:
    return 0.0, scale, ox, oy, {am.anchor.name: 0.0 for am in tm.anchors}, {}


def _verify(frame: _Frame, tm: _TemplateModel, scale: float, ox: float, oy: float,
            lead: _AnchorModel | None = None, radius: int = 4) -> Verified:
    """Refine a hypothesis with every anchor and score it.

    With `lead` (the anchor the hypothesis came from), that anchor is first
    searched finely (position and scale); the others are then searched near
    where it puts them; scale and offset are fitted to all anchor centres.
    """
    fallback = scale
    if lead is not None:
        sc, s1, cx, cy = _search(frame, lead, scale, ox, oy, radius, FINE_STEPS)
        if sc < LEAD_MIN:  # the anchor that made the hypothesis is not really there
            return sc * lead.anchor.weight / sum(am.anchor.weight for am in tm.anchors), scale, ox, oy, \
                {am.anchor.name: (round(max(sc, 0.0), 4) if am is lead else 0.0) for am in tm.anchors}, {}
        # the lead's own size gives its scale only to a step or two of FINE_STEPS: when that agrees with the
        # scale this template was last seen at, the latter is the better guess (anchors close together, or
        # some hidden, cannot fit a scale finer)
        if abs(math.log(s1 / tm.usual_scale)) <= SNAP_TO_USUAL:
            s1 = tm.usual_scale
        scale, fallback = s1, s1
        ox, oy = cx - lead.centre[0] * s1, cy - lead.centre[1] * s1
    lc = lead.centre if lead is not None else None
    pts = []
    for am in tm.anchors:
        r = 4
        if lc is not None:
            r += round(0.03 * scale * math.hypot(am.centre[0] - lc[0], am.centre[1] - lc[1]))
        sc, _, cx, cy = _search(frame, am, scale, ox, oy, r, (1.0,))
        if sc > 0.5:
            pts.append((am.centre, (cx, cy), am.anchor.weight * sc))
    if not pts:
        return _nothing(tm, scale, ox, oy)
    s, fx, fy = _fit(pts, fallback)
    # an anchor under a dialog may "find" itself on something else: drop points the others disagree with
    while len(pts) > 2:
        res = [math.hypot(q[0] - (s * r[0] + fx), q[1] - (s * r[1] + fy)) for r, q, _ in pts]
        worst = max(range(len(pts)), key=lambda i: res[i])
        if res[worst] <= FIT_OUTLIER:
            break
        pts.pop(worst)
        s, fx, fy = _fit(pts, fallback)
    if not (tm.min_scale * 0.97 <= s <= tm.max_scale * 1.03) or abs(math.log(s / fallback)) > 0.05:
        s, fx, fy = _fit(pts, fallback) if len(pts) == 1 else (fallback, ox, oy)
    elif len(pts) >= 2:
        # once more, every anchor searched close to where the fit puts it: a steadier scale
        again = []
        for am in tm.anchors:
            sc, _, cx, cy = _search(frame, am, s, fx, fy, 3, (1.0,))
            if sc > 0.5:
                again.append((am.centre, (cx, cy), am.anchor.weight * sc))
        if len(again) >= 2:
            s2, fx2, fy2 = _fit(again, s)
            if abs(math.log(s2 / s)) <= 0.03:
                s, fx, fy = s2, fx2, fy2
    # score every anchor where the fit puts it (a 1-2 px search absorbs rounding)
    found = [(am, *_score(frame, am, s, fx, fy)) for am in tm.anchors]
    pairs = [(f, r) for _, _, f, r in found if f is not None]
    # the common gain/offset comes from anchors that are plainly there (one under a dialog would skew it)
    trusted = [ncc >= PHOTO_TRUST for _, ncc, f, _ in found if f is not None]
    mads = iter(_photometric(pairs, trusted)) if pairs else iter(())
    scores: dict[str, float] = {}
    locals_: dict[str, float] = {}
    total = wsum = 0.0
    for am, ncc, f, _ in found:
        sc = ncc
        if f is not None:
            mad, local = next(mads)
            locals_[am.anchor.name] = local
            if mad > PHOTO_OK:  # same shapes, other shades: not the taught state of this screen
                sc *= max(0.0, 1.0 - (mad - PHOTO_OK) / PHOTO_SPAN)
            if local > LOCAL_OK and not (am.anchor.text and tm.text_checked):
                # one spot differs (another word in a title): unless OCR will read the anchor's text, it counts
                sc *= max(0.0, 1.0 - (local - LOCAL_OK) / LOCAL_SPAN)
        scores[am.anchor.name] = round(sc, 4)
        total += am.anchor.weight * sc
        wsum += am.anchor.weight
    return total / wsum, s, fx, fy, scores, locals_


def _fold(text: str) -> str:
    """Text for comparison: NFKC, no spaces, case-folded, look-alikes (l/I/1/|, O/0) merged."""
    import unicodedata

    t = "".join(unicodedata.normalize("NFKC", text).split()).casefold()
    return t.translate(str.maketrans({"l": "1", "i": "1", "|": "1", "o": "0", "—": "-", "–": "-"}))


def text_agrees(read: str, expected: str) -> bool:
    """Whether OCR of an anchor region says the anchor's text (a box may cut the end of the text off)."""
    import difflib

    a, b = _fold(read), _fold(expected)
    if not a:
        return False
    if a == b:
        return True
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    if len(a) < len(b):  # the box may hold only the start of a longer text
        ratio = max(ratio, difflib.SequenceMatcher(None, a, b[: len(a)]).ratio())
    return ratio >= TEXT_AGREE


class Matcher:
    """Match frames against a set of templates. Prepared patches are cached between frames.

    `best(image)` returns the best template at or above its threshold, or None;
    `match(image, template_id)` and `match_all(image)` give the full results.
    With an OCR `engine`, anchors that have a `text` are also read when the
    picture alone is not conclusive, and must say their text.
    """

    def __init__(self, templates: Iterable[Template], references: dict[str, np.ndarray] | None = None,
                 engine: "OcrEngine | None" = None) -> None:
        references = references or {}
        self._models = {t.id: _TemplateModel(t, references.get(t.id)) for t in templates}
        self.engine = engine
        for tm in self._models.values():
            tm.text_checked = engine is not None
        self._text_cache: dict[bytes, str] = {}

    @property
    def templates(self) -> list[Template]:
        return [m.template for m in self._models.values()]

    def reset(self) -> None:
        """Forget where and at what scale each template was last seen (the next match starts cold)."""
        for tm in self._models.values():
            tm.last = None
            tm.usual_scale = min(max(1.0, tm.min_scale), tm.max_scale)

    def _finish(self, search: _Search) -> MatchResult:
        result = search.result()
        if result.matched and self.engine is not None:
            self._confirm_texts(search.frame, search.tm, result, search.best[5])
            if not result.matched:
                search.tm.last = None
        result.seconds = time.perf_counter() - search.t0
        return result

    def _match(self, frame: _Frame, tm: _TemplateModel, t0: float) -> MatchResult:
        return self._finish(_Search(frame, tm, t0).run())

    def _confirm_texts(self, frame: _Frame, tm: _TemplateModel, result: MatchResult,
                       local: dict[str, float]) -> None:
        """Read the text anchors whose picture leaves room for doubt; a wrong text unmatches.

        Doubt: the anchor scores below TEXT_CHECK_BELOW, or one character-sized
        spot of it differs from the reference (LOCAL_CHECK: a changed word looks
        like that).
        """
        from qcedge.ocr_templates.preprocess import prepare_crop

        for am in tm.anchors:
            name = am.anchor.name
            if name in result.hidden:
                continue
            if not am.anchor.text or not (result.anchor_scores.get(name, 0.0) < TEXT_CHECK_BELOW
                                          or local.get(name, 0.0) > LOCAL_CHECK):
                continue
            x, y, w, h = result.box_to_frame(am.anchor.box.as_tuple())
            crop = np.ascontiguousarray(frame.raw[max(0, y):y + h, max(0, x):x + w])
            if crop.size == 0:
                continue
            key = tm.template.id.encode() + am.anchor.name.encode() + crop.tobytes()
            key = key if len(self._text_cache) < 512 else b""
            text = self._text_cache.get(key) if key else None
            if text is None:
                prepared = prepare_crop(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR))
                text = self.engine.recognize([prepared])[0].text if prepared is not None else ""
                if key:
                    self._text_cache[key] = text
            if not text_agrees(text, am.anchor.text):
                log.debug("template %s: anchor %s reads %r, expected %r", tm.template.id, am.anchor.name, text,
                          am.anchor.text)
                result.anchor_scores[am.anchor.name] = min(result.anchor_scores[am.anchor.name], 0.5)
                result.matched = False

    def match(self, image: np.ndarray, template_id: str) -> MatchResult:
        t0 = time.perf_counter()
        return self._match(_Frame(image), self._models[template_id], t0)

    def match_all(self, image: np.ndarray) -> list[MatchResult]:
        """One result per template, best score first (matched ones before unmatched)."""
        t0 = time.perf_counter()
        frame = _Frame(image)
        results = [self._match(frame, tm, t0) for tm in self._models.values()]
        return sorted(results, key=lambda r: (not r.matched, -r.score))

    def best(self, image: np.ndarray) -> MatchResult | None:
        """The best-scoring template at or above its threshold, or None.

        Templates are searched side by side: where they were on the previous
        frame first, then each one's first lead anchor over the whole frame,
        each at the usual scale first, then the scale ladder template by template,
        the most promising first; a conclusive match (score 0.95, every anchor
        0.9) ends the search for all.
        """
        t0 = time.perf_counter()
        frame = _Frame(image)
        searches = [_Search(frame, tm, t0) for tm in self._models.values()]
        results: list[MatchResult] = []

        def settle(done: _Search) -> bool:
            r = self._finish(done)
            results.append(r)
            return r.matched and (done.conclusive or done.steady)

        # the screen of the previous frame, still there and looking as it did: nothing else to search
        done = [s for s in searches if s.finished and (s.conclusive or s.steady)]
        for s in done:
            if settle(s):
                return self._pick(results, t0)
        open_ = [s for s in searches if s not in done]
        # stage 1, every template: a quick probe of its first lead at the usual scale
        for s in open_:
            s.coarse()
        open_.sort(key=lambda s: -s.peak)
        still = []
        for s in open_:
            s.verify()
            if s.finished:
                if settle(s):
                    return self._pick(results, t0)
            else:
                still.append(s)
        # then template by template, the most promising first: the scale ladder, lead by lead
        still.sort(key=lambda s: -s.prior)
        found = False
        for s in still:
            if found and s.tm.coarse:
                # a screen is found: the others keep their first lead (one of them may still fit
                # better) but a second lead, there for a hidden first one, is moot
                s.stages = [st for st in s.stages if st[0] is s.tm.coarse[0]]
            s.run()
            if settle(s):
                return self._pick(results, t0)
            found = found or (results[-1].matched and results[-1].score >= GOOD_ENOUGH)
        return self._pick(results, t0)

    @staticmethod
    def _pick(results: list[MatchResult], t0: float) -> MatchResult | None:
        hit = max((r for r in results if r.matched), key=lambda r: r.score, default=None)
        if hit is not None:
            hit.seconds = time.perf_counter() - t0
        return hit


class _Search:
    """The search for one template in one frame, in steps: warm start, then one lead anchor at a time."""

    def __init__(self, frame: _Frame, tm: _TemplateModel, t0: float) -> None:
        self.frame, self.tm, self.t0 = frame, tm, t0
        settings = tm.template.match
        self.threshold, self.floor = settings.threshold, settings.anchor_floor
        # a text anchor that no OCR will confirm has to look a little more alike
        self.floors = {am.anchor.name: self.floor + (UNREAD_TEXT_MARGIN if am.anchor.text and not tm.text_checked
                                                      else 0.0) for am in tm.anchors}
        self.good = max(self.threshold, GOOD_ENOUGH)
        self.best: Verified = _nothing(tm)
        # stages: the first lead at the usual scale (a quick probe), then each lead at every scale
        self.stages: list[tuple[_AnchorModel, list[float] | None]] = []
        if tm.coarse:
            self.stages.append((tm.coarse[0], [tm.usual_scale]))
        self.stages += [(am, None) for am in tm.coarse]
        self.pending: list[Hypothesis] = []
        self.lead: _AnchorModel | None = None
        self.warm = False
        self.prior = 0.0
        self._hidden: dict[tuple[float, float, float], dict[str, str] | None] = {}
        if tm.last is not None:  # warm start: the screen is often where it was on the previous frame
            self._offer(_verify(frame, tm, *tm.last))
            if not self._passes(self.best) or self.best[0] < self.good:
                self.best = _nothing(tm)
            else:
                self.warm = True

    def _passes(self, cand: Verified) -> bool:
        if cand[0] >= self.threshold and all(sc >= self.floors[name] for name, sc in cand[4].items()):
            return True
        return self.hidden(cand) is not None

    def hidden(self, cand: Verified) -> dict[str, str] | None:
        """The anchors this candidate may do without, when each is plainly hidden (another window over it,
        the pointer on it, outside the frame) and the visible ones place the screen on their own; else None.

        Enough visible: at least two anchors at their floor, at least 40 px apart (they
        fix offset and scale), with the visible anchors' weighted mean at the threshold. A near miss (one
        anchor says another word, a tab in another state) is not hidden: its surroundings look as taught.
        """
        score, s, ox, oy, scores, _ = cand
        key = (round(s, 5), round(ox, 2), round(oy, 2))
        if key in self._hidden:
            return self._hidden[key]
        self._hidden[key] = None
        tm = self.tm
        failing = [am for am in tm.anchors if scores.get(am.anchor.name, 0.0) < self.floors[am.anchor.name]]
        passing = [am for am in tm.anchors if am not in failing]
        if not failing or len(passing) < 2 or score <= 0.0:
            return None
        xs = [am.centre[0] for am in passing]
        ys = [am.centre[1] for am in passing]
        rh, rw = tm.ref.shape[:2]
        if max(max(xs) - min(xs), max(ys) - min(ys)) < max(40.0, HIDDEN_SPREAD * max(rw, rh)):
            return None
        wsum = sum(am.anchor.weight for am in passing)
        if sum(am.anchor.weight * scores[am.anchor.name] for am in passing) / wsum < self.threshold:
            return None
        place = covermod.placement(self.frame.raw, tm.template, s, (ox, oy), tm.ref,
                                   [am.anchor.box.as_tuple() for am in passing])
        if place is None:
            return None
        boxes = [am.anchor.box.as_tuple() for am in tm.anchors]
        pointers = covermod.search_pointers(self.frame.raw, [place.to_frame(am.anchor.box.as_tuple()) for am in failing],
                                            s)
        why: dict[str, str] = {}
        for am in failing:
            box = am.anchor.box.as_tuple()
            reason = covermod.hidden_reason(place, box, [b for b in boxes if b != box] +
                                            [f.box.as_tuple() for f in tm.template.fields], pointers, subtle=True)
            if reason is None:
                return None
            why[am.anchor.name] = reason
        self._hidden[key] = why
        return why

    def _offer(self, cand: Verified) -> None:
        if (self._passes(cand), cand[0]) > (self._passes(self.best), self.best[0]):
            self.best = cand

    @property
    def finished(self) -> bool:
        ok = self._passes(self.best)
        return (ok and self.best[0] >= self.good) or (ok and not self.pending) or \
            (not self.stages and not self.pending)

    @property
    def conclusive(self) -> bool:
        """So plainly this screen that no other template needs a look."""
        return self.best[0] >= CONCLUSIVE and min(self.best[4].values()) >= CONCLUSIVE_ANCHOR

    @property
    def steady(self) -> bool:
        """Found where it was last time, and looking as much like the template as it did then."""
        return self.warm and self.best[0] >= self.tm.last_score - STEADY_DROP

    @property
    def peak(self) -> float:
        return self.pending[0][0] if self.pending else 0.0

    def coarse(self) -> None:
        """Search the next lead anchor over the whole frame (hypotheses wait in `pending`)."""
        if not self.pending and self.stages and not self.finished:
            self.lead, scales = self.stages.pop(0)
            self.pending = _coarse(self.frame, self.tm, self.lead, scales)
            if scales is not None:  # a probe: only convincing peaks are worth verifying
                self.prior = max((h[0] for h in self.pending), default=0.0)
                self.pending = [h for h in self.pending if h[0] >= PROBE_MIN]
            elif self.pending and self.pending[0][0] >= LEAD_SEEN:
                # the lead was plainly seen: if its places do not verify, this is not the screen;
                # the next lead is only for a lead that is hidden (a dialog over the title)
                self.stages = [st for st in self.stages if st[1] is not None]

    def verify(self) -> None:
        radius = max(6, round(3 / min(1.0, COARSE_WIDTH / max(self.frame.w, 1))))
        while self.pending:
            _, s, ox, oy = self.pending.pop(0)
            self._offer(_verify(self.frame, self.tm, s, ox, oy, self.lead, radius))
            if self._passes(self.best) and self.best[0] >= self.good:
                self.pending.clear()

    def run(self) -> "_Search":
        while not self.finished:
            self.coarse()
            self.verify()
        return self

    def result(self) -> MatchResult:
        score, s, ox, oy, scores, _ = self.best
        matched = self._passes(self.best)
        hidden: dict[str, str] = {}
        if matched and not (score >= self.threshold and all(sc >= self.floors[n] for n, sc in scores.items())):
            hidden = self.hidden(self.best) or {}
            seen = [am for am in self.tm.anchors if am.anchor.name not in hidden]
            score = sum(am.anchor.weight * scores[am.anchor.name] for am in seen) / sum(am.anchor.weight for am in seen)
        self.tm.last = (s, ox, oy) if matched and not hidden else None
        if matched and not hidden:
            self.tm.usual_scale = s
            self.tm.last_score = score
        return MatchResult(template_id=self.tm.template.id, score=round(float(score), 4), matched=matched,
                           scale=round(float(s), 5), offset=(round(float(ox), 2), round(float(oy), 2)),
                           anchor_scores={k: float(v) for k, v in scores.items()},
                           seconds=time.perf_counter() - self.t0, hidden=hidden)


def match_template(image: np.ndarray, template: Template, reference: np.ndarray | None = None,
                   engine: "OcrEngine | None" = None) -> MatchResult:
    """Match one template against one frame (no caching between calls)."""
    return Matcher([template], {template.id: reference} if reference is not None else None, engine).match(
        image, template.id)
