"""Several receivers on one PostgreSQL: a record that reaches two is stored once; stations list both
endpoints and fail over; kill -9 of either receiver and a PostgreSQL restart lose and double nothing."""
from __future__ import annotations

import re
import signal
import subprocess
import threading

import psycopg
import pytest

from feedtools import CliProcess, PY, ROOT, RawStation, free_port, make_record, record_frames, wait_for
from qcedge.qc_client.receiver import Receiver
from qcedge.central.stores import open_store

STATION = ROOT / "tests" / "qc_client" / "station_proc.py"
RULES = ROOT / "samples" / "rules" / "rules.yaml"
pytestmark = pytest.mark.slow


def test_a_record_that_reaches_two_receivers_is_stored_once(pg_url):
    rx = [Receiver("tcp://127.0.0.1:*", open_store(pg_url), rules=RULES).start() for _ in range(2)]
    records = [make_record(i, CTDIvol=float(40 + i)) for i in range(60)]
    acks: list[list] = [[], []]

    def feed(k: int) -> None:
        st = RawStation(rx[k].endpoint, identity=b"st1")
        try:
            order = records if k == 0 else records[::-1]  # the two meet in the middle, at the same time
            for rec in order:
                st.send(record_frames(rec, int(rec.fields["accession"].value[3:]) + 1))
            while len(acks[k]) < len(records) and (msg := st.recv_kind("ack", 10)) is not None:
                acks[k].append(msg.header)
        finally:
            st.close()

    threads = [threading.Thread(target=feed, args=(k,)) for k in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        statuses = [a["status"] for side in acks for a in side]
        assert len(statuses) == 120 and statuses.count("stored") == 60 and statuses.count("duplicate") == 60
        store = rx[0].store
        assert store.count() == 60 and store.gaps() == []
        # the feedback of each record stored once, whichever receiver evaluated it
        warned = [f["record_id"] for f in store.feedback()]
        assert len(warned) == len(set(warned)) == sum(1 for i in range(60) if 40 + i > 50)
    finally:
        for r in rx:
            r.close()


def _receiver(db: str, port: int) -> CliProcess:
    proc = CliProcess("receive", "--bind", f"tcp://127.0.0.1:{port}", "--db", db, "--rules", str(RULES), "--quiet")
    first = proc.readline(60)
    assert re.search(r"receiving on tcp://127\.0\.0\.1:\d+", first), first
    return proc


def _count(db: str, station: str | None = None) -> int:
    with psycopg.connect(db, autocommit=True) as conn:
        if station:
            return conn.execute("SELECT count(*) FROM records WHERE station=%s", (station,)).fetchone()[0]
        return conn.execute("SELECT count(*) FROM records").fetchone()[0]


def test_two_receivers_kill_9_of_either_and_a_postgres_restart_lose_and_double_nothing(pg_url, postgres, tmp_path):
    ports = [free_port(), free_port()]
    ends = [f"tcp://127.0.0.1:{p}" for p in ports]
    rx = [_receiver(pg_url, p) for p in ports]
    stop = tmp_path / "stop"
    stations = {"st1": f"{ends[0]},{ends[1]}", "st2": f"{ends[1]},{ends[0]}", "st3": f"{ends[0]},{ends[1]}"}
    procs = {s: subprocess.Popen([PY, str(STATION), ep, str(tmp_path / f"{s}.sqlite"), "--station", s, "--count",
                                  "100000", "--interval", "0.01", "--stop-file", str(stop), "--exit-when-done"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for s, ep in stations.items()}
    submitted: dict[str, int] = {}
    try:
        assert wait_for(lambda: _count(pg_url) >= 150, 60), "records did not start arriving"
        rx[0].proc.kill()  # kill -9 of the receiver st1 and st3 talk to
        rx[0].proc.wait(10)
        seen = _count(pg_url, "st1")
        assert wait_for(lambda: _count(pg_url, "st1") >= seen + 50, 60), "st1 did not fail over to the other receiver"
        rx[0] = _receiver(pg_url, ports[0])
        postgres.restart("immediate")  # both receivers lose their connections mid-stream
        seen = _count(pg_url)
        assert wait_for(lambda: _count(pg_url) >= seen + 150, 60), "nothing stored after PostgreSQL came back"
        rx[1].proc.kill()  # kill -9 of the other one: everybody on the first again
        rx[1].proc.wait(10)
        seen = _count(pg_url, "st2")
        assert wait_for(lambda: _count(pg_url, "st2") >= seen + 50, 60), "st2 did not fail over to the first receiver"
        stop.touch()
        for s, p in procs.items():
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0 and "done True" in out, f"{s}: {out[-500:]} {err[-2000:]}"
            submitted[s] = int(re.search(r"all submitted (\d+)", out).group(1))
    finally:
        stop.touch()
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.communicate()
        for r in rx:
            if r.proc.poll() is None:
                r.stop(signal.SIGTERM)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for s, count in submitted.items():
            rows = conn.execute("SELECT seq, record_id FROM records WHERE station=%s ORDER BY seq", (s,)).fetchall()
            assert [seq for seq, _ in rows] == list(range(1, count + 1)), f"{s}: missing or extra sequence numbers"
            assert [rid for _, rid in rows] == [make_record(i, station=s).id for i in range(count)]
        # each record's feedback stored once (CTDIvol 51..59 of every 50 is above hospital-a's warn level 50)
        fb = conn.execute("SELECT station, record_id, count(*) FROM feedback GROUP BY 1, 2").fetchall()
        assert all(n == 1 for _, _, n in fb)
        assert len(fb) == sum(1 for count in submitted.values() for i in range(count) if 10.0 + i % 50 > 50)
    store = open_store(pg_url)
    try:
        assert store.gaps() == []
    finally:
        store.close()


def test_a_station_whose_first_endpoint_is_down_fails_over_and_bad_lists_are_refused(pg_url, tmp_path):
    from feedtools import FAST
    from qcedge.qc_client.client import FeedClient
    from qcedge.qc_client.outbox import Outbox

    dead = f"tcp://127.0.0.1:{free_port()}"
    rx = Receiver("tcp://127.0.0.1:*", open_store(pg_url)).start()
    try:
        with Outbox(tmp_path / "o.sqlite") as ob:
            client = FeedClient([dead, rx.endpoint], ob, "st1", **FAST).start()
            try:
                client.submit_many([make_record(i) for i in range(20)])
                assert client.flush(20), client.stats()
                assert client.stats().endpoint == rx.endpoint
            finally:
                client.stop()
            for bad in ("", "tcp://127.0.0.1:1,,tcp://127.0.0.1:2", []):
                with pytest.raises(ValueError, match="endpoint"):
                    FeedClient(bad, ob, "st1")
        assert rx.store.count() == 20
    finally:
        rx.close()
