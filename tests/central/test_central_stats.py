"""`qcedge stats` and GET /api/stats over both stores: counts, needs-review rate, findings by rule and level,
dose medians and 75th percentiles per protocol beside the rules' levels; text, JSON, CSV, HTTP."""
from __future__ import annotations

import csv
import io
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from qcedge.central.stores import open_store
from feedtools import CliProcess, ROOT, free_port, wait_for
from qcedge.qc_client.record import CheckValue, FieldValue, Record, TemplateRef
from qcedge.qc_client.rules import load_rules
from qcedge.qc_client.store import Incoming

RULES = ROOT / "samples" / "rules" / "rules.yaml"
JAN, FEB = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 2, 1, tzinfo=timezone.utc)


def _record(rng: random.Random, i: int) -> Record:
    site = rng.choice(["hospital-a", "hospital-b"])
    modality = rng.choice(["CT", "CT", "DX"])
    when = JAN + timedelta(seconds=rng.uniform(-5, 45) * 86400)  # some in December and February
    fields = {"accession": FieldValue(value=f"A{i}"), "technologist": FieldValue(value=rng.choice(["Li", "Wang"]))}
    if modality == "CT":
        rows = [{"ctdivol": FieldValue(value=round(rng.uniform(5, 90), 1)),
                 "dlp": FieldValue(value=round(rng.uniform(100, 900), 1))} for _ in range(rng.randint(1, 3))]
        fields["series"] = FieldValue(rows=rows)
        fields["total_dlp"] = FieldValue(value=round(sum(r["dlp"].value for r in rows), 1))
        fields["protocol"] = FieldValue(value=rng.choice(["head", "chest"]))
    else:
        fields["di"] = FieldValue(value=round(rng.uniform(-4, 4), 1))
        fields["body_part"] = FieldValue(value="chest")
    return Record(id=f"r{i}", station=f"{modality.lower()}-{site[-1]}", site=site, source="test", modality=modality,
                  template=TemplateRef(id="ct_dose_report" if modality == "CT" else "dr_exposure_panel", version="1"),
                  captured_at=when, fields=fields, status=rng.choice(["complete"] * 4 + ["needs_review"]),
                  checks=[CheckValue(name="total", ok=True)])


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request, tmp_path):
    db = str(tmp_path / "c.sqlite") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    rng = random.Random(7)
    records = [_record(rng, i) for i in range(400)]
    rules = load_rules(RULES)
    store = open_store(db)
    try:
        store.save([Incoming(r.station, i + 1, r.id, {}, r.to_json(), r) for i, r in enumerate(records)],
                   lambda rec: [f.body() for f in rules.evaluate(rec)])
    finally:
        store.close()
    return db, records, rules


def _in_jan(r: Record) -> bool:
    return JAN <= r.captured_at < FEB


def _q(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    if len(values) == 1:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=4, method="inclusive")[2]


def test_a_month_by_hospital_and_modality(archive):
    from qcedge.central.api import query_from
    from qcedge.central.stats import compute

    db, records, rules = archive
    store = open_store(db)
    try:
        got = compute(store, query_from({"from": "2025-01-01", "to": "2025-02-01", "by": "site,modality"}),
                      rules=rules)
    finally:
        store.close()
    jan = [r for r in records if _in_jan(r)]
    assert 0 < len(jan) < len(records)
    expect = {}
    for r in jan:
        n, k = expect.get((r.site, r.modality), (0, 0))
        expect[(r.site, r.modality)] = (n + 1, k + (r.status == "needs_review"))
    assert {(g["site"], g["modality"]): (g["records"], g["needs_review"]) for g in got["groups"]} == expect
    assert all(abs(g["needs_review_rate"] - g["needs_review"] / g["records"]) < 1e-4 for g in got["groups"])
    # findings: the rules evaluated again here, counted by site, modality, rule and level
    counted: dict[tuple, int] = {}
    for r in jan:
        for f in rules.evaluate(r):
            key = (r.site, r.modality, f.rule, f.level)
            counted[key] = counted.get(key, 0) + 1
    assert {(f["site"], f["modality"], f["rule"], f["level"]): f["count"] for f in got["findings"]} == counted
    # doses per modality and protocol: CTDIvol the highest series row, DLP the total
    by_protocol: dict[tuple, list[tuple[float, float]]] = {}
    for r in jan:
        if r.modality == "CT":
            ct = max(row["ctdivol"].value for row in r.fields["series"].rows)
            by_protocol.setdefault((r.site, r.fields["protocol"].value), []).append((ct, r.fields["total_dlp"].value))
    doses = {(d["site"], d["protocol"]): d for d in got["doses"] if d["modality"] == "CT"}
    assert set(doses) == set(by_protocol)
    for key, values in by_protocol.items():
        d = doses[key]
        med, p75 = _q([c for c, _ in values])
        assert d["ctdivol_n"] == len(values)
        assert d["ctdivol_median"] == pytest.approx(med, abs=1e-3) and d["ctdivol_p75"] == pytest.approx(p75, abs=1e-3)
        med, p75 = _q([x for _, x in values])
        assert d["dlp_median"] == pytest.approx(med, abs=1e-3) and d["dlp_p75"] == pytest.approx(p75, abs=1e-3)
        # the national levels of samples/rules/rules.yaml (warn: CTDIvol 60 mGy, DLP 1000 mGy·cm)
        assert (d["ctdivol_reference"], d["ctdivol_reference_layer"]) == (60, "national")
        assert d["dlp_reference"] == 1000 and d["ctdivol_p75_over_reference"] == (d["ctdivol_p75"] > 60)
    assert not [d for d in got["doses"] if d["modality"] == "DX"]  # no dose values on a DR panel


