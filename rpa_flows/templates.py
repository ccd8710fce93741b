"""Find a taught template (ocr_templates) on the screen: where it is, and where its fields are.

Uses the shared `qcedge.ocr_templates.Matcher` (scale and offset, warm start);
if it is missing or fails, locates each anchor patch of the reference image with
rpa_flows.locate (same scale) and takes the offset they agree on.
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from qcedge.ocr_templates import MatchResult, Template, load_template
from qcedge.ocr_templates.preprocess import to_grey
from qcedge.rpa_flows.locate import find_image

log = logging.getLogger(__name__)

AGREE_PX = 4  # anchors must agree on the offset within this many pixels


@lru_cache(maxsize=64)
def _template(path: str, mtime: float) -> Template:
    return load_template(path)


def get_template(path: str | Path) -> Template:
    p = Path(path)
    return _template(str(p), p.stat().st_mtime)


@lru_cache(maxsize=64)
def _reference(path: str, mtime: float) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read template reference image {path}")
    return img


def reference_image(template: Template) -> np.ndarray:
    p = template.reference_path
    if p is None:
        raise FileNotFoundError(f"template '{template.id}' has no reference image path")
    return _reference(str(p), p.stat().st_mtime)


_matchers: dict[tuple[str, float], object] = {}


def _shared_matcher(template: Template):
    """ocr_templates' Matcher for this template (kept: it starts where the screen was last time)."""
    try:
        from qcedge.ocr_templates import Matcher
    except ImportError:
        return None
    p = template.path
    key = (str(p), p.stat().st_mtime if p is not None and p.exists() else 0.0)
    if key not in _matchers:
        _matchers[key] = Matcher([template])
    return _matchers[key]


def match_on_screen(screen: np.ndarray, template: Template, threshold: float | None = None,
                    hints: dict | None = None, gray_screen: np.ndarray | None = None) -> MatchResult:
    """Where `template` sits on `screen` (MatchResult.matched, score, offset, scale)."""
    shared = _shared_matcher(template)
    if shared is not None:
        try:
            result = shared.match(screen, template.id)
            if threshold is not None:
                result.matched = result.score >= threshold
            return result
        except Exception as exc:  # noqa: BLE001 - the fallback below still answers
            log.warning("shared template matcher failed (%s); using the flow player's anchor matcher", exc)
    return match_anchors(screen, template, threshold, hints, gray_screen)


def match_anchors(screen: np.ndarray, template: Template, threshold: float | None = None,
                  hints: dict | None = None, gray_screen: np.ndarray | None = None) -> MatchResult:
    """Each anchor patch found on the screen (near its last place first, when `hints` holds it)."""
    t0 = time.perf_counter()
    ref = to_grey(reference_image(template))
    need = threshold if threshold is not None else template.match.threshold
    scores: dict[str, float] = {}
    offsets: list[tuple[int, int]] = []
    weights: list[float] = []
    for anchor in template.anchors:
        x, y, w, h = anchor.box.as_tuple()
        patch = ref[y:y + h, x:x + w]
        key = (template.id, anchor.name)
        m = find_image(screen, patch, threshold=need, hint=hints.get(key) if hints is not None else None,
                       gray_screen=gray_screen)
        if hints is not None and m.found:
            hints[key] = m.box
        scores[anchor.name] = round(m.score, 4)
        offsets.append((m.box[0] - x, m.box[1] - y))
        weights.append(anchor.weight)
    score = float(np.average(list(scores.values()), weights=weights)) if scores else 0.0
    ox, oy = offsets[0] if offsets else (0, 0)
    agree = all(abs(o[0] - ox) <= AGREE_PX and abs(o[1] - oy) <= AGREE_PX for o in offsets)
    matched = agree and all(s >= need for s in scores.values())
    return MatchResult(template_id=template.id, score=score if agree else min(score, 0.0), matched=matched,
                       scale=1.0, offset=(float(ox), float(oy)), anchor_scores=scores,
                       seconds=time.perf_counter() - t0)


def field_box(template: Template, name: str) -> tuple[int, int, int, int]:
    return template.field(name).box.as_tuple()
