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

The jobs live in their own modules: `match_prepared` (templates and frames
prepared once), `anchor_search` (one anchor: coarse, fine, scored),
`match_verify` (a hypothesis refined, fitted and scored), `text_confirm`
(text anchors read by OCR), `template_search` (the steps for one template),
`match_tuning` (the numbers); this module drives them (`Matcher`).
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from qcedge.ocr_templates.match_prepared import Frame, TemplateModel
from qcedge.ocr_templates.match_tuning import GOOD_ENOUGH
from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.results import MatchResult
from qcedge.ocr_templates.template_search import SearchCounts, TemplateSearch
from qcedge.ocr_templates.text_confirm import TextConfirmer, text_agrees

if TYPE_CHECKING:
    from qcedge.ocr_templates.engines.base import OcrEngine

__all__ = ["Matcher", "SearchCounts", "match_template", "text_agrees"]


class Matcher:
    """Match frames against a set of templates. Prepared patches are cached between frames.

    `best(image)` returns the best template at or above its threshold, or None;
    `match(image, template_id)` and `match_all(image)` give the full results.
    With an OCR `engine`, anchors that have a `text` are also read when the
    picture alone is not conclusive, and must say their text. `counts` says
    how often a template was found by its warm start and how many whole-frame
    searches ran.
    """

    def __init__(self, templates: Iterable[Template], references: dict[str, np.ndarray] | None = None,
                 engine: "OcrEngine | None" = None) -> None:
        references = references or {}
        self._models = {t.id: TemplateModel(t, references.get(t.id)) for t in templates}
        self.engine = engine
        for tm in self._models.values():
            tm.text_checked = engine is not None
        self._texts = TextConfirmer(engine) if engine is not None else None
        self.counts = SearchCounts()

    @property
    def templates(self) -> list[Template]:
        return [m.template for m in self._models.values()]

    def reset(self) -> None:
        """Forget where and at what scale each template was last seen (the next match starts cold)."""
        for tm in self._models.values():
            tm.forget()

    def _search(self, frame: Frame, tm: TemplateModel, t0: float) -> TemplateSearch:
        return TemplateSearch(frame, tm, t0, self.counts)

    def _finish(self, search: TemplateSearch) -> MatchResult:
        result = search.result()
        if result.matched and self._texts is not None:
            self._texts.confirm(search.frame, search.tm, result, search.best.local)
            if not result.matched:
                search.tm.last = None
        result.seconds = time.perf_counter() - search.t0
        return result

    def _match(self, frame: Frame, tm: TemplateModel, t0: float) -> MatchResult:
        return self._finish(self._search(frame, tm, t0).run())

    def match(self, image: np.ndarray, template_id: str) -> MatchResult:
        t0 = time.perf_counter()
        return self._match(Frame(image), self._models[template_id], t0)

    def match_all(self, image: np.ndarray) -> list[MatchResult]:
        """One result per template, best score first (matched ones before unmatched)."""
        t0 = time.perf_counter()
        frame = Frame(image)
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
        frame = Frame(image)
        searches = [self._search(frame, tm, t0) for tm in self._models.values()]
        results: list[MatchResult] = []

        def decides(done: TemplateSearch) -> bool:
            """Finish a search; True when its match decides the frame (no other template need be tried)."""
            r = self._finish(done)
            results.append(r)
            return r.matched and (done.conclusive or done.steady)

        # the screen of the previous frame, still there and looking as it did: nothing else to search
        done = [s for s in searches if s.finished and (s.conclusive or s.steady)]
        for s in done:
            if decides(s):
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
                if decides(s):
                    return self._pick(results, t0)
            else:
                still.append(s)
        # then template by template, the most promising first: the scale ladder, lead by lead
        still.sort(key=lambda s: -s.prior)
        found = False
        for s in still:
            if found:
                # a screen is found: the others keep their first lead (one of them may still fit
                # better) but a second lead, there for a hidden first one, is moot
                s.keep_first_lead()
            s.run()
            if decides(s):
                return self._pick(results, t0)
            found = found or (results[-1].matched and results[-1].score >= GOOD_ENOUGH)
        return self._pick(results, t0)

    @staticmethod
    def _pick(results: list[MatchResult], t0: float) -> MatchResult | None:
        hit = max((r for r in results if r.matched), key=lambda r: r.score, default=None)
        if hit is not None:
            hit.seconds = time.perf_counter() - t0
        return hit


def match_template(image: np.ndarray, template: Template, reference: np.ndarray | None = None,
                   engine: "OcrEngine | None" = None) -> MatchResult:
    """Match one template against one frame (no caching between calls)."""
    return Matcher([template], {template.id: reference} if reference is not None else None, engine).match(
        image, template.id)
