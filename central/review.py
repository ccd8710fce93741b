"""Review and rectification over central's archive (both stores).

- the queue: records that need review or drew a warn/alert finding, and that no reviewer has
  given a verdict yet;
- a correction sets a field's value or the record's verdict; it is a row of its own (who, when,
  why, the value before), the record as received is never changed;
- a rectification item names a problem of a hospital (site), station or technologist, the plan
  and a due date; it is open until closed with an outcome. `rates()` gives the needs-review and
  finding rates of its target in the same span before it was opened and since.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from qcedge.qc_client.record import Record
from qcedge.central.errors import CentralError
from qcedge.qc_client.store import Store

VERDICTS = ("complete", "needs_review", "abnormal")
SCOPES = {"site": "site", "station": "station", "technologist": "technologist"}


class ReviewError(CentralError, ValueError):
    """Bad input for a review action (unknown record, empty reason, bad date): one line."""


def _ph(store: Store, sql: str) -> str:
    return sql if store.dialect == "sqlite" else sql.replace("?", "%s")


def _q(store: Store, sql: str, *params: Any) -> list[tuple]:
    return store.query(_ph(store, sql), params)


def _text(value: str | None, what: str, limit: int = 2000) -> str:
    if value is None or not value.strip():
        raise ReviewError(f"{what} is required")
    value = value.strip().replace("\0", "\ufffd")
    if len(value) > limit:
        raise ReviewError(f"{what} is longer than {limit} characters")
    return value


def queue(store: Store, *, site: str | None = None, since: float | None = None, until: float | None = None,
          limit: int = 100) -> list[dict[str, Any]]:
    """Records to review, newest first: needs_review, or a warn/alert finding; without a verdict yet."""
    where = ["(r.status = 'needs_review' OR EXISTS (SELECT 1 FROM feedback f WHERE f.station = r.station AND "
             "f.record_id = r.record_id AND f.level IN ('warn', 'alert')))",
             "NOT EXISTS (SELECT 1 FROM corrections c WHERE c.station = r.station AND c.record_id = r.record_id "
             "AND c.field IS NULL)"]
    params: list[Any] = []
    for cond, value in (("r.site = ?", site), ("r.captured_ts >= ?", since), ("r.captured_ts < ?", until)):
        if value is not None:
            where.append(cond)
            params.append(value)
    rows = _q(store, "SELECT r.station, r.record_id, r.site, r.modality, r.template, r.status, r.captured_at "
                     f"FROM records r WHERE {' AND '.join(where)} ORDER BY r.captured_ts DESC, r.record_id LIMIT ?",
              *params, max(1, min(int(limit), 10000)))
    out = []
    for station, rid, s, modality, template, status, captured in rows:
        levels = [lv for (lv,) in _q(store, "SELECT level FROM feedback WHERE station = ? AND record_id = ? "
                                            "ORDER BY id", station, rid)]
        out.append({"station": station, "record_id": rid, "site": s, "modality": modality, "template": template,
                    "status": status, "captured_at": captured, "findings": levels})
    return out


def show(store: Store, station: str, record_id: str) -> dict[str, Any]:
    """A record as received (personal fields as the station sent them: hashed stays hashed), its findings,
    its corrections, and its values and verdict as corrected."""
    rows = _q(store, "SELECT body FROM records WHERE station = ? AND record_id = ?", station, record_id)
    if not rows:
        raise ReviewError(f"no record {record_id!r} from station {station!r}")
    record = Record.model_validate_json(rows[0][0])
    fields = {name: {"value": fv.value, "text": fv.text, "valid": fv.valid, "confidence": fv.confidence,
                     "personal": fv.personal, "rows": None if fv.rows is None else len(fv.rows),
                     "crop": name in record.evidence.crops} for name, fv in record.fields.items()}
    corrections = [{"field": f, "old_value": json.loads(o) if o is not None else None, "new_value": json.loads(n),
                    "reviewer": who, "reason": why, "at": at}
                   for f, o, n, who, why, at in _q(store, "SELECT field, old_value, new_value, reviewer, reason, "
                                                          "created_at FROM corrections WHERE station = ? AND "
                                                          "record_id = ? ORDER BY id", station, record_id)]
    current = {name: f["value"] for name, f in fields.items()}
    verdict = record.status
    for c in corrections:
        if c["field"] is None:
            verdict = c["new_value"]
        else:
            current[c["field"]] = c["new_value"]
    findings = [json.loads(b) for (b,) in _q(store, "SELECT body FROM feedback WHERE station = ? AND record_id = ? "
                                                    "ORDER BY id", station, record_id)]
    return {"station": station, "record_id": record_id, "site": record.site, "modality": record.modality,
            "template": record.template.id if record.template else None, "captured_at": record.captured_at.isoformat(),
            "status": record.status, "verdict": verdict, "fields": fields, "current": current,
            "checks": [c.model_dump() for c in record.checks], "findings": findings, "corrections": corrections}


def correct(store: Store, station: str, record_id: str, *, reviewer: str, reason: str,
            field: str | None = None, value: Any = None, verdict: str | None = None,
            now: float | None = None) -> int:
    """Record a correction of one field's value, or of the verdict (field None); returns its id."""
    reviewer, reason = _text(reviewer, "the reviewer"), _text(reason, "the reason")
    if (field is None) == (verdict is None):
        raise ReviewError("correct either a field (with its new value) or the verdict")
    if verdict is not None and verdict not in VERDICTS:
        raise ReviewError(f"verdict is one of {', '.join(VERDICTS)}")
    current = show(store, station, record_id)
    if field is not None:
        if field not in current["fields"]:
            raise ReviewError(f"the record has no field {field!r}")
        if current["fields"][field]["personal"]:
            raise ReviewError(f"{field!r} is a personal field: it is not corrected centrally")
        old, new = current["current"][field], value
    else:
        old, new = current["verdict"], verdict
    rows = _q(store, "INSERT INTO corrections(station, record_id, field, old_value, new_value, reviewer, reason, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
              station, record_id, field, json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False),
              reviewer, reason, now if now is not None else time.time())
    return rows[0][0]


