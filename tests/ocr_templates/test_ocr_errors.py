"""The errors of ocr_templates: one root (OcrError), two kinds, each class defined once."""
from __future__ import annotations

import pytest

from tests.errors_check import problems


def test_errors_of_ocr_templates_derive_from_its_root():
    assert problems("ocr_templates") == []


def test_engines_raise_the_one_engine_unavailable():
    from qcedge.ocr_templates import EngineUnavailable, OcrError
    from qcedge.ocr_templates.engines import ppocr, tesseract

    assert ppocr.EngineUnavailable is EngineUnavailable and tesseract.EngineUnavailable is EngineUnavailable
    assert issubclass(EngineUnavailable, OcrError) and not issubclass(EngineUnavailable, ValueError)


def test_unknown_engine_is_bad_input():
    from qcedge.errors import BAD_INPUT, exit_code
    from qcedge.ocr_templates import OcrError, get_engine

    with pytest.raises(OcrError, match="unknown OCR engine 'nope'") as info:
        get_engine("nope")
    assert isinstance(info.value, ValueError) and exit_code(info.value) == BAD_INPUT
