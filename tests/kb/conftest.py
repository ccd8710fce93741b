"""Fixtures for the knowledge-base tests."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from kbtools import make_source  # noqa: E402


@pytest.fixture()
def keys(tmp_path):
    from qcedge.central.kb import generate_signing_key

    secret, public = generate_signing_key(tmp_path / "keys")
    return secret, public


@pytest.fixture()
def source(tmp_path):
    return make_source(tmp_path / "src")
