"""Central's stores, SQLite and PostgreSQL, with the same semantics: commit before ack, stored once by
(station, record id), gaps, feedback kept; schema created, migrated, and a newer one refused."""
from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from qcedge.central.pg_schema import LATEST, MIGRATIONS
from qcedge.central.stores import SchemaError, StoreUnavailable, open_store
from feedtools import FAST, ROOT, RawStation, make_record, record_frames, wait_for
from qcedge.qc_client.client import FeedClient
from qcedge.qc_client.outbox import Outbox
from qcedge.qc_client.receiver import Receiver
from qcedge.qc_client.record import FieldValue, Record, TemplateRef
from qcedge.qc_client.store import Incoming, Store
from qcedge.qc_client.store_schema import SCHEMA_VERSION

RULES = ROOT / "samples" / "rules" / "rules.yaml"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "central.sqlite")
    return request.getfixturevalue("pg_url")


def incoming(rec: Record, seq: int) -> Incoming:
    return Incoming(rec.station, seq, rec.id, {}, rec.to_json(), rec)


@contextmanager
def central(db: str, rules: Path | None = RULES) -> Iterator[tuple[Store, Receiver]]:
    """Central's store at `db` behind a running receiver (the sample rules); closed on leaving."""
    store = open_store(db)
    rx = Receiver("tcp://127.0.0.1:*", store, rules=rules).start()
    try:
        yield store, rx
    finally:
        rx.close()


@contextmanager
def station(rx: Receiver, tmp_path: Path) -> Iterator[FeedClient]:
    """Station st1's feed client sending to `rx` (its outbox in tmp_path), stopped on leaving."""
    with Outbox(tmp_path / "o.sqlite") as ob:
        client = FeedClient(rx.endpoint, ob, "st1", **FAST).start()
        try:
            yield client
        finally:
            client.stop()


def test_a_station_feeds_the_store_everything_once_with_feedback_kept(db, tmp_path):
    with central(db) as (store, rx):
        with station(rx, tmp_path) as client:
            client.submit_many([make_record(i, CTDIvol=10.0 + i) for i in range(120)])
            assert client.flush(20), client.stats()
        assert store.count("st1") == 120 and store.gaps() == []
        assert [seq for _, seq, _, _ in store.records("st1")] == list(range(1, 121))
        warned = [f for f in store.feedback() if f["rule"] == "ct-ctdivol"]
        assert len(warned) == sum(1 for i in range(120) if 10.0 + i > 50)  # hospital-a's warn level
        # the same record again (its ack lost): stored once, acked duplicate with the feedback stored for it
        hot = make_record(100, CTDIvol=110.0)
        st = RawStation(rx.endpoint, identity=b"st1")
        try:
            st.send(record_frames(hot, 101))
            ack = st.recv_kind("ack")
        finally:
            st.close()
        assert ack.header["status"] == "duplicate"
        assert [f["level"] for f in ack.body["feedback"]] == ["alert"]
        assert store.count() == 120 and store.stations()[0]["duplicates"] == 1
    # it is all still there for the next run
    again = open_store(db)
    try:
        assert again.count() == 120 and len(again.feedback()) == len(warned)
    finally:
        again.close()


def test_gaps_are_seen_on_arrival_and_filled_by_late_records(db):
    store = open_store(db)
    try:
        recs = [make_record(i) for i in range(6)]
        out = store.save([incoming(recs[0], 1), incoming(recs[1], 2), incoming(recs[4], 5)], None)
        assert out[2].gap is not None and (out[2].gap.first, out[2].gap.last) == (3, 4)
        assert [(g.first, g.last) for g in store.gaps("st1")] == [(3, 4)]
        store.save([incoming(recs[2], 3)], None)
        assert [(g.first, g.last) for g in store.gaps()] == [(4, 4)]
        store.save([incoming(recs[3], 4)], None)
        assert store.gaps() == [] and len(store.gap_events("st1")) == 1
        # submitted again after its ack, under a new seq: acked duplicate, and that seq is no gap
        dup = store.save([incoming(recs[0], 6), incoming(recs[5], 7)], None)
        assert dup[0].duplicate and not dup[1].duplicate and dup[1].gap is None
        assert store.gaps() == [] and store.count() == 6
    finally:
        store.close()


