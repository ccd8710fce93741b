"""Durable feed throughput: records committed to the outbox, sent, acked by central, removed.

The station side (outbox + FeedClient) runs in this process; central (`qcedge receive`,
storing every record in SQLite with synchronous=FULL before acking) in another, as it would
on another machine. Each record is submitted on its own (one durable commit each), a
CT-dose-like record of 20 fields (~2.5 kB JSON). Plaintext and CURVE.

    python -m benchmarks.run feed        (or: python -m benchmarks.bench_feed [--records N])
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.run import RESULTS, header
from qc_client.client import FeedClient
from qc_client.keys import ClientKeys, generate_keypair
from qc_client.outbox import Outbox
from qc_client.record import CheckValue, FieldValue, Record, TemplateRef

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


def start_receiver(db: Path, keys: Path | None, allow: Path | None) -> tuple[subprocess.Popen, str]:
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


def run_once(n: int, curve: bool, workdir: Path) -> dict[str, float]:
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
    try:
        records = [dose_record(i) for i in range(n)]
        outbox = Outbox(workdir / "outbox.sqlite")  # synchronous=FULL: each put is on disk when it returns
        client = FeedClient(endpoint, outbox, "bench-1", keys=ck).start()
        # warm up: connection (and CURVE handshake) up, first record acked
        client.submit(dose_record(-1))
        if not client.flush(30):
            raise RuntimeError("warm-up record was not acked")
        t0 = time.perf_counter()
        for rec in records:
            client.submit(rec)
        t_put = time.perf_counter() - t0
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
            "acked": st.acked - 1, "resent": st.resent, "stored": int(stored.group(1)) - 1 if stored else -1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_feed", description=__doc__)
    parser.add_argument("--records", type=int, default=3000)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    rows = []
    for curve in (False, True):
        with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
            res = run_once(args.records, curve, Path(tmp))
        res["mode"] = "CURVE" if curve else "plaintext"
        res["verdict"] = "PASS" if res["rate"] >= TARGET and res["stored"] == res["records"] == res["acked"] else "MISS"
        rows.append(res)
        print(f"{res['mode']}: {res['rate']:.0f} records/s end to end ({res['records']} records, "
              f"{res['seconds']:.2f} s; submit alone {res['put_rate']:.0f}/s; resent {res['resent']}) {res['verdict']}")
    lines = [header("Feed: durable throughput"),
             "Records submitted one at a time to the station outbox (SQLite WAL, synchronous=FULL: committed to disk "
             "before submit returns), pipelined by FeedClient to `qcedge receive` in another process (which commits "
             "each record to SQLite, synchronous=FULL, before acking), acked and removed from the outbox. The clock "
             "runs from the first submit until the outbox is empty. Record: CT dose, 20 fields, ~2.5 kB JSON.\n",
             "| mode | records | seconds | end-to-end records/s | submit alone records/s | resent | stored once | target | result |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['records']} | {r['seconds']:.2f} | {r['rate']:.0f} | {r['put_rate']:.0f} | "
                     f"{r['resent']} | {r['stored'] == r['records']} | >= {TARGET:.0f}/s | {r['verdict']} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "feed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if all(r["verdict"] == "PASS" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
