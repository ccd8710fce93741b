"""Central: statistics over 1 million records, and durable acked throughput of 1 vs 2 receivers vs SQLite.

A temporary PostgreSQL cluster (Debian's initdb/pg_ctl, fsync and synchronous_commit on) is made
for the run and removed after.

Statistics: 1,000,000 records generated in the database (a year, 20 hospitals, 200 stations, CT/DX/MR,
protocols, technologists, CTDIvol and DLP on CT, findings), then `central.stats.compute` for one
month by hospital and modality (counts, needs-review rate, findings by rule and level, CTDIvol/DLP
median and P75 per protocol); the slowest of 5 runs counts. Target < 1 s.

Throughput: 4 station processes, each with 2,500 records waiting in its outbox (drain, as after
central was away), started together; the clock runs from the start until every outbox is empty
(each record committed by central before its ack). SQLite (`qcedge receive --db FILE`,
synchronous=FULL), PostgreSQL with one receiver, and with two (stations list both, half of them
the other first). Target: >= 2,000 records/s with two receivers.

    python -m benchmarks.run central   (or: python -m benchmarks.bench_central [--records N] [--only stats|feed])
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_feed import start_receiver
from benchmarks.run import RESULTS, header

ROOT = Path(__file__).resolve().parent.parent
STATS_TARGET = 1.0
FEED_TARGET = 2000.0

_GENERATE = """
INSERT INTO records(station, record_id, seq, received_at, site, template, template_version, modality, status,
                    captured_at, captured_ts, technologist, protocol, ctdivol, dlp, body)
SELECT 'st-' || (g % 200), 'r-' || g, g / 200 + 1, 0, 'hospital-' || lpad(((g % 200) / 10)::text, 2, '0'),
       CASE m WHEN 'CT' THEN 'ct_dose_report' WHEN 'DX' THEN 'dr_exposure_panel' ELSE 'mr_console' END, '1', m,
       CASE WHEN random() < 0.08 THEN 'needs_review' ELSE 'complete' END, '', ts, 'tech-' || (g % 37),
       CASE m WHEN 'CT' THEN (ARRAY['head', 'chest', 'abdomen', 'spine'])[1 + g % 4]
              WHEN 'DX' THEN (ARRAY['chest', 'hand', 'knee'])[1 + g % 3] ELSE 'brain' END,
       CASE WHEN m = 'CT' THEN round((10 + random() * 70)::numeric, 1) END,
       CASE WHEN m = 'CT' THEN round((200 + random() * 1400)::numeric, 1) END, '{}'
FROM (SELECT g, (ARRAY['CT', 'DX', 'CT', 'MR'])[1 + (g % 200) % 4] AS m,
             START::float8 + g * (365 * 86400.0 / COUNT) + random() * 60 AS ts
      FROM generate_series(1, COUNT) g) s;
INSERT INTO feedback(station, record_id, seq, rule, layer, level, body, created_at, site, modality, template,
                     captured_ts)
SELECT station, record_id, seq, 'ct-ctdivol', 'national', CASE WHEN ctdivol > 80 THEN 'alert' ELSE 'warn' END,
       '{}', 0, site, modality, template, captured_ts FROM records WHERE ctdivol > 60;
INSERT INTO feedback(station, record_id, seq, rule, layer, level, body, created_at, site, modality, template,
                     captured_ts)