def _odd_record(rng: random.Random, i: int) -> Record:
    """A record with text the databases may refuse: NUL, lone CJK, emoji, long, control characters."""
    alphabet = ["\0", "\x01", "\x7f", "é", "性別", "😀", "\\", "'", '"', "%s", "\n", "a"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
    fields = {"accession": FieldValue(value=f"A{i}", text=f"A{i}"), "technologist": FieldValue(value=text),
              "protocol": FieldValue(value=text[:3] or "head"), "ctdivol": FieldValue(value=rng.choice([1.5, 1e308, -0.0]))}
    return Record(id=f"odd-{i}-" + rng.choice(["", "\0", "é", "x" * 200]), station="st1",
                  site=rng.choice(["h-a", "h\0b", "醫院"]), source="fuzz", modality=rng.choice(["CT", "\0", None]),
                  template=TemplateRef(id=rng.choice(["t", "t\0"]), version="1"), fields=fields)


@pytest.mark.parametrize("seed", [1, 2])
def test_records_the_database_refuses_are_rejected_alone(db, seed):
    """Seeded fuzz: every record is stored or rejected with an error; the rest of its batch is stored."""
    rng = random.Random(seed)
    store = open_store(db)
    try:
        batch = [incoming(_odd_record(rng, i), i + 1) for i in range(40)]
        batch.insert(7, incoming(make_record(99, station="st2"), 2 ** 64))  # no database holds this seq
        batch.append(incoming(make_record(1, station="st2"), 1))
        out = store.save(batch, None)
        assert len(out) == len(batch)
        assert out[7].error and "could not store" in out[7].error
        assert out[-1].error is None and not out[-1].duplicate
        stored = {s.incoming.record_id for s in out if s.error is None}
        assert {rid for _, _, rid, _ in store.records()} == stored
        for _, _, rid, body in store.records():  # the body kept exactly as sent
            assert json.loads(body)["id"] == rid
        # what was refused can be sent again and is refused again, costing nothing else
        again = store.save([s.incoming for s in out if s.error] + [incoming(make_record(2, station="st2"), 2)], None)
        assert all(s.error for s in again[:-1]) and again[-1].error is None
    finally:
        store.close()


def test_sqlite_store_of_an_older_qcedge_is_migrated_and_a_newer_one_refused(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    old = Path(ROOT / "qc_client" / "store_schema.py").read_text(encoding="utf-8").split('SCHEMA = """', 1)[1].split('"""')[0]
    con.executescript(old)  # the schema before version 2 (user_version 0)
    rec = make_record(1, ctdivol=12.5, total_dlp=400.0, technologist="Li")
    con.execute("INSERT INTO records(station, record_id, seq, received_at, body) VALUES('st1', ?, 1, 0, ?)",
                (rec.id, rec.to_json()))
    con.commit()
    con.close()
    store = open_store(str(path))
    try:
        assert store.count() == 1
    finally:
        store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("SELECT technologist, ctdivol, dlp FROM records").fetchone() == ("Li", 12.5, 400.0)
    con.execute("PRAGMA user_version=99")
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match="schema version 99 is newer than this qcedge"):
        open_store(str(path))


def test_postgres_schema_is_migrated_from_version_1_and_a_newer_one_refused(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:  # a database as the first qcedge with PostgreSQL made it
        conn.execute("CREATE TABLE qcedge_schema(version integer PRIMARY KEY, migrated_at timestamptz NOT NULL "
                     "DEFAULT now())")
        conn.execute(MIGRATIONS[0])
        conn.execute("INSERT INTO qcedge_schema(version) VALUES (1)")
    store = open_store(pg_url)
    try:
        store.save([incoming(make_record(1), 1)], None)
    finally:
        store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT max(version) FROM qcedge_schema").fetchone()[0] == LATEST
        conn.execute("INSERT INTO qcedge_schema(version) VALUES (%s)", (LATEST + 5,))
    with pytest.raises(SchemaError, match=f"schema version {LATEST + 5} is newer than this qcedge"):
        open_store(pg_url)
    # the command line says so in one line, exit 2 (a data file this qcedge cannot use), and binds nothing
    run = subprocess.run([sys.executable, "-m", "qcedge", "receive", "--bind", "tcp://127.0.0.1:*", "--db", pg_url],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "is newer than this qcedge" in run.stderr


def test_unreachable_postgres_is_one_line_without_the_password(postgres, tmp_path):
    url = f"postgresql://qcedge:s3cret-pw@/nodb?host={tmp_path}&port=1"
    with pytest.raises(StoreUnavailable) as err:
        open_store(url)
    assert "s3cret-pw" not in str(err.value) and "cannot connect" in str(err.value)
    run = subprocess.run([sys.executable, "-m", "qcedge", "receive", "--db", url], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 1 and "s3cret-pw" not in run.stderr + run.stdout and run.stderr.count("\n") == 1  # down


def test_a_postgres_restart_loses_nothing(pg_url, postgres, tmp_path):
    with central(pg_url, rules=None) as (store, rx):
        with station(rx, tmp_path) as client:
            client.submit_many([make_record(i) for i in range(100)])
            assert wait_for(lambda: store.count() >= 1, 10)
            postgres.restart("immediate")  # every connection cut, as in a crash
            client.submit_many([make_record(i) for i in range(100, 200)])
            assert client.flush(30), client.stats()
        assert store.count("st1") == 200 and store.gaps() == []
        assert [seq for _, seq, _, _ in store.records("st1")] == list(range(1, 201))


def test_a_technologists_acknowledgement_is_stored_by_either_store(db, tmp_path):
    """feedback_ack from a station reaches the SQLite and the PostgreSQL store alike."""
    with central(db) as (store, rx):
        with station(rx, tmp_path) as client:
            rec = make_record(7, CTDIvol=120.0)
            client.submit_many([rec])
            assert client.flush(20), client.stats()
            client.acknowledge(rec.id, rule="ct-ctdivol", level="alert", by="tech1")
            assert wait_for(lambda: store.acknowledgements(rec.id), 10)
        got = store.acknowledgements(rec.id)
        assert [(a["station"], a["rule"], a["level"], a["acknowledged_by"]) for a in got] == \
            [("st1", "ct-ctdivol", "alert", "tech1")]
