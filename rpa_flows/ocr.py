"""Text on screen through the OCR engines of ocr_templates: find a text, read a region.

The engine comes from `ocr_templates.engines.get_engine(name)`. Until the PP-OCR
engine is registered there, a small RapidOCR adapter (same interface, same
offline wheel models) stands in.
"""
from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocr_templates.engines import OcrEngine, Recognition, TextBox, get_engine

log = logging.getLogger(__name__)
_lock = threading.Lock()
_fallback: "OcrEngine | None" = None


class _RapidOcrAdapter(OcrEngine):
    """RapidOCR (PP-OCR on ONNX Runtime, models from the wheel) behind the OcrEngine interface."""

    name = "ppocr-rapidocr"

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        self._engine = RapidOCR(params={"Det.limit_type": "min", "Det.limit_side_len": 64})

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        out = []
        for crop in crops:
            r = self._engine(crop, use_det=False, use_cls=False, use_rec=True)
            txts = list(r.txts or [])
            scores = list(r.scores or [])
            out.append(Recognition(txts[0] if txts else "", float(scores[0]) if scores else 0.0))
        return out

    def detect(self, image: np.ndarray) -> list[TextBox]:
        r = self._engine(image, use_det=True, use_cls=False, use_rec=True)
        boxes = []
        if r.boxes is None:
            return boxes
        for quad, text, score in zip(r.boxes, r.txts, r.scores):
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            x0, y0 = int(min(xs)), int(min(ys))
            boxes.append(TextBox((x0, y0, int(max(xs)) - x0, int(max(ys)) - y0), text, float(score)))
        return boxes


def engine(name: str = "ppocr") -> OcrEngine:
    global _fallback
    try:
        return get_engine(name)
    except ValueError:
        if name != "ppocr":
            raise
    with _lock:
        if _fallback is None:
            log.info("ocr_templates has no 'ppocr' engine yet; using the RapidOCR adapter")
            _fallback = _RapidOcrAdapter()
        return _fallback


def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split()).lower()


def _width(s: str) -> float:
    return sum(2.0 if unicodedata.east_asian_width(c) in "WF" else 1.0 for c in s) or 1.0


@dataclass(slots=True)
class TextHit:
    box: tuple[int, int, int, int]
    line: str
    confidence: float


def find_text(image: np.ndarray, wanted: str, origin: tuple[int, int] = (0, 0), exact: bool = False,
              engine_name: str = "ppocr") -> tuple[TextHit | None, list[TextBox]]:
    """The box of `wanted` in `image` (a screen region whose top-left is `origin` on screen).

    When the text is part of a longer line, the box is narrowed to its share of
    the line (CJK characters count double width). Returns (hit or None, all lines).
    """
    lines = engine(engine_name).detect(image)
    want = _norm(wanted)
    best: TextHit | None = None
    for line in lines:
        text = _norm(line.text)
        if (exact and text != want) or (not exact and want not in text):
            continue
        x, y, w, h = line.box
        if text != want and text:
            start = text.index(want)
            total = _width(text)
            x = x + round(w * _width(text[:start]) / total)
            w = max(1, round(w * _width(want) / total))
        hit = TextHit((x + origin[0], y + origin[1], w, h), line.text, line.confidence)
        if best is None or hit.confidence > best.confidence:
            best = hit
    return best, lines


def read_crops(crops: Sequence[np.ndarray], engine_name: str = "ppocr") -> list[Recognition]:
    return engine(engine_name).recognize(list(crops))