def test_by_technologist_and_filters(archive):
    from qcedge.central.api import query_from
    from qcedge.central.stats import compute

    db, records, _ = archive
    store = open_store(db)
    try:
        got = compute(store, query_from({"from": "2024-12-01", "to": "2025-03-01", "by": "technologist",
                                         "site": "hospital-b", "modality": "CT"}))
    finally:
        store.close()
    mine = [r for r in records if r.site == "hospital-b" and r.modality == "CT"]
    assert {g["technologist"]: g["records"] for g in got["groups"]} == \
        {t: sum(1 for r in mine if r.fields["technologist"].value == t) for t in ("Li", "Wang")}
    assert sum(f["count"] for f in got["findings"]) == sum(len(load_rules(RULES).evaluate(r)) for r in mine)


def test_cli_csv_json_and_http_api_agree(archive):
    db, records, _ = archive
    base = [sys.executable, "-m", "qcedge", "stats", "--db", db, "--from", "2025-01-01", "--to", "2025-02-01",
            "--by", "hospital,modality"]
    out = subprocess.run(base + ["--format", "json"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    as_json = json.loads(out.stdout)
    out = subprocess.run(base + ["--format", "csv"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["hospital"], r["modality"], int(r["records"])) for r in rows] == \
        [(g["hospital"], g["modality"], g["records"]) for g in as_json["groups"]]
    text = subprocess.run(base + ["--rules", str(RULES)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "hospital=hospital-a modality=CT  records" in text.stdout and "level 60)" in text.stdout
    bad = subprocess.run(base[:-2] + ["--by", "colour"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and "unknown dimension 'colour'" in bad.stderr and bad.stderr.count("\n") == 1
    bad = subprocess.run(base[:6] + ["--from", "last tuesday"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and "is not a date" in bad.stderr

    port = free_port()
    server = CliProcess("stats", "--db", db, "--serve", f"127.0.0.1:{port}")
    try:
        assert "serving" in server.readline(60)
        url = f"http://127.0.0.1:{port}/api/stats"
        assert wait_for(lambda: _up(f"http://127.0.0.1:{port}/api/health"), 30)
        got = httpx.get(url, params={"from": "2025-01-01", "to": "2025-02-01", "by": "hospital,modality"}).json()
        assert got["groups"] == as_json["groups"] and got["findings"] == as_json["findings"]
        r = httpx.get(url, params={"from": "2025-01-01", "to": "2025-02-01", "by": "hospital,modality",
                                   "format": "csv", "table": "groups"})
        assert r.headers["content-type"].startswith("text/csv")
        assert list(csv.DictReader(io.StringIO(r.text))) == rows
        r = httpx.get(url, params={"by": "colour"})
        assert r.status_code == 400 and "unknown dimension" in r.json()["error"]
        r = httpx.get(url, params={"from": "2025-02-01", "to": "2025-01-01"})
        assert r.status_code == 400
    finally:
        server.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.1)
        return False
