"""Fixtures for central's tests: a real PostgreSQL server (initdb/pg_ctl in a temp dir) per session,
a fresh database per test, and the feed helpers of tests/qc_client."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "qc_client"))

from qcedge.central.pg_local import LocalPostgres, PostgresMissing, find_bindir  # noqa: E402


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    try:
        find_bindir()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    with LocalPostgres.start(durable=False) as pg:  # fsync off: tests kill processes, not the machine
        yield pg


@pytest.fixture
def pg_url(postgres: LocalPostgres) -> str:
    """A new, empty database on the session's server."""
    return postgres.create_database("t_" + uuid.uuid4().hex[:12])
