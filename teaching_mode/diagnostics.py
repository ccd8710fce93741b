"""Why a template matched a frame or not, anchor by anchor; and which anchors are weak (no Qt here)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.preprocess import to_grey
from qcedge.ocr_templates.results import MatchResult

log = logging.getLogger(__name__)

MIN_ANCHOR_SIDE = 12       # an anchor thinner than this (px) holds too little to be found reliably
MIN_ANCHOR_AREA = 600      # ... or smaller than this
EDGE_MARGIN = 3            # an anchor this close to the frame's border may be cut off when the window moves
ALSO_ON = 0.9              # an anchor that matches another template's reference this well is not distinctive


@dataclass
class AnchorStatus:
    """One anchor on one frame: its score, the floor it must reach, and why it failed."""

    name: str
    score: float
    floor: float
    outside: bool = False
    box: tuple[int, int, int, int] | None = None   # where it sits on the frame
    hidden: str | None = None   # the matcher left it out (covered, outside the frame): not counted

    @property
    def failed(self) -> bool:
        return self.hidden is None and (self.outside or self.score < self.floor)

    def reason(self) -> str:
        if self.hidden is not None:
            return f"{self.hidden} (not counted)"
        if self.outside:
            return "outside the frame"
        if self.score < self.floor:
            return f"{self.score:.2f} < {self.floor:.2f}"
        return f"{self.score:.2f}"


@dataclass
class MatchReport:
    """A match explained: the score against the threshold, every anchor's status."""

    template_id: str
    matched: bool
    score: float
    threshold: float
    anchors: list[AnchorStatus] = field(default_factory=list)

    @property
    def failing(self) -> list[AnchorStatus]:
        return [a for a in self.anchors if a.failed]

    def summary(self) -> str:
        """One line: 'no match: score 0.66 < 0.80; title_bar outside the frame, toolbar 0.41 < 0.70'."""
        head = ("match" if self.matched else "no match") + f": score {self.score:.2f}"
        if not self.matched and self.score < self.threshold:
            head += f" < {self.threshold:.2f}"
        bad = self.failing
        if bad:
            head += "; " + ", ".join(f"{a.name} {a.reason()}" for a in bad)
        unseen = [a for a in self.anchors if a.hidden is not None]
        if unseen:
            head += "; not seen: " + ", ".join(f"{a.name} ({a.hidden})" for a in unseen)
        elif not self.matched and not unseen:
            head += "; every anchor reached its floor, but the weighted mean did not reach the threshold" \
                if self.score < self.threshold else "; an anchor's text did not read as taught"
        return head

    def details(self) -> list[str]:
        """One line per anchor, failing ones marked."""
        return [("✗ " if a.failed else "✓ ") + f"{a.name}: {a.reason()}" for a in self.anchors]


def explain(template: Template, match: MatchResult, frame_shape: tuple[int, ...]) -> MatchReport:
    """Every anchor's score on the frame, whether it fell outside the frame, and the floors."""
    H, W = frame_shape[:2]
    floor = template.match.anchor_floor
    report = MatchReport(template.id, match.matched, match.score, template.match.threshold)
    for anchor in template.anchors:
        x, y, w, h = match.box_to_frame(anchor.box.as_tuple())
        outside = x < 0 or y < 0 or x + w > W or y + h > H
        hidden = getattr(match, "hidden", None) or {}
        why = hidden.get(anchor.name)
        if why is not None and outside and "outside" not in str(why):
            why = f"{why}, outside the frame"
        report.anchors.append(AnchorStatus(anchor.name, float(match.anchor_scores.get(anchor.name, 0.0)), floor,
                                           outside, (x, y, w, h), None if why is None else str(why)))
    return report


