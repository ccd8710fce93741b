"""Verifying a hypothesis: refine it with every anchor, fit scale and offset, and score each anchor there."""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from qcedge.ocr_templates.anchor_search import score_anchor, search_near
from qcedge.ocr_templates.match_prepared import AnchorModel, Frame, TemplateModel
from qcedge.ocr_templates.match_tuning import (FINE_STEPS, FIT_OUTLIER, FIT_SPREAD, LEAD_MIN, LOCAL_OK, LOCAL_SPAN,
                                               PHOTO_OK, PHOTO_SPAN, PHOTO_TRUST, SNAP_TO_USUAL)


class Verified(NamedTuple):
    """A template placed in a frame (frame = reference * scale + offset) and scored there."""

    score: float                    # weighted mean of the anchor scores
    scale: float
    ox: float
    oy: float
    anchor_scores: dict[str, float]
    local: dict[str, float]         # per anchor: its most different character-sized spot (grey levels)


def nothing(tm: TemplateModel, scale: float = 1.0, ox: float = 0.0, oy: float = 0.0) -> Verified:
    """A candidate that found none of the template's anchors."""
    return Verified(0.0, scale, ox, oy, {am.anchor.name: 0.0 for am in tm.anchors}, {})


def photometric(pairs: list[tuple[np.ndarray, np.ndarray]], trusted: list[bool] | None = None
                ) -> list[tuple[float, float]]:
    """Mean absolute difference (grey levels) of each anchor after one gain and offset for all anchors,
    and its largest character-sized local difference.

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


def fit_placement(points: list[tuple[tuple[float, float], tuple[float, float], float]], fallback_scale: float
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


def verify_hypothesis(frame: Frame, tm: TemplateModel, scale: float, ox: float, oy: float,
           lead: AnchorModel | None = None, radius: int = 4) -> Verified:
    """Refine a hypothesis with every anchor and score it.

    With `lead` (the anchor the hypothesis came from), that anchor is first
    searched finely (position and scale); the others are then searched near
    where it puts them; scale and offset are fitted to all anchor centres.
    """
    fallback = scale
    if lead is not None:
        sc, s1, cx, cy = search_near(frame, lead, scale, ox, oy, radius, FINE_STEPS)
        if sc < LEAD_MIN:  # the anchor that made the hypothesis is not really there
            return Verified(sc * lead.anchor.weight / sum(am.anchor.weight for am in tm.anchors), scale, ox, oy,
                            {am.anchor.name: (round(max(sc, 0.0), 4) if am is lead else 0.0) for am in tm.anchors},
                            {})
        # the lead's own size gives its scale only to a step or two of FINE_STEPS: when that agrees with the
        # scale this template was last seen at, the latter is the better guess (anchors close together, or
        # some hidden, cannot fit a scale finer)
        if abs(math.log(s1 / tm.usual_scale)) <= SNAP_TO_USUAL:
            s1 = tm.usual_scale
        scale, fallback = s1, s1
        ox, oy = cx - lead.centre[0] * s1, cy - lead.centre[1] * s1
    pts = _anchor_points(frame, tm, scale, ox, oy, 4, lead)
    if not pts:
        return nothing(tm, scale, ox, oy)
    s, fx, fy = fit_placement(pts, fallback)
    # an anchor under a dialog may "find" itself on something else: drop points the others disagree with
    while len(pts) > 2:
        res = [math.hypot(q[0] - (s * r[0] + fx), q[1] - (s * r[1] + fy)) for r, q, _ in pts]
        worst = max(range(len(pts)), key=lambda i: res[i])
        if res[worst] <= FIT_OUTLIER:
            break
        pts.pop(worst)
        s, fx, fy = fit_placement(pts, fallback)
    if not (tm.min_scale * 0.97 <= s <= tm.max_scale * 1.03) or abs(math.log(s / fallback)) > 0.05:
        s, fx, fy = fit_placement(pts, fallback) if len(pts) == 1 else (fallback, ox, oy)
    elif len(pts) >= 2:
        # once more, every anchor searched close to where the fit puts it: a steadier scale
        again = _anchor_points(frame, tm, s, fx, fy, 3)
        if len(again) >= 2:
            s2, fx2, fy2 = fit_placement(again, s)
            if abs(math.log(s2 / s)) <= 0.03:
                s, fx, fy = s2, fx2, fy2
    return _scored(frame, tm, s, fx, fy)


def _anchor_points(frame: Frame, tm: TemplateModel, scale: float, ox: float, oy: float, radius: int,
                   lead: AnchorModel | None = None) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """(reference centre, frame centre, weight) of every anchor found near where (scale, ox, oy) puts it.

    Each anchor is searched `radius` px around, plus 3 % of its distance from `lead` when given.
    """
    pts = []
    for am in tm.anchors:
        r = radius
        if lead is not None:
            r += round(0.03 * scale * math.hypot(am.centre[0] - lead.centre[0], am.centre[1] - lead.centre[1]))
        sc, _, cx, cy = search_near(frame, am, scale, ox, oy, r, (1.0,))
        if sc > 0.5:
            pts.append((am.centre, (cx, cy), am.anchor.weight * sc))
    return pts


def _scored(frame: Frame, tm: TemplateModel, s: float, fx: float, fy: float) -> Verified:
    """Every anchor scored where (s, fx, fy) puts it (a 1-2 px search absorbs rounding)."""
    found = [(am, *score_anchor(frame, am, s, fx, fy)) for am in tm.anchors]
    pairs = [(f, r) for _, _, f, r in found if f is not None]
    # the common gain/offset comes from anchors that are plainly there (one under a dialog would skew it)
    trusted = [ncc >= PHOTO_TRUST for _, ncc, f, _ in found if f is not None]
    mads = iter(photometric(pairs, trusted)) if pairs else iter(())
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
    return Verified(total / wsum, s, fx, fy, scores, locals_)
