"""OCR engines behind one small interface."""
from qcedge.ocr_templates.engines.base import OcrEngine, Recognition, TextBox, get_engine

__all__ = ["OcrEngine", "Recognition", "TextBox", "get_engine"]
