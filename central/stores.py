"""Open central's store from what a person types after --db: a SQLite file or a PostgreSQL URL."""
from __future__ import annotations

import re

from qcedge.central.errors import StoreUnavailable
from qcedge.qc_client.store import CentralStore, Store
from qcedge.qc_client.store_schema import SchemaError

__all__ = ["open_store", "is_postgres", "SchemaError", "StoreUnavailable"]


def is_postgres(target: str) -> bool:
    """postgresql://..., postgres://..., or a libpq keyword string (host=... dbname=...)."""
    return target.startswith(("postgresql://", "postgres://")) or bool(re.match(r"^\s*\w+\s*=", target))


def open_store(target: str, *, synchronous: str = "FULL") -> Store:
    """The store named by `target`; raises SchemaError (a schema this qcedge cannot use) or StoreUnavailable."""
    if not is_postgres(target):
        return CentralStore(target, synchronous=synchronous)
    try:
        from qcedge.central import pg_store
    except ImportError as exc:  # psycopg is in the `central` extra
        raise StoreUnavailable(f"PostgreSQL needs psycopg (pip install 'qcedge[central]'): {exc}") from None
    return pg_store.PostgresStore(target)
