"""Crashes with real processes: a station killed with kill -9, central down for a while."""
from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from feedtools import FAST, PY, make_record, wait_for
from qcedge.qc_client.client import FeedClient
from qcedge.qc_client.outbox import Outbox

HERE = Path(__file__).resolve().parent
RULES = HERE.parents[1] / "samples" / "rules" / "rules.yaml"
pytestmark = pytest.mark.slow


def central_rows(db: Path) -> list[tuple[int, str]]:
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("SELECT seq, record_id FROM records WHERE station='st1' ORDER BY seq").fetchall()
    except sqlite3.OperationalError:  # table not made yet
        return []
    finally:
        con.close()


def start_receiver(cli, db: Path, bind: str = "tcp://127.0.0.1:*", *extra: str):
    proc = cli("receive", "--bind", bind, "--db", str(db), *extra)
    first = proc.readline()
    match = re.search(r"receiving on (tcp://\S+)", first)
    assert match, f"unexpected first line: {first!r}"
    return proc, match.group(1).rstrip(",")


def assert_exactly_once(db: Path, count: int) -> None:
    rows = central_rows(db)
    assert [seq for seq, _ in rows] == list(range(1, count + 1)), "missing or extra sequence numbers"
    assert [rid for _, rid in rows] == [make_record(i).id for i in range(count)]


def test_station_killed_with_kill_9_mid_stream_loses_nothing_and_doubles_nothing(tmp_path, cli):
    db, outbox = tmp_path / "central.sqlite", tmp_path / "station.sqlite"
    receiver, endpoint = start_receiver(cli, db, "tcp://127.0.0.1:*", "--rules", str(RULES))
    count = 300
    station = subprocess.Popen([PY, str(HERE / "station_proc.py"), endpoint, str(outbox), "--count", str(count),
                                "--interval", "0.004"], stdout=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: len(central_rows(db)) >= 60, 20), "records did not start arriving"
        station.kill()  # SIGKILL: no chance to flush or clean up
        station.wait(5)
    finally:
        if station.poll() is None:
            station.kill()
    arrived = len(central_rows(db))
    assert arrived < count, "the station finished before it was killed"
    with Outbox(outbox) as ob:
        resume = ob.last_seq("st1")
    restarted = subprocess.run([PY, str(HERE / "station_proc.py"), endpoint, str(outbox), "--count", str(count),
                                "--exit-when-done"], capture_output=True, text=True, timeout=60)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert f"resuming at {resume}" in restarted.stdout
    rc, out, err = receiver.stop(signal.SIGTERM)
    assert rc == 0, err[-2000:]
    assert_exactly_once(db, count)
    lines = [line for line in out.splitlines() if " record st1 " in line]
    assert len(lines) >= count and "stopped: 300 stored" in out
    assert re.search(r"record st1 seq=1 ct-dose@1 complete CTDIvol=10\.0", out)
    # hospital-a's CTDIvol warn level is 50: records 41..49 of every 50 (CTDIvol 51..59) get feedback
    warned = re.findall(r"feedback warn \[ct-ctdivol\] CTDIvol is above the hospital warn level 50 mGy", out)
    assert len(warned) == sum(1 for i in range(count) if 10.0 + i % 50 > 50)
    assert "feedback alert" not in out
    with Outbox(outbox) as ob:
        assert ob.depth() == 0


def test_central_down_for_a_while_outbox_grows_then_drains(tmp_path, cli):
    db = tmp_path / "central.sqlite"
    receiver, endpoint = start_receiver(cli, db)
    with Outbox(tmp_path / "station.sqlite") as ob:
        client = FeedClient(endpoint, ob, "st1", **FAST).start()
        try:
            for i in range(50):
                client.submit(make_record(i))
            assert wait_for(lambda: len(central_rows(db)) >= 20, 10)
            receiver.proc.kill()  # central dies mid-stream (kill -9: acks in flight are lost)
            receiver.proc.communicate()
            for i in range(50, 150):
                client.submit(make_record(i))
            assert wait_for(lambda: not client.stats().connected, 5)
            time.sleep(0.5)
            st = client.stats()
            assert st.outbox_depth >= 100 and ob.depth() == st.outbox_depth
            stored_while_down = len(central_rows(db))
            receiver, _ = start_receiver(cli, db, bind=endpoint)  # back on the same port, same store
            assert client.flush(20), f"outbox did not drain: {client.stats()}"
            st = client.stats()
        finally:
            client.stop()
    assert stored_while_down < 150
    assert st.connected and st.reconnects >= 1
    rc, out, _ = receiver.stop()
    assert rc == 0
    assert_exactly_once(db, 150)


def test_receive_cli_refuses_bad_options_with_one_line(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("national: [{id: a, check: max}]\n", encoding="utf-8")
    r = subprocess.run([PY, "-m", "qcedge", "receive", "--db", str(tmp_path / "c.sqlite"), "--rules", str(bad)],
                       capture_output=True, text=True, timeout=30, cwd=HERE.parents[1])
    assert r.returncode == 2 and "rules.yaml" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([PY, "-m", "qcedge", "receive", "--allow", str(tmp_path)], capture_output=True, text=True,
                       timeout=30, cwd=HERE.parents[1])
    assert r.returncode == 2 and "--allow needs --keys" in r.stderr


def test_keys_generate_writes_owner_only_secret_and_never_prints_it(tmp_path):
    r = subprocess.run([PY, "-m", "qcedge", "keys", "generate", str(tmp_path / "k"), "--name", "ct-1"],
                       capture_output=True, text=True, timeout=30, cwd=HERE.parents[1])
    assert r.returncode == 0, r.stderr
    secret_file = tmp_path / "k" / "ct-1.key_secret"
    assert (secret_file.stat().st_mode & 0o777) == 0o600
    assert ((tmp_path / "k").stat().st_mode & 0o077) == 0
    secret = re.search(r'secret-key = "(.{40})"', secret_file.read_text()).group(1)
    assert secret not in r.stdout + r.stderr
    from qcedge.qc_client.keys import load_public, load_secret
    public, sec = load_secret(secret_file)
    assert sec.decode() == secret and load_public(tmp_path / "k" / "ct-1.key") == public
    again = subprocess.run([PY, "-m", "qcedge", "keys", "generate", str(tmp_path / "k"), "--name", "ct-1"],
                           capture_output=True, text=True, timeout=30, cwd=HERE.parents[1])
    assert again.returncode == 2 and "exists already" in again.stderr