SELECT station, record_id, seq, 'needs-review', 'national', 'warn', '{}', 0, site, modality, template, captured_ts
FROM records WHERE status = 'needs_review';
"""


def bench_stats(n: int) -> tuple[list[str], bool]:
    import psycopg

    from qcedge.central.api import query_from
    from qcedge.central.pg_local import LocalPostgres
    from qcedge.central.stats import compute
    from qcedge.central.stores import open_store
    from qcedge.qc_client.rules import load_rules

    start = 1735689600.0  # 2025-01-01 UTC
    with LocalPostgres.start(durable=True) as pg:
        url = pg.create_database("central")
        open_store(url).close()  # schema
        t0 = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_GENERATE.replace("START", repr(start)).replace("COUNT", str(int(n))))
            conn.execute("VACUUM ANALYZE")
            nrec = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            nfb = conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
        gen = time.perf_counter() - t0
        store = open_store(url)
        rules = load_rules(ROOT / "samples" / "rules" / "rules.yaml")
        rows = []
        ok = True
        try:
            for label, params in [
                ("March by hospital and modality (groups, findings, doses)",
                 {"from": "2025-03-01", "to": "2025-04-01", "by": "hospital,modality"}),
                ("March by hospital, station and modality", {"from": "2025-03-01", "to": "2025-04-01",
                                                            "by": "hospital,station,modality"}),
                ("March by technologist, one hospital", {"from": "2025-03-01", "to": "2025-04-01",
                                                        "by": "technologist", "site": "hospital-03"}),
                ("the whole year by hospital and modality", {"from": "2025-01-01", "to": "2026-01-01",
                                                            "by": "hospital,modality"}),
            ]:
                times = []
                for _ in range(5):
                    t = time.perf_counter()
                    result = compute(store, query_from(params), rules=rules)
                    times.append(time.perf_counter() - t)
                in_range = sum(g["records"] for g in result["groups"])
                counts = "month" in label or "March" in label
                passed = max(times) < STATS_TARGET
                ok = ok and (passed or not counts)
                rows.append(f"| {label} | {in_range} | {len(result['groups'])} / {len(result['findings'])} / "
                            f"{len(result['doses'])} | {statistics.median(times) * 1000:.0f} | "
                            f"{max(times) * 1000:.0f} | {'< 1 s' if counts else '(informative)'} | "
                            f"{('PASS' if passed else 'MISS') if counts else ('under 1 s' if passed else 'over 1 s')} |")
        finally:
            store.close()
    lines = [f"### Statistics over {nrec:,} records ({nfb:,} findings), PostgreSQL\n",
             f"Generated in the database in {gen:.0f} s (a year, 20 hospitals, 200 stations, CT/DX/MR). "
             "`central.stats.compute` with the sample rules' levels; 5 runs each, the slowest counts.\n",
             "| query | records in range | rows: groups / findings / doses | median ms | slowest ms | target | result |",
             "|---|---|---|---|---|---|---|", *rows, ""]
    return lines, ok


def station_main(argv: list[str]) -> int:
    """A station process: fill the outbox, wait for the go file, drain it to central; prints start and end."""
    from benchmarks.bench_feed import dose_record
    from qcedge.qc_client.client import FeedClient
    from qcedge.qc_client.outbox import Outbox

    endpoints, outbox_path, name, count, go = argv[0], argv[1], argv[2], int(argv[3]), Path(argv[4])
    outbox = Outbox(outbox_path)
    outbox.put_many([dose_record(i, station=name) for i in range(count)])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    t0 = time.time()
    client = FeedClient(endpoints, outbox, name).start()
    ok = client.flush(300)
    t1 = time.time()
    client.stop()
    print(f"done {ok} {t0} {t1}", flush=True)
    return 0 if ok else 1


def _feed_once(db: str, receivers: int, stations: int, per_station: int, work: Path) -> dict:
    procs = [start_receiver(db) for _ in range(receivers)]
    ends = [e for _, e in procs]
    go = work / "go"
    st = []
    try:
        for k in range(stations):
            order = ends[k % len(ends):] + ends[:k % len(ends)]
            st.append(subprocess.Popen([sys.executable, "-m", "benchmarks.bench_central", "--station", ",".join(order),
                                        str(work / f"outbox-{k}.sqlite"), f"bench-{k}", str(per_station), str(go)],
                                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for p in st:
            if "ready" not in p.stdout.readline():
                raise RuntimeError(f"station did not start: {p.stderr.read()[-500:]}")
        go.touch()
        spans = []
        for p in st:
            out, err = p.communicate(timeout=600)
            m = re.search(r"done (\w+) ([\d.]+) ([\d.]+)", out)
            if not m or m.group(1) != "True":
                raise RuntimeError(f"station failed: {out[-300:]} {err[-500:]}")
            spans.append((float(m.group(2)), float(m.group(3))))
    finally:
        for p in st:
            if p.poll() is None:
                p.kill()
        stored = 0
        for proc, _ in procs:
            proc.terminate()
            out, _ = proc.communicate(timeout=60)
            m = re.search(r"stopped: (\d+) stored", out)
            stored += int(m.group(1)) if m else 0
        go.unlink(missing_ok=True)
    total = stations * per_station
    seconds = max(e for _, e in spans) - min(s for s, _ in spans)
    return {"records": total, "seconds": seconds, "rate": total / seconds, "stored": stored}


def bench_feed(per_station: int, stations: int = 4) -> tuple[list[str], bool]:
    import psycopg

    from qcedge.central.pg_local import LocalPostgres

    rows, ok = [], True
    with tempfile.TemporaryDirectory(prefix="qcedge-bench-central-") as tmp, LocalPostgres.start(durable=True) as pg:
        work = Path(tmp)
        for label, receivers, kind in [("SQLite, 1 receiver (synchronous=FULL)", 1, "sqlite"),
                                       ("PostgreSQL, 1 receiver", 1, "pg"),
                                       ("PostgreSQL, 2 receivers (stations fail over between them)", 2, "pg")]:
            run_dir = work / f"{kind}-{receivers}"
            run_dir.mkdir()
            db = str(run_dir / "central.sqlite") if kind == "sqlite" else pg.create_database(f"c{receivers}")
            r = _feed_once(db, receivers, stations, per_station, run_dir)
            if kind == "pg":
                with psycopg.connect(db, autocommit=True) as conn:
                    once = conn.execute("SELECT count(*), count(DISTINCT (station, record_id)) FROM records").fetchone()
            else:
                import sqlite3

                con = sqlite3.connect(db)
                once = con.execute("SELECT count(*), count(DISTINCT station || '/' || record_id) FROM records").fetchone()
                con.close()
            counts = receivers == 2
            exact = once[0] == once[1] == r["records"]
            passed = r["rate"] >= FEED_TARGET and exact
            ok = ok and (passed or not counts)
            rows.append(f"| {label} | {r['records']} | {r['seconds']:.2f} | {r['rate']:.0f} | {exact} | "
                        f"{'>= 2000/s' if counts else '(informative)'} | "
                        f"{('PASS' if passed else 'MISS') if counts else '-'} |")
    load = os.getloadavg()[0]
    lines = [f"### Durable acked throughput: {stations} stations draining {per_station} records each\n",
             "Station processes start together with records waiting in their outboxes; the clock runs from the first "
             "start to the last empty outbox. Every record is committed by central (SQLite synchronous=FULL; "
             "PostgreSQL fsync and synchronous_commit on) before its ack. Stations, receivers and PostgreSQL share "
             f"the machine's 2 cores (load average after: {load:.1f}).\n",
             "| central | records | seconds | records/s | stored once | target | result |",
             "|---|---|---|---|---|---|---|", *rows, ""]
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--station"]:
        return station_main(argv[1:])
    p = argparse.ArgumentParser(prog="bench_central")
    p.add_argument("--records", type=int, default=1_000_000, help="records for the statistics (default 1,000,000)")
    p.add_argument("--per-station", type=int, default=2500)
    p.add_argument("--only", choices=("stats", "feed"))
    args = p.parse_args(argv)
    lines = [header("Central: statistics over the archive, durable throughput of several receivers")]
    ok = True
    if args.only in (None, "stats"):
        part, good = bench_stats(args.records)
        lines += part
        ok = ok and good
    if args.only in (None, "feed"):
        part, good = bench_feed(args.per_station)
        lines += part
        ok = ok and good
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "central.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
