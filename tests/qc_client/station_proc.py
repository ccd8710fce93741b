"""A station process for the feed tests: makes records 0..count-1 and feeds them.

It resumes after a crash where its outbox says it stopped (the outbox's last
sequence number for the station), as the capture daemon does.

    python tests/qc_client/station_proc.py ENDPOINT OUTBOX --count N [--interval S] [--exit-when-done]
        [--stop-file PATH] [--feedback-log PATH]

With --stop-file it submits until that file exists (or --count is reached); with
--feedback-log it appends `record_id level` for each feedback it shows.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from feedtools import FAST, make_record  # noqa: E402
from qcedge.qc_client.client import FeedClient  # noqa: E402
from qcedge.qc_client.outbox import Outbox  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("endpoint")
    p.add_argument("outbox")
    p.add_argument("--station", default="st1")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--interval", type=float, default=0.0)
    p.add_argument("--exit-when-done", action="store_true")
    p.add_argument("--stop-file", type=Path)
    p.add_argument("--feedback-log", type=Path)
    args = p.parse_args()
    outbox = Outbox(args.outbox)
    shown = open(args.feedback_log, "a", encoding="utf-8", buffering=1) if args.feedback_log else None

    def on_feedback(fb) -> None:
        if shown is not None:
            shown.write(f"{fb.record_id} {fb.level}\n")

    client = FeedClient(args.endpoint, outbox, args.station, on_feedback=on_feedback, **FAST).start()
    start = outbox.last_seq(args.station)  # record i has seq i + 1
    print(f"resuming at {start}", flush=True)
    i = start
    for i in range(start, args.count):
        if args.stop_file is not None and i % 20 == 0 and args.stop_file.exists():
            break
        client.submit(make_record(i, station=args.station, CTDIvol=10.0 + i % 50))
        if args.interval:
            time.sleep(args.interval)
    else:
        i = args.count
    print(f"all submitted {i}", flush=True)
    if args.exit_when_done:
        ok = client.flush(30)
        client.stop()
        print(f"done {ok} {client.stats().acked}", flush=True)
        return 0 if ok else 1
    while True:
        time.sleep(1)


if __name__ == "__main__":
    raise SystemExit(main())
