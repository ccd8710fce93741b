"""The search for one template in one frame, in steps: warm start, then one lead anchor at a time.

`Matcher` drives several of these side by side and stops at a conclusive match.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

from qcedge.ocr_templates import cover as covermod
from qcedge.ocr_templates.anchor_search import Hypothesis, coarse_hypotheses
from qcedge.ocr_templates.match_prepared import AnchorModel, Frame, TemplateModel
from qcedge.ocr_templates.match_tuning import (CONCLUSIVE, CONCLUSIVE_ANCHOR, COARSE_WIDTH, GOOD_ENOUGH,
                                               HIDDEN_SPREAD, LEAD_SEEN, PROBE_MIN, STEADY_DROP, UNREAD_TEXT_MARGIN)
from qcedge.ocr_templates.match_verify import Verified, nothing, verify_hypothesis
from qcedge.ocr_templates.results import MatchResult


@dataclass
class SearchCounts:
    """What searches have done so far (a Matcher keeps one: tests and benchmarks read it)."""

    warm_starts: int = 0       # templates found where the previous frame had them, before any other search
    frame_searches: int = 0    # searches of a lead anchor over the whole frame


class Stage(NamedTuple):
    """One whole-frame search: a lead anchor at `scales` (None: the template's whole scale ladder)."""

    lead: AnchorModel
    scales: list[float] | None


class TemplateSearch:
    """The search for one template in one frame, in steps: warm start, then one lead anchor at a time."""

    def __init__(self, frame: Frame, tm: TemplateModel, t0: float, counts: SearchCounts | None = None) -> None:
        self.frame, self.tm, self.t0 = frame, tm, t0
        self.counts = counts if counts is not None else SearchCounts()
        settings = tm.template.match
        self.threshold, self.floor = settings.threshold, settings.anchor_floor
        # a text anchor that no OCR will confirm has to look a little more alike
        self.floors = {am.anchor.name: self.floor + (UNREAD_TEXT_MARGIN if am.anchor.text and not tm.text_checked
                                                      else 0.0) for am in tm.anchors}
        self.good = max(self.threshold, GOOD_ENOUGH)
        self.best: Verified = nothing(tm)
        # stages: the first lead at the usual scale (a quick probe), then each lead at every scale
        self.stages: list[Stage] = []
        if tm.coarse:
            self.stages.append(Stage(tm.coarse[0], [tm.usual_scale]))
        self.stages += [Stage(am, None) for am in tm.coarse]
        self.pending: list[Hypothesis] = []
        self.lead: AnchorModel | None = None
        self.warm = False
        self.prior = 0.0
        self._hidden: dict[tuple[float, float, float], dict[str, str] | None] = {}
        if tm.last is not None:  # warm start: the screen is often where it was on the previous frame
            self._offer(verify_hypothesis(frame, tm, *tm.last))
            if not self._passes(self.best) or self.best.score < self.good:
                self.best = nothing(tm)
            else:
                self.warm = True
                self.counts.warm_starts += 1

    def _passes(self, cand: Verified) -> bool:
        if cand.score >= self.threshold and all(sc >= self.floors[name] for name, sc in cand.anchor_scores.items()):
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
        pointers = covermod.search_pointers(self.frame.raw,
                                            [place.to_frame(am.anchor.box.as_tuple()) for am in failing], s)
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
        if (self._passes(cand), cand.score) > (self._passes(self.best), self.best.score):
            self.best = cand

    @property
    def finished(self) -> bool:
        ok = self._passes(self.best)
        return (ok and self.best.score >= self.good) or (ok and not self.pending) or \
            (not self.stages and not self.pending)

    @property
    def conclusive(self) -> bool:
        """So plainly this screen that no other template needs a look."""
        return self.best.score >= CONCLUSIVE and min(self.best.anchor_scores.values()) >= CONCLUSIVE_ANCHOR

    @property
    def steady(self) -> bool:
        """Found where it was last time, and looking as much like the template as it did then."""
        return self.warm and self.best.score >= self.tm.last_score - STEADY_DROP

    @property
    def peak(self) -> float:
        """The best coarse peak waiting to be verified (0 when none waits)."""
        return self.pending[0].score if self.pending else 0.0

    def keep_first_lead(self) -> None:
        """Drop the stages of a second lead (there for a hidden first one)."""
        if self.tm.coarse:
            self.stages = [st for st in self.stages if st.lead is self.tm.coarse[0]]

    def coarse(self) -> None:
        """Search the next lead anchor over the whole frame (hypotheses wait in `pending`)."""
        if not self.pending and self.stages and not self.finished:
            self.lead, scales = self.stages.pop(0)
            self.counts.frame_searches += 1
            self.pending = coarse_hypotheses(self.frame, self.tm, self.lead, scales)
            if scales is not None:  # a probe: only convincing peaks are worth verifying
                self.prior = max((h.score for h in self.pending), default=0.0)
                self.pending = [h for h in self.pending if h.score >= PROBE_MIN]
            elif self.pending and self.pending[0].score >= LEAD_SEEN:
                # the lead was plainly seen: if its places do not verify, this is not the screen;
                # the next lead is only for a lead that is hidden (a dialog over the title)
                self.stages = [st for st in self.stages if st.scales is not None]

    def verify(self) -> None:
        """Verify the pending hypotheses, best first, until one is good enough."""
        radius = max(6, round(3 / min(1.0, COARSE_WIDTH / max(self.frame.w, 1))))
        while self.pending:
            _, s, ox, oy = self.pending.pop(0)
            self._offer(verify_hypothesis(self.frame, self.tm, s, ox, oy, self.lead, radius))
            if self._passes(self.best) and self.best.score >= self.good:
                self.pending.clear()

    def run(self) -> "TemplateSearch":
        """Search lead by lead until finished."""
        while not self.finished:
            self.coarse()
            self.verify()
        return self

    def result(self) -> MatchResult:
        """The best candidate as a MatchResult; remembers where a clean match was (the next warm start)."""
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
