"""Typed values as JSON (records, `--json` output): no numpy import needed to convert numpy numbers."""
from __future__ import annotations

from typing import Any


def jsonable(value: Any) -> Any:
    """Dates and times as ISO strings, numpy numbers as plain ones, inside lists, tuples and dicts too."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value
