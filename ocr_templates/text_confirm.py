"""Confirming text anchors by OCR: an anchor whose picture leaves room for doubt must say its text."""
from __future__ import annotations

import difflib
import logging
import unicodedata
from typing import TYPE_CHECKING

import cv2
import numpy as np

from qcedge.ocr_templates.match_prepared import Frame, TemplateModel
from qcedge.ocr_templates.match_tuning import LOCAL_CHECK, TEXT_AGREE, TEXT_CHECK_BELOW
from qcedge.ocr_templates.preprocess import prepare_crop
from qcedge.ocr_templates.results import MatchResult

if TYPE_CHECKING:
    from qcedge.ocr_templates.engines.base import OcrEngine

log = logging.getLogger(__name__)

_LOOK_ALIKES = str.maketrans({"l": "1", "i": "1", "|": "1", "o": "0", "—": "-", "–": "-"})


def fold(text: str) -> str:
    """Text for comparison: NFKC, no spaces, case-folded, look-alikes (l/I/1/|, O/0) merged."""
    t = "".join(unicodedata.normalize("NFKC", text).split()).casefold()
    return t.translate(_LOOK_ALIKES)


def text_agrees(read: str, expected: str) -> bool:
    """Whether OCR of an anchor region says the anchor's text (a box may cut the end of the text off)."""
    a, b = fold(read), fold(expected)
    if not a:
        return False
    if a == b:
        return True
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    if len(a) < len(b):  # the box may hold only the start of a longer text
        ratio = max(ratio, difflib.SequenceMatcher(None, a, b[: len(a)]).ratio())
    return ratio >= TEXT_AGREE


class TextConfirmer:
    """Reads text anchors with an OCR engine; remembers what each anchor crop read (up to 512 crops)."""

    def __init__(self, engine: "OcrEngine") -> None:
        self.engine = engine
        self._cache: dict[bytes, str] = {}

    def confirm(self, frame: Frame, tm: TemplateModel, result: MatchResult, local: dict[str, float]) -> None:
        """Read the text anchors whose picture leaves room for doubt; a wrong text unmatches `result`.

        Doubt: the anchor scores below TEXT_CHECK_BELOW, or one character-sized
        spot of it differs from the reference (LOCAL_CHECK: a changed word looks
        like that).
        """
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
            text = self._read(tm.template.id, name, crop)
            if not text_agrees(text, am.anchor.text):
                log.debug("template %s: anchor %s reads %r, expected %r", tm.template.id, name, text,
                          am.anchor.text)
                result.anchor_scores[name] = min(result.anchor_scores[name], 0.5)
                result.matched = False

    def _read(self, template_id: str, anchor: str, crop: np.ndarray) -> str:
        key = template_id.encode() + anchor.encode() + crop.tobytes()
        key = key if len(self._cache) < 512 else b""
        text = self._cache.get(key) if key else None
        if text is None:
            prepared = prepare_crop(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR))
            text = self.engine.recognize([prepared])[0].text if prepared is not None else ""
            if key:
                self._cache[key] = text
        return text
