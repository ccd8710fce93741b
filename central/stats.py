"""Statistics over central's archive: records, needs-review rate, findings by rule and level, dose
distributions (median and 75th percentile of CTDIvol and DLP per protocol) against the reference
levels the rules name.

Works on both stores (`Store.query`, `Store.dialect`): PostgreSQL computes the percentiles
(percentile_cont), SQLite hands the values to Python (the same linear interpolation). Every query
is bounded by the capture time (`captured_ts`, indexed) and grouped in the database.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from qcedge.central.errors import CentralError
from qcedge.qc_client.rules import RuleSet
from qcedge.qc_client.store import Store

# dimension name -> column of `records` (hospital is the record's site)
DIMENSIONS = {"site": "site", "hospital": "site", "station": "station", "modality": "modality",
              "template": "template", "technologist": "technologist", "protocol": "protocol"}
_IN_FEEDBACK = {"site", "station", "modality", "template"}  # columns the feedback table carries itself
TABLES = ("groups", "findings", "doses")


class StatsError(CentralError, ValueError):
    """A query that cannot be answered as asked (unknown dimension, empty range)."""


@dataclass
class StatsQuery:
    """A time range [since, until) (epoch seconds), dimensions to group by, and equality filters."""

    since: float
    until: float
    by: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.since) and math.isfinite(self.until)) or self.until <= self.since:
            raise StatsError("the time range is empty: 'to' must be after 'from'")
        for name in [*self.by, *self.filters]:
            if name not in DIMENSIONS:
                raise StatsError(f"unknown dimension {name!r} (one of {', '.join(sorted(DIMENSIONS))})")
        cols = [DIMENSIONS[b] for b in self.by]
        if len(set(cols)) != len(cols):
            raise StatsError("a dimension is named twice")

    @property
    def columns(self) -> list[str]:
        return [DIMENSIONS[b] for b in self.by]


def parse_time(text: str) -> float:
    """ISO date or date-time -> epoch seconds; without an offset it is UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise StatsError(f"{text!r} is not a date (2025-01-31) or date-time (2025-01-31T08:00+08:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    pos = p * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


class _Sql:
    def __init__(self, store: Store, q: StatsQuery) -> None:
        self.store = store
        self.q = q
        self.ph = "%s" if store.dialect == "postgresql" else "?"

    def where(self, alias: str = "", ts: str = "captured_ts") -> tuple[str, list[Any]]:
        a = f"{alias}." if alias else ""
        parts = [f"{a}{ts} >= {self.ph}", f"{a}{ts} < {self.ph}"]
        params: list[Any] = [self.q.since, self.q.until]
        for name, value in sorted(self.q.filters.items()):
            parts.append(f"{a}{DIMENSIONS[name]} = {self.ph}")
            params.append(value)
        return " AND ".join(parts), params

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        return self.store.query(sql, tuple(params))


def _groups(s: _Sql) -> list[dict[str, Any]]:
    cols = s.q.columns
    where, params = s.where()
    sel = ", ".join(cols + ["count(*)", "sum(CASE WHEN status = 'needs_review' THEN 1 ELSE 0 END)"])
    group = f" GROUP BY {', '.join(cols)} ORDER BY {', '.join(cols)}" if cols else ""
    out = []
    for row in s.rows(f"SELECT {sel} FROM records WHERE {where}{group}", params):
        n, review = row[len(cols)], row[len(cols) + 1] or 0
        if not n:
            continue
        item = dict(zip(s.q.by, row[:len(cols)]))
        item.update(records=n, needs_review=int(review), needs_review_rate=round(review / n, 4))
        out.append(item)
    return out


def _findings(s: _Sql) -> list[dict[str, Any]]:
    cols = s.q.columns
    needed = set(cols) | {DIMENSIONS[f] for f in s.q.filters}
    if needed <= _IN_FEEDBACK:
        where, params = s.where()
        src = f"FROM feedback WHERE {where}"
        sel = cols
    else:  # technologist or protocol: from the record
        where, params = s.where("r")
        src = f"FROM feedback f JOIN records r ON r.station = f.station AND r.record_id = f.record_id WHERE {where}"
        sel = [f"r.{c}" for c in cols]
    keys = sel + ["rule", "level"]
    sql = f"SELECT {', '.join(keys)}, count(*) {src} GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
    out = []
    for row in s.rows(sql, params):
        item = dict(zip(s.q.by, row[:len(cols)]))
        item.update(rule=row[len(cols)], level=row[len(cols) + 1], count=row[len(cols) + 2])
        out.append(item)
    return out


def _dose_keys(q: StatsQuery) -> list[str]:
    cols = [c for c in q.columns if c not in ("modality", "protocol")]
    return cols + ["modality", "coalesce(protocol, template)"]


def _doses(s: _Sql) -> list[dict[str, Any]]:
    keys = _dose_keys(s.q)
    names = [b for b in s.q.by if DIMENSIONS[b] not in ("modality", "protocol")] + ["modality", "protocol"]
    where, params = s.where()
    where += " AND (ctdivol IS NOT NULL OR dlp IS NOT NULL)"
    if s.store.dialect == "postgresql":
        pct = ", ".join(f"count({v}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {v}), "
                        f"percentile_cont(0.75) WITHIN GROUP (ORDER BY {v})" for v in ("ctdivol", "dlp"))
        sql = (f"SELECT {', '.join(keys)}, {pct} FROM records WHERE {where} "
               f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}")
        rows = s.rows(sql, params)
    else:
        rows = _sqlite_percentiles(s.rows(f"SELECT {', '.join(keys)}, ctdivol, dlp FROM records WHERE {where}",
                                          params), len(keys))
    out = []
    for row in rows:
        item = dict(zip(names, row[:len(keys)]))
        ct_n, ct_median, ct_p75, dlp_n, dlp_median, dlp_p75 = row[len(keys):]
        item.update(ctdivol_n=ct_n, ctdivol_median=_r(ct_median), ctdivol_p75=_r(ct_p75),
                    dlp_n=dlp_n, dlp_median=_r(dlp_median), dlp_p75=_r(dlp_p75))
        out.append(item)
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def _sqlite_percentiles(rows: Iterable[tuple], nkeys: int) -> list[tuple]:
    groups: dict[tuple, tuple[list[float], list[float]]] = {}
    for row in rows:
        ct, dl = groups.setdefault(tuple(row[:nkeys]), ([], []))
        if row[nkeys] is not None:
            ct.append(row[nkeys])
        if row[nkeys + 1] is not None:
            dl.append(row[nkeys + 1])
    out = []
    for key in sorted(groups, key=lambda k: tuple((v is None, v or "") for v in k)):
        ct, dl = (sorted(v) for v in groups[key])
        out.append((*key, len(ct), percentile(ct, 0.5), percentile(ct, 0.75),
                    len(dl), percentile(dl, 0.5), percentile(dl, 0.75)))
    return out


_DOSE_FIELDS = {"ctdivol": ("ctdivol",), "dlp": ("total_dlp", "dlp")}


def reference_levels(rules: RuleSet, modality: str | None, protocol: str | None) -> dict[str, Any]:
    """The levels the rules (national and consortium layers) name for CTDIvol and DLP of a modality:
    the `warn` threshold of a `max` rule on that field (else its `alert`), with the layer that set it."""
    out: dict[str, Any] = {}
    for rule in rules.rules_for("", ""):
        if rule.check != "max" or not rule.enabled or not rule.field:
            continue
        if rule.modality is not None and not _glob(rule.modality, modality or ""):
            continue
        if rule.template is not None and not _glob(rule.template, protocol or ""):
            continue
        column = rule.field.lower().rsplit(".", 1)[-1]
        for name, fields in _DOSE_FIELDS.items():
            if column in fields and f"{name}_reference" not in out:
                level = rule.warn if rule.warn is not None else rule.alert
                out[f"{name}_reference"] = level
                out[f"{name}_reference_rule"] = rule.id
                out[f"{name}_reference_layer"] = rule.origins.get("warn" if rule.warn is not None else "alert",
                                                                  rule.layer)
    return out


def _glob(patterns: str | list[str], value: str) -> bool:
    import fnmatch

    pats = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in pats)


def compute(store: Store, q: StatsQuery, *, rules: RuleSet | None = None,
            tables: Sequence[str] = TABLES) -> dict[str, Any]:
    """The statistics of `q` as one JSON-ready mapping (range, by, filters, and the tables asked for)."""
    s = _Sql(store, q)
    out: dict[str, Any] = {"from": _iso(q.since), "to": _iso(q.until), "by": list(q.by), "filters": dict(q.filters)}
    if "groups" in tables:
        out["groups"] = _groups(s)
    if "findings" in tables:
        out["findings"] = _findings(s)
    if "doses" in tables:
        doses = _doses(s)
        if rules is not None:
            for d in doses:
                levels = reference_levels(rules, d.get("modality"), d.get("protocol"))
                d.update(levels)
                for name in ("ctdivol", "dlp"):
                    ref, p75 = levels.get(f"{name}_reference"), d.get(f"{name}_p75")
                    if ref is not None and p75 is not None:
                        d[f"{name}_p75_over_reference"] = p75 > ref
        out["doses"] = doses
    return out


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One table as CSV (columns in first-seen order; empty cells for missing values)."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
