"""The OCR engine interface: recognise crops; detect and recognise a whole image."""
from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qcedge.ocr_templates.errors import UnknownEngine


@dataclass(frozen=True, slots=True)
class Recognition:
    text: str
    confidence: float


@dataclass(frozen=True, slots=True)
class TextBox:
    """A text line found in an image: axis-aligned box [x, y, w, h]."""

    box: tuple[int, int, int, int]
    text: str
    confidence: float


class OcrEngine(abc.ABC):
    """Recognition of known boxes (the hot path) and detection for teaching."""

    name: str = "engine"
    # which fields the reader reads twice (at two sizes) and marks for review when the readings
    # differ: "weak" (free text and codes without a pattern), "all", or "none"
    second_reading: str = "weak"

    @abc.abstractmethod
    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """Recognise one text line per BGR crop, in order."""

    @abc.abstractmethod
    def detect(self, image: np.ndarray) -> list[TextBox]:
        """Find and recognise every text line of a BGR image."""


_ENGINES: dict[str, type[OcrEngine]] = {}
_INSTANCES: dict[str, OcrEngine] = {}


def register(name: str):
    def deco(cls: type[OcrEngine]) -> type[OcrEngine]:
        _ENGINES[name] = cls
        cls.name = name
        return cls

    return deco


def get_engine(name: str = "ppocr") -> OcrEngine:
    """A shared engine instance by name ('ppocr' default, 'tesseract')."""
    if name not in _INSTANCES:
        import importlib

        for mod in ("qcedge.ocr_templates.engines.ppocr", "qcedge.ocr_templates.engines.tesseract"):
            try:
                importlib.import_module(mod)
            except ImportError:
                pass
        if name not in _ENGINES:
            raise UnknownEngine(f"unknown OCR engine '{name}' (known: {', '.join(sorted(_ENGINES)) or 'none'})")
        _INSTANCES[name] = _ENGINES[name]()
    return _INSTANCES[name]
