"""Values derived from a record for statistics: capture time, technologist, protocol, CTDIvol, DLP.

Both central stores (qc_client.store.CentralStore, central.pg_store.PostgresStore) keep them in
columns of their own, so statistics need not parse the bodies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

TECHNOLOGIST_FIELDS = ("technologist", "operator", "radiographer")
PROTOCOL_FIELDS = ("protocol", "body_part", "bodypart", "exam", "scan_protocol")


@dataclass(frozen=True)
class Derived:
    """Values taken from a record for statistics (None when the record has no valid one)."""

    captured_ts: float | None
    technologist: str | None
    protocol: str | None
    ctdivol: float | None  # mGy: the field `ctdivol`, else the highest valid `ctdivol` of a table's rows
    dlp: float | None      # mGy·cm: `total_dlp`, else `dlp`, else the sum of a table's valid `dlp` column


def _field(fields: dict, name: str):
    if name in fields:
        return fields[name]
    low = name.lower()
    return next((v for k, v in fields.items() if k.lower() == low), None)


def _num(fv) -> float | None:
    if fv is None or not fv.valid or isinstance(fv.value, bool):
        return None
    value = fv.value
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _text(fields: dict, names: Sequence[str]) -> str | None:
    for name in names:
        fv = _field(fields, name)
        if fv is not None and fv.valid and isinstance(fv.value, str) and fv.value.strip():
            return clean_text(fv.value.strip()[:200])
    return None


def _column(fields: dict, column: str) -> list[float | None]:
    out: list[float | None] = []
    for fv in fields.values():
        for row in fv.rows or ():
            cell = _field(row, column)
            if cell is not None:
                out.append(_num(cell))
    return out


def clean_text(value: str | None) -> str | None:
    """A value for a derived text column: NUL (which PostgreSQL text refuses) becomes U+FFFD.
    The record's body keeps the original (as a JSON escape)."""
    return value.replace("\0", "\ufffd") if value is not None and "\0" in value else value


def derive(record: Any) -> Derived:
    """The statistics values of a record (see Derived)."""
    fields = record.fields
    try:
        ts = record.captured_at.timestamp()
    except (OverflowError, OSError, ValueError):
        ts = None
    ctdivol = _num(_field(fields, "ctdivol"))
    if ctdivol is None:
        rows = [v for v in _column(fields, "ctdivol") if v is not None]
        ctdivol = max(rows) if rows else None
    dlp = _num(_field(fields, "total_dlp"))
    if dlp is None:
        dlp = _num(_field(fields, "dlp"))
    if dlp is None:
        rows = _column(fields, "dlp")
        dlp = sum(rows) if rows and all(v is not None for v in rows) else None  # type: ignore[arg-type]
    return Derived(captured_ts=ts, technologist=_text(fields, TECHNOLOGIST_FIELDS),
                   protocol=_text(fields, PROTOCOL_FIELDS), ctdivol=ctdivol, dlp=dlp)