def anchor_warnings(anchors: list[dict], reference: np.ndarray | None,
                    others: dict[str, np.ndarray] | None = None) -> dict[str, list[str]]:
    """Weak anchors: too small, at the edge of the frame or along a window border, or also found on
    another template's reference (not distinctive within the pack). Keys: anchor names."""
    out: dict[str, list[str]] = {}
    if reference is None:
        return out
    g = to_grey(reference)
    H, W = g.shape
    greys = {tid: to_grey(img) for tid, img in (others or {}).items() if img is not None}
    for a in anchors:
        x, y, w, h = (int(v) for v in a["box"])
        notes: list[str] = []
        if min(w, h) < MIN_ANCHOR_SIDE or w * h < MIN_ANCHOR_AREA:
            notes.append("too small to be found reliably")
        if x < EDGE_MARGIN or y < EDGE_MARGIN or x + w > W - EDGE_MARGIN or y + h > H - EDGE_MARGIN:
            notes.append("at the edge of the frame: a window moved to the screen's edge cuts it off")
        patch = g[max(0, y):y + h, max(0, x):x + w]
        if _near_window_edge(g, (x, y, w, h)):
            notes.append("crosses a window edge: what is beside the window changes when it moves")
        if patch.size and float(patch.std()) < 6.0:
            notes.append("nearly plain: nothing to recognise")
        for tid, other in greys.items():
            if other.shape[0] >= patch.shape[0] and other.shape[1] >= patch.shape[1] and patch.size and patch.std() > 0:
                score = float(cv2.minMaxLoc(cv2.matchTemplate(other, patch, cv2.TM_CCOEFF_NORMED))[1])
                if score >= ALSO_ON:
                    notes.append(f"also on template {tid} ({score:.2f}): not distinctive in the pack")
        if notes:
            out[a["name"]] = notes
    return out


def _near_window_edge(g: np.ndarray, box: tuple[int, int, int, int], band: int = 6) -> bool:
    """A window's edge across the anchor: a step (not a thin line) between two different
    backgrounds, straight over 2.5 times the anchor's side, running on past it one way or the other."""
    H, W = g.shape
    x, y, w, h = box
    p = g.astype(np.int16)

    def step(a: np.ndarray, b: np.ndarray) -> bool:
        return a.size > 0 and a.shape == b.shape and (np.abs(a - b) > 40).mean() > 0.9

    for xs in (slice(max(0, x - int(1.5 * w)), min(W, x + w)), slice(max(0, x), min(W, x + int(2.5 * w)))):
        if xs.stop - xs.start < 2.4 * w:
            continue
        for r in range(max(band, y + 2), min(H - band, y + h - 1)):
            if step(np.median(p[r - band:r, xs], axis=0), np.median(p[r:r + band, xs], axis=0)):
                return True
    for ys in (slice(max(0, y - int(1.5 * h)), min(H, y + h)), slice(max(0, y), min(H, y + int(2.5 * h)))):
        if ys.stop - ys.start < 2.4 * h:
            continue
        for c in range(max(band, x + 2), min(W - band, x + w - 1)):
            if step(np.median(p[ys, c - band:c], axis=1), np.median(p[ys, c:c + band], axis=1)):
                return True
    return False


def pack_references(path: Path | None, own_id: str) -> dict[str, np.ndarray]:
    """The reference images of the other templates beside a template file (its pack), by template id."""
    from qcedge.ocr_templates.loader import load_template
    from qcedge.teaching_mode.draft import read_image

    out: dict[str, np.ndarray] = {}
    if path is None or not path.parent.is_dir():
        return out
    for p in sorted(path.parent.glob("*.y*ml")):
        if p.name == "pack.yaml" or p.resolve() == path.resolve():
            continue
        try:
            t = load_template(p)
            if t.id != own_id and t.reference_path is not None and t.reference_path.is_file():
                out[t.id] = read_image(t.reference_path)
        except Exception as exc:  # noqa: BLE001 - a broken neighbour is not this template's problem
            log.debug("pack neighbour %s left out: %s", p.name, exc)
    return out
