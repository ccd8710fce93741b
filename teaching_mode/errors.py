"""The root of the teaching GUI's errors."""
from __future__ import annotations


class TeachError(Exception):
    """Base of every error raised on purpose by `teaching_mode`. Bad input also derives from ValueError."""
