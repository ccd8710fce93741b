"""Errors of the frame sources. `str()` of each is a message for a person."""
from __future__ import annotations


class CaptureError(Exception):
    """Base of every error raised on purpose by `capture`."""


class SourceError(CaptureError):
    """A source that cannot be opened or read (device gone, stream down, display unreachable)."""


class SourceSpecError(SourceError, ValueError):
    """A source spec (or a file or folder it names) that cannot be used as given: bad input."""


class NotAnImageError(SourceSpecError):
    """A DICOM file that holds no pixel data to show (a structured report, a dose sheet)."""
