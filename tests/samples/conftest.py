"""Fixtures for the samples tests: a small generated set in a temporary folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from samples.generate import generate

SMALL = {"count": 1, "foreign_count": 1}


@pytest.fixture(scope="session")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One instance of every kind in every variant, one of each foreign screen (no recording)."""
    out = tmp_path_factory.mktemp("samples_small")
    generate(out, quiet=True, **SMALL)
    return out
