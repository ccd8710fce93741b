"""Checks across fields: a failing or uncheckable check sends the reading for review."""
from __future__ import annotations

import datetime as dt

from qcedge.ocr_templates.checks import run_checks
from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.results import FieldResult


def _template(checks):
    return Template.model_validate({
        "id": "t", "version": "1", "title": "t", "reference": {"image": "r.png", "width": 100, "height": 100},
        "anchors": [{"name": "a", "box": [0, 0, 10, 10]}],
        "fields": [
            {"name": "total", "box": [0, 0, 5, 5], "type": "decimal"},
            {"name": "when", "box": [0, 0, 5, 5], "type": "date"},
            {"name": "kv", "box": [0, 0, 5, 5], "type": "integer"},
            {"name": "s", "kind": "table", "box": [0, 0, 50, 50], "row_height": 10,
             "columns": [{"name": "dlp", "x": 0, "w": 10, "type": "decimal"}]},
        ],
        "checks": checks,
    })


def fr(name, value, valid=True):
    return FieldResult(name=name, text=str(value), value=value, confidence=1.0, valid=valid)


def fields(total=30.5, rows=(10.0, 20.5), when=dt.date(2024, 1, 1), kv=120, row_valid=True):
    table = FieldResult(name="s", text="", value=[{"dlp": r} for r in rows], confidence=1.0, valid=row_valid,
                        rows=[{"dlp": fr("dlp", r, row_valid)} for r in rows])
    return {"total": fr("total", total), "when": fr("when", when), "kv": fr("kv", kv), "s": table}


def test_sum_ok_and_mismatch():
    t = _template([{"name": "sum", "kind": "sum", "total": "total", "of": "s.dlp", "tolerance": 0.05}])
    assert run_checks(t, fields())[0].ok
    res = run_checks(t, fields(total=31.5))[0]
    assert not res.ok and "31.5" in res.message
    assert run_checks(t, fields(total=30.54))[0].ok


def test_sum_with_invalid_cell_fails():
    t = _template([{"name": "sum", "kind": "sum", "total": "total", "of": "s.dlp"}])
    res = run_checks(t, fields(row_valid=False))[0]
    assert not res.ok and "cannot check" in res.message


def test_not_future_and_compare():
    t = _template([{"name": "nf", "kind": "not_future", "field": "when"},
                   {"name": "kv_ok", "kind": "compare", "left": "kv", "op": "<=", "right": 140}])
    assert [c.ok for c in run_checks(t, fields())] == [True, True]
    future = dt.date.today() + dt.timedelta(days=3)
    assert [c.ok for c in run_checks(t, fields(when=future, kv=150))] == [False, False]
