"""The root of central's errors (stores, statistics, review, the dashboard)."""
from __future__ import annotations


class CentralError(Exception):
    """Base of every error raised on purpose by `central`. Bad input also derives from ValueError."""


class StoreUnavailable(CentralError, RuntimeError):
    """The store cannot be opened: PostgreSQL not reachable (one line, no password), or psycopg missing."""
