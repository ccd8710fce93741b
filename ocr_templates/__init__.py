"""Templates of legacy screens: model and file format, matching, OCR engines, field parsing.

Works on a still image with no screen, no Qt and no network. `Matcher`, `match_template`,
`ScreenReader`, `read_screen`, `get_engine` and `OcrEngine` load OpenCV and are imported on
first use, so `import qcedge.ocr_templates` stays light.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from qcedge.ocr_templates.errors import EngineUnavailable, OcrError, TemplateError, UnknownEngine
from qcedge.ocr_templates.loader import dump_template, load_template, load_templates, parse_template, save_template
from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.results import CheckResult, FieldResult, MatchResult, ScreenReading

if TYPE_CHECKING:
    from qcedge.ocr_templates.engines.base import OcrEngine, get_engine
    from qcedge.ocr_templates.match import Matcher, match_template
    from qcedge.ocr_templates.read import read_screen
    from qcedge.ocr_templates.reader import ScreenReader

_LAZY = {
    "Matcher": "qcedge.ocr_templates.match",
    "match_template": "qcedge.ocr_templates.match",
    "ScreenReader": "qcedge.ocr_templates.reader",
    "read_screen": "qcedge.ocr_templates.read",
    "get_engine": "qcedge.ocr_templates.engines.base",
    "OcrEngine": "qcedge.ocr_templates.engines.base",
}

__all__ = [
    "CheckResult", "EngineUnavailable", "FieldResult", "MatchResult", "Matcher", "OcrEngine", "OcrError",
    "ScreenReader", "ScreenReading", "Template", "TemplateError", "UnknownEngine", "dump_template",
    "get_engine", "load_template", "load_templates", "match_template", "parse_template", "read_screen",
    "save_template",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
