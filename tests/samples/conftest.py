"""Fixtures for the samples tests: a small generated set, made twice (in this process and in another)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from samples.generate import generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def small_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One instance of every kind in every variant and one of each foreign screen (no recording),
    generated here and, at the same time, by `python -m samples.generate` in another process."""
    here = tmp_path_factory.mktemp("samples_small")
    there = tmp_path_factory.mktemp("samples_small_cli")
    proc = subprocess.Popen([sys.executable, "-m", "samples.generate", "--out", str(there), "--count", "1",
                             "--foreign-count", "1", "--quiet", "--no-recording"], cwd=ROOT)
    try:
        generate(here, count=1, foreign_count=1, quiet=True)
    finally:
        assert proc.wait(timeout=300) == 0
    return here, there


@pytest.fixture(scope="session")
def small_set(small_sets: tuple[Path, Path]) -> Path:
    return small_sets[0]
