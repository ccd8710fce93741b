"""Errors of templates and OCR: files that name the place and the problem, engines that cannot run."""
from __future__ import annotations


class OcrError(Exception):
    """Base of every error raised on purpose by `ocr_templates`."""


class EngineUnavailable(OcrError, RuntimeError):
    """An OCR engine that cannot run here (its package or its model files are missing)."""


class UnknownEngine(OcrError, ValueError):
    """An OCR engine name no engine answers to (a setting a person can fix)."""


class TemplateError(OcrError, ValueError):
    """A template file that cannot be used. `str()` is the message for a person."""

    def __init__(self, path: str, problem: str, where: str | None = None) -> None:
        self.path, self.where, self.problem = str(path), where, problem
        place = f" ({where})" if where else ""
        super().__init__(f"{self.path}{place}: {problem}")
