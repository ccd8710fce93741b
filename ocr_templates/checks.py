"""Checks across fields: sums, dates not in the future, comparisons."""
from __future__ import annotations

import datetime as dt
import operator
from typing import Any

from qcedge.ocr_templates.errors import OcrError
from qcedge.ocr_templates.model import Check, Template
from qcedge.ocr_templates.results import CheckResult, FieldResult

_OPS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">=": operator.ge, ">": operator.gt,
        "!=": operator.ne}


class _Missing(OcrError):
    """A value a check needs was not read (the check is then not run)."""


def _value(ref: str | float, fields: dict[str, FieldResult]) -> Any:
    if isinstance(ref, (int, float)):
        return ref
    f = fields.get(ref)
    if f is None:
        raise _Missing(f"'{ref}' was not read")
    if not f.valid or f.value is None:
        raise _Missing(f"'{ref}' is not a valid value")
    return f.value


def _sum(check: Check, fields: dict[str, FieldResult]) -> CheckResult:
    total = _value(check.total, fields)
    table, _, column = (check.of or "").partition(".")
    tf = fields.get(table)
    if tf is None or tf.rows is None:
        raise _Missing(f"table '{table}' was not read")
    parts = []
    for i, row in enumerate(tf.rows):
        cell = row.get(column)
        if cell is None or cell.value is None or not cell.valid:
            raise _Missing(f"'{table}' row {i + 1} {column} is not a valid value")
        parts.append(float(cell.value))
    if not parts:
        raise _Missing(f"table '{table}' has no rows")
    s = sum(parts)
    ok = abs(float(total) - s) <= check.tolerance + 1e-6 * max(1.0, abs(s))
    msg = f"{check.total} {total:g} {'=' if ok else '!='} sum of {check.of} {s:g}"
    if not ok and check.tolerance:
        msg += f" (tolerance {check.tolerance:g})"
    return CheckResult(check.name, ok, msg)


def _not_future(check: Check, fields: dict[str, FieldResult], now: dt.datetime) -> CheckResult:
    v = _value(check.field, fields)
    if isinstance(v, dt.datetime):
        ok = v <= now.replace(tzinfo=None) + dt.timedelta(minutes=5)
    elif isinstance(v, dt.date):
        ok = v <= now.date()
    else:
        raise _Missing(f"'{check.field}' is not a date")
    return CheckResult(check.name, ok, f"{check.field} {v.isoformat()} {'is not' if ok else 'is'} in the future")


def _compare(check: Check, fields: dict[str, FieldResult]) -> CheckResult:
    left, right = _value(check.left, fields), _value(check.right, fields)
    try:
        ok = bool(_OPS[check.op](left, right))
    except TypeError:
        raise _Missing(f"cannot compare {left!r} with {right!r}") from None
    return CheckResult(check.name, ok, f"{check.left} {left} {check.op} {check.right} {right}: {'yes' if ok else 'no'}")


def run_checks(template: Template, fields: dict[str, FieldResult],
               now: dt.datetime | None = None) -> list[CheckResult]:
    """Run every check of the template. A check whose inputs are missing or invalid fails."""
    now = now or dt.datetime.now()
    results = []
    for check in template.checks:
        try:
            if check.kind == "sum":
                results.append(_sum(check, fields))
            elif check.kind == "not_future":
                results.append(_not_future(check, fields, now))
            else:
                results.append(_compare(check, fields))
        except _Missing as exc:
            results.append(CheckResult(check.name, False, f"cannot check: {exc}"))
    return results
