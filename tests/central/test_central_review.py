"""Review and rectification on both stores: the queue, corrections that keep the original (who, when, why),
rectification items tracked to closure with the rates before and since."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from qcedge.central import review
from qcedge.central.stores import open_store
from feedtools import ROOT
from qcedge.qc_client.record import FieldValue, Record, TemplateRef
from qcedge.qc_client.rules import load_rules
from qcedge.qc_client.store import Incoming

RULES = ROOT / "samples" / "rules" / "rules.yaml"
T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _rec(i: int, site: str, ctdivol: float, status: str = "complete", day: int = 0) -> Record:
    return Record(id=f"r{i}", station=f"ct-{site}", site=site, source="test", modality="CT",
                  template=TemplateRef(id="ct_dose_report", version="1"), captured_at=T0 + timedelta(days=day, hours=i),
                  fields={"ctdivol": FieldValue(value=ctdivol), "patient_id": FieldValue(value="h:3f9a", personal=True),
                          "technologist": FieldValue(value="Li")}, status=status)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    db = str(tmp_path / "c.sqlite") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    rules = load_rules(RULES)
    recs = [_rec(0, "hospital-a", 20.0), _rec(1, "hospital-a", 75.0), _rec(2, "hospital-b", 30.0, "needs_review"),
            _rec(3, "hospital-b", 95.0)]
    # hospital-b before and after a rectification opened on day 10: 4 of 8 then 1 of 8 above the level
    recs += [_rec(10 + k, "hospital-b", 70.0 if k % 2 else 20.0, day=2) for k in range(8)]
    recs += [_rec(20 + k, "hospital-b", 70.0 if k == 0 else 20.0, day=12) for k in range(8)]
    s = open_store(db)
    s.save([Incoming(r.station, i + 1, r.id, {}, r.to_json(), r) for i, r in enumerate(recs)],
           lambda rec: [f.body() for f in rules.evaluate(rec)])
    s.db = db
    yield s
    s.close()


def test_queue_corrections_keep_the_original(store):
    q = review.queue(store)
    assert {r["record_id"] for r in q} == {"r1", "r2", "r3", "r11", "r13", "r15", "r17", "r20"}
    assert {r["record_id"] for r in review.queue(store, site="hospital-a")} == {"r1"}
    assert next(r for r in q if r["record_id"] == "r3")["findings"] == ["alert"]
    # a field corrected: the record as received stays, the correction names who and why
    review.correct(store, "ct-hospital-a", "r1", reviewer="dr.zhang", reason="OCR read 75.0 for 15.0",
                   field="ctdivol", value=15.0)
    shown = review.show(store, "ct-hospital-a", "r1")
    assert shown["fields"]["ctdivol"]["value"] == 75.0 and shown["current"]["ctdivol"] == 15.0
    c = shown["corrections"][0]
    assert (c["field"], c["old_value"], c["new_value"], c["reviewer"], c["reason"]) == \
        ("ctdivol", 75.0, 15.0, "dr.zhang", "OCR read 75.0 for 15.0") and c["at"] > 0
    assert shown["fields"]["patient_id"]["value"] == "h:3f9a"  # hashed stays hashed
    assert "r1" in {r["record_id"] for r in review.queue(store)}  # a value corrected is no verdict yet
    review.correct(store, "ct-hospital-a", "r1", reviewer="dr.zhang", reason="dose normal after correction",
                   verdict="complete")
    assert "r1" not in {r["record_id"] for r in review.queue(store)}
    assert review.show(store, "ct-hospital-a", "r1")["verdict"] == "complete"
    with pytest.raises(review.ReviewError, match="personal field"):
        review.correct(store, "ct-hospital-a", "r1", reviewer="x", reason="y", field="patient_id", value="z")
    with pytest.raises(review.ReviewError, match="reason is required"):
        review.correct(store, "ct-hospital-a", "r1", reviewer="x", reason=" ", verdict="abnormal")
    with pytest.raises(review.ReviewError, match="no record"):
        review.show(store, "ct-hospital-a", "nope")


def test_rectification_items_tracked_to_closure_with_rates_before_and_after(store):
    opened = (T0 + timedelta(days=10)).timestamp()
    iid = review.open_item(store, scope="site", target="hospital-b", problem="CTDIvol above the level on 1 in 2",
                           plan="protocol review with the vendor", due="2025-04-01", opened_by="qc.lead", now=opened)
    item = review.items(store, status="open")[0]
    assert item.id == iid and item.overdue(datetime(2025, 4, 2).date()) and not item.overdue(datetime(2025, 3, 5).date())
    r = review.rates(store, item, span=10 * 86400, now=(T0 + timedelta(days=20)).timestamp())
    assert r["before"]["records"] == 10 and r["after"]["records"] == 8  # r2 and r3 (day 0) are in the span
    assert r["before"]["findings_per_record"] > r["after"]["findings_per_record"] == pytest.approx(1 / 8)
    review.close_item(store, iid, closed_by="qc.lead", outcome="levels back under the reference",
                      now=(T0 + timedelta(days=20)).timestamp())
    assert review.items(store, status="open") == [] and review.items(store)[0].outcome.startswith("levels")
    with pytest.raises(review.ReviewError, match="no open rectification item"):
        review.close_item(store, iid, closed_by="x", outcome="y")
    with pytest.raises(review.ReviewError, match="not a date"):
        review.open_item(store, scope="site", target="x", problem="p", plan="p", due="soon", opened_by="x")


def test_review_cli(store):
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcedge", "review", *args[:1], "--db", store.db, *args[1:]],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)

    out = cli("queue", "--site", "hospital-b")
    assert out.returncode == 0 and "r3" in {r["record_id"] for r in json.loads(out.stdout)}
    out = cli("correct", "ct-hospital-b", "r3", "--verdict", "abnormal", "--by", "dr.li", "--reason", "repeat scan")
    assert out.returncode == 0 and json.loads(out.stdout)["verdict"] == "abnormal"
    out = cli("open", "--scope", "station", "--target", "ct-hospital-b", "--problem", "p", "--plan", "q",
              "--due", "2025-05-01", "--by", "qc")
    assert out.returncode == 0
    items = json.loads(cli("items", "--open").stdout)
    assert items[0]["target"] == "ct-hospital-b" and set(items[0]["rates"]) == {"before", "after"}
    bad = cli("correct", "ct-hospital-b", "r3", "--field", "ctdivol", "--by", "x", "--reason", "y")
    assert bad.returncode == 2 and "--field needs --value" in bad.stderr and bad.stderr.count("\n") == 1
    bad = cli("show", "ct-hospital-b", "no-such-record")  # a ReviewError reaches the command line as bad input
    assert bad.returncode == 2 and "no record 'no-such-record'" in bad.stderr and bad.stderr.count("\n") == 1
