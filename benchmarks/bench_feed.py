"""Durable feed throughput: records committed to the outbox, sent, acked by central, removed.

The station side (outbox + FeedClient) runs in this process; central (`qcedge receive`,
storing every record in SQLite with synchronous=FULL before acking) in another, as it would
on another machine. Each record is submitted on its own (one durable commit each), a
CT-dose-like record of 20 fields (~2.5 kB JSON). Plaintext and CURVE.

Chaos: central stopped with SIGTERM or kill -9, 100 times, while a station process submits
without pause (tests/qc_client/chaos.py): station aborts, records lost or doubled, feedback lost
or shown twice.

    python -m benchmarks.run feed        (or: python -m benchmarks.bench_feed [--records N]
                                          [--chaos-cycles N] [--only throughput|chaos])
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.run import RESULTS, header
from qcedge.qc_client.client import FeedClient
from qcedge.qc_client.keys import ClientKeys, generate_keypair
from qcedge.qc_client.outbox import Outbox
from qcedge.qc_client.record import CheckValue, FieldValue, Record, TemplateRef

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1000.0  # records/s


def dose_record(i: int, station: str = "bench-1") -> Record:
    fields = {f"series{j}_ctdivol": FieldValue(value=round(5 + (i + j) % 40 * 0.7, 2), text="12.34", confidence=0.97)
              for j in range(10)}
    fields.update({f"series{j}_dlp": FieldValue(value=round(100 + (i * j) % 700 * 1.3, 1), text="456.7",
                                                confidence=0.96) for j in range(9)})
    fields["accession"] = FieldValue(value=f"ACC{i:08d}", text=f"ACC{i:08d}", confidence=0.99)
    return Record(id=str(uuid.uuid4()), station=station, site="hospital-a", source="screen:0", modality="CT",
                  template=TemplateRef(id="siemens-ct-dose", version="3"), fields=fields,
                  checks=[CheckValue(name="dlp_sum", ok=True)])


def start_receiver(db: Path | str, keys: Path | None = None,
                   allow: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`qcedge receive` in a process (a SQLite file or a PostgreSQL URL); the process and its endpoint."""
    cmd = [sys.executable, "-m", "qcedge", "receive", "--bind", "tcp://127.0.0.1:*", "--db", str(db), "--quiet"]
    if keys:
        cmd += ["--keys", str(keys), "--allow", str(allow)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.search(r"receiving on (tcp://[^\s,]+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"receiver did not start: {line!r} {proc.stderr.read()[-500:]}")
    return proc, match.group(1)


def disk_sync_rate(workdir: Path, n: int = 300) -> float:
    """Bare SQLite WAL commits per second with synchronous=FULL (one fsync each) on this disk, now."""
    import sqlite3

    con = sqlite3.connect(workdir / "fsync.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    t0 = time.perf_counter()
    for _ in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t(v) VALUES(?)", ("x" * 2500,))
        con.execute("COMMIT")
    rate = n / (time.perf_counter() - t0)
    con.close()
    return rate


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run_once(n: int, curve: bool, workdir: Path, *, batch: int = 1, synchronous: str = "FULL") -> dict:
    keys = allow = None
    ck = None
    if curve:
        keys, allow = workdir / "keys", workdir / "allow"
        generate_keypair(keys, "server")
        pub, sec = generate_keypair(keys, "bench-1")
        allow.mkdir()
        (allow / "bench-1.key").write_bytes(pub.read_bytes())
        ck = ClientKeys.from_files(sec, keys / "server.key")
    proc, endpoint = start_receiver(workdir / "central.sqlite", keys, allow)
    submitted: dict[str, float] = {}
    latencies: list[float] = []

    acked: set[str] = set()

    def on_acked(ids: list[str]) -> None:
        now = time.perf_counter()
        latencies.extend(now - submitted[i] for i in ids if i in submitted)
        acked.update(i for i in ids if i in submitted)

    try:
        records = [dose_record(i) for i in range(n)]
        outbox = Outbox(workdir / "outbox.sqlite", synchronous=synchronous)
        client = FeedClient(endpoint, outbox, "bench-1", keys=ck, on_acked=on_acked).start()
        # warm up: connection (and CURVE handshake) up, first record acked
        client.submit(dose_record(-1))
        if not client.flush(30):
            raise RuntimeError("warm-up record was not acked")
        if batch == 0:  # drain: the records wait in the outbox (central was down), then the client starts
            client.stop()
            outbox.put_many(records)
            client = FeedClient(endpoint, outbox, "bench-1", keys=ck, on_acked=on_acked)
            now = time.perf_counter()
            submitted.update((rec.id, now) for rec in records)
            t0 = time.perf_counter()
            client.start()
        else:
            t0 = time.perf_counter()
        for k in range(0, n if batch else 0, batch or 1):
            chunk = records[k:k + batch]
            now = time.perf_counter()
            for rec in chunk:
                submitted[rec.id] = now
            if batch == 1:
                client.submit(chunk[0])
            else:
                client.submit_many(chunk)
        t_put = max(time.perf_counter() - t0, 1e-9)
        ok = client.flush(120)
        t_all = time.perf_counter() - t0
        st = client.stats()
        client.stop()
        outbox.close()
        if not ok:
            raise RuntimeError(f"outbox did not drain: {st}")
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    stored = re.search(r"stopped: (\d+) stored", out)
    return {"records": n, "seconds": t_all, "rate": n / t_all, "put_rate": n / t_put,
            "acked": len(acked), "resent": st.resent, "stored": int(stored.group(1)) - 1 if stored else -1,
            "p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)}


MODES = [  # (label, curve, batch, synchronous, counts for the target)
    ("plaintext, live: one record per durable commit", False, 1, "FULL", True),
    ("CURVE, live: one record per durable commit", True, 1, "FULL", True),
    ("plaintext, 10 records per commit (submit_many)", False, 10, "FULL", False),
    ("CURVE, 10 records per commit (submit_many)", True, 10, "FULL", False),
    ("plaintext, drain: records waiting in the outbox (after central was down)", False, 0, "FULL", True),
    ("CURVE, drain: records waiting in the outbox (after central was down)", True, 0, "FULL", True),
    ("plaintext, one per commit, outbox synchronous=NORMAL", False, 1, "NORMAL", False),
]


def chaos(cycles: int, seed: int = 2024) -> int:
    """Stop central `cycles` times while a station submits; write results/feed_chaos.md."""
    sys.path.insert(0, str(ROOT / "tests" / "qc_client"))
    from chaos import run_chaos  # the same driver as tests/qc_client/test_feed_chaos.py

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-feed-chaos-") as tmp:
        r = run_chaos(Path(tmp), cycles=cycles, seed=seed)
    load_after = os.getloadavg()[0]
    verdict = "PASS" if r.ok and r.cycles == cycles else "MISS"
    print(f"chaos: {r.cycles} cycles ({r.sigterms} SIGTERM, {r.kills} kill -9) in {r.seconds:.0f} s; "
          f"{r.submitted} submitted, {r.stored} stored, {r.missing} lost, {r.doubled} doubled; station exit "
          f"{r.station_rc}, aborted {r.station_aborted}; feedback {r.feedback_expected} expected, "
          f"{r.feedback_missing} never shown, {r.feedback_repeated} shown twice {verdict} {r.errors}")
    lines = [header("Feed under chaos: central stopped and killed while a station submits"),
             "`qcedge receive` (sample rules) stopped with SIGTERM or kill -9 (chosen at random, seed "
             f"{seed}) after 0.2-0.7 s up, restarted on the same port after 0-0.3 s, {cycles} times, while a "
             "station process (tests/qc_client/station_proc.py, FeedClient with test timings: heartbeat 0.1 s) "
             "submits records without pause (each committed on its own, synchronous=FULL). Then the station "
             "stops submitting, flushes its outbox and exits. Checked in central's database and the station's "
             "feedback log. Targets (issue 12): 0 station aborts and 0 feedback lost over 100 stop/kill cycles, "
             "records never lost or doubled. Load average (1 min) "
             f"{load_before:.1f} before, {load_after:.1f} after.\n",
             "| cycles (SIGTERM / kill -9) | seconds | records submitted | stored | lost | doubled | station exit "
             "| station aborts | feedback expected | never shown | shown twice | outbox left | result |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
             f"| {r.cycles} ({r.sigterms} / {r.kills}) | {r.seconds:.0f} | {r.submitted} | {r.stored} | {r.missing} "
             f"| {r.doubled} | {r.station_rc} | {int(r.station_aborted)} | {r.feedback_expected} | "
             f"{r.feedback_missing} | {r.feedback_repeated} | {r.outbox_left} | {verdict} |",
             "\nBefore the fix (the station's DEALER with ZMQ_IMMEDIATE) the same driver saw the station abort "
             "with `Assertion failed: !_more (src/fq.cpp:80)` within 5 and 10 cycles in two runs of 12."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "feed_chaos.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if verdict == "PASS" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_feed", description=__doc__)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--chaos-cycles", type=int, default=100)
    parser.add_argument("--only", choices=("throughput", "chaos"))
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    failed = 0
    if args.only != "throughput":
        failed += chaos(args.chaos_cycles)
    if args.only == "chaos":
        return 1 if failed else 0
    return throughput(args.records) or (1 if failed else 0)


def throughput(records: int) -> int:
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
        sync_before = disk_sync_rate(Path(tmp))
    print(f"disk: {sync_before:.0f} synced SQLite commits/s")
    for label, curve, batch, sync, counts in MODES:
        with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
            res = run_once(records, curve, Path(tmp), batch=batch, synchronous=sync)
        res.update(mode=label, counts=counts, sync=sync)
        complete = res["stored"] == res["records"] == res["acked"]
        res["verdict"] = "PASS" if res["rate"] >= TARGET and complete else "MISS"
        rows.append(res)
        put = f"{res['put_rate']:.0f}/s" if batch else "-"
        res["put_shown"] = put
        print(f"{label}: {res['rate']:.0f} records/s end to end ({res['records']} in {res['seconds']:.2f} s; "
              f"submit alone {put}; submit->ack p50 {res['p50'] * 1e3:.0f} ms "
              f"p95 {res['p95'] * 1e3:.0f} ms; resent {res['resent']}) {res['verdict']}")
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
        sync_after = disk_sync_rate(Path(tmp))
    load_after = os.getloadavg()[0]
    print(f"disk: {sync_after:.0f} synced SQLite commits/s")
    lines = [header("Feed: durable throughput"),
             "Records submitted to the station outbox (SQLite WAL; synchronous=FULL: on disk before submit returns), "
             "pipelined by FeedClient to `qcedge receive` in another process (which commits each batch that arrived "
             "together to SQLite, synchronous=FULL, before acking), acked and removed from the outbox. The clock runs "
             "from the first submit until the outbox is empty. Record: CT dose, 20 fields, ~2.5 kB JSON. "
             "Latency: from submit to the record leaving the outbox on its ack.\n",
             f"Disk at the time: {sync_before:.0f} (before) and {sync_after:.0f} (after) synced SQLite commits/s "
             "(bare 2.5 kB inserts, one fsync each; it swings widely on this shared disk); central's commits "
             "share the same disk here. Load average (1 min) "
             f"{load_before:.1f} before, {load_after:.1f} after (the machine is shared).\n",
             "| mode | records | seconds | end-to-end records/s | submit alone records/s | submit->ack p50 / p95 ms "
             "| resent | stored once | target | result |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        target = f">= {TARGET:.0f}/s" if r["counts"] else f"(>= {TARGET:.0f}/s, informative)"
        lines.append(f"| {r['mode']} | {r['records']} | {r['seconds']:.2f} | {r['rate']:.0f} | {r['put_shown']} | "
                     f"{r['p50'] * 1e3:.0f} / {r['p95'] * 1e3:.0f} | {r['resent']} | "
                     f"{r['stored'] == r['records'] == r['acked']} | {target} | {r['verdict']} |")
    lines.append("\nLive: each record committed on its own (synchronous=FULL, one disk sync each) as the capture "
                 "daemon submits, the submitting thread waiting for each commit; the rate is bounded by the disk's "
                 "sync latency plus the station's per-record CPU (~0.6 ms across the submitting and the I/O thread, "
                 "measured with time.thread_time on this shared 2-core machine, central's process on the same "
                 "cores). Drain: the records "
                 "were committed while central was away; the client starts and sends, central stores and acks, the "
                 "outbox empties (latency counted from the client's start). Burst: `submit_many` commits 10 per "
                 "transaction (e.g. a DICOM study). synchronous=NORMAL survives a crash or kill -9 of the station but "
                 "not a power cut; FULL is the default. Verdicts: PASS when >= 1000 records/s with every record stored "
                 "once; rows marked informative do not count for the exit code.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "feed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if all(r["verdict"] == "PASS" for r in rows if r["counts"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
