"""Every error class of teaching_mode derives from TeachError and is of one kind (bad input or failed operation)."""
from __future__ import annotations

from tests.errors_check import problems


def test_errors_of_teaching_mode_derive_from_its_root():
    assert problems("teaching_mode") == []
