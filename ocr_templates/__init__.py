"""Templates of legacy screens: model and file format, matching, OCR engines, field parsing.

Works on a still image with no screen, no Qt and no network.
"""
from qcedge.ocr_templates.errors import TemplateError
from qcedge.ocr_templates.loader import dump_template, load_template, load_templates, parse_template, save_template
from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.results import CheckResult, FieldResult, MatchResult, ScreenReading

__all__ = [
    "CheckResult", "FieldResult", "MatchResult", "ScreenReading", "Template", "TemplateError",
    "dump_template", "load_template", "load_templates", "parse_template", "save_template",
]
