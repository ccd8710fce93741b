"""Text on screen through the OCR engines of ocr_templates: find a text, read a region."""
from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qcedge.ocr_templates.engines import OcrEngine, Recognition, TextBox, get_engine

log = logging.getLogger(__name__)
_lock = threading.Lock()


def engine(name: str = "ppocr") -> OcrEngine:
    """The shared engine instance of ocr_templates (loaded once per process)."""
    with _lock:
        return get_engine(name)


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