@dataclass(frozen=True)
class Item:
    id: int
    scope: str
    target: str
    problem: str
    plan: str
    due: str
    opened_by: str
    opened_at: float
    status: str
    closed_by: str | None
    closed_at: float | None
    outcome: str | None

    def overdue(self, today: date | None = None) -> bool:
        return self.status == "open" and date.fromisoformat(self.due) < (today or date.today())

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "overdue": self.overdue()}


def open_item(store: Store, *, scope: str, target: str, problem: str, plan: str, due: str, opened_by: str,
              now: float | None = None) -> int:
    """Open a rectification item for a hospital (site), station or technologist; returns its id."""
    if scope not in SCOPES:
        raise ReviewError(f"scope is one of {', '.join(SCOPES)}")
    try:
        date.fromisoformat(due)
    except (TypeError, ValueError):
        raise ReviewError(f"due {due!r} is not a date (2025-06-30)") from None
    rows = _q(store, "INSERT INTO rectifications(scope, target, problem, plan, due, opened_by, opened_at, status) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, 'open') RETURNING id",
              scope, _text(target, "the target", 200), _text(problem, "the problem"), _text(plan, "the plan"), due,
              _text(opened_by, "who opens it", 200), now if now is not None else time.time())
    return rows[0][0]


def close_item(store: Store, item_id: int, *, closed_by: str, outcome: str, now: float | None = None) -> None:
    rows = _q(store, "UPDATE rectifications SET status = 'closed', closed_by = ?, closed_at = ?, outcome = ? "
                     "WHERE id = ? AND status = 'open' RETURNING id",
              _text(closed_by, "who closes it", 200), now if now is not None else time.time(),
              _text(outcome, "the outcome"), int(item_id))
    if not rows:
        raise ReviewError(f"no open rectification item {item_id}")


def items(store: Store, *, status: str | None = None) -> list[Item]:
    sql = ("SELECT id, scope, target, problem, plan, due, opened_by, opened_at, status, closed_by, closed_at, outcome "
           "FROM rectifications")
    rows = _q(store, sql + " WHERE status = ? ORDER BY due, id", status) if status else \
        _q(store, sql + " ORDER BY due, id")
    return [Item(*r) for r in rows]


def rates(store: Store, item: Item, *, span: float = 30 * 86400.0, now: float | None = None) -> dict[str, Any]:
    """Records, needs-review rate and findings (warn/alert) per record of the item's target, in `span`
    seconds before it was opened and since it was opened (up to its closing, or now)."""
    column = SCOPES[item.scope]
    end = item.closed_at or (now if now is not None else time.time())
    out: dict[str, Any] = {}
    for name, (a, b) in (("before", (item.opened_at - span, item.opened_at)), ("after", (item.opened_at, end))):
        n, review = _q(store, f"SELECT count(*), sum(CASE WHEN status = 'needs_review' THEN 1 ELSE 0 END) FROM records "
                              f"WHERE {column} = ? AND captured_ts >= ? AND captured_ts < ?", item.target, a, b)[0]
        found = _q(store, f"SELECT count(*) FROM feedback f JOIN records r ON r.station = f.station AND "
                          f"r.record_id = f.record_id WHERE r.{column} = ? AND r.captured_ts >= ? AND r.captured_ts < ? "
                          f"AND f.level IN ('warn', 'alert')", item.target, a, b)[0][0]
        out[name] = {"records": n, "needs_review_rate": round((review or 0) / n, 4) if n else None,
                     "findings_per_record": round(found / n, 4) if n else None}
    return out
