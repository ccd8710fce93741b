"""`qcedge receive`: the reference central receiver of the feed (qcedge-feed/1).

Binds a ROUTER, stores every record (SQLite file, or PostgreSQL with
--db postgresql://...) before acking it, applies a rules file and sends feedback,
prints one line per record. Stops on SIGTERM/SIGINT. Several receivers may share
one PostgreSQL database: a record that reaches two of them is stored once.
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import datetime
from pathlib import Path

from qcedge.errors import UsageError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("receive", help="run the reference central receiver of the feed",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bind", default="tcp://127.0.0.1:5555", help="ROUTER endpoint (default tcp://127.0.0.1:5555)")
    p.add_argument("--db", default="central.sqlite",
                   help="SQLite file, or a PostgreSQL URL (postgresql://user@host/db), for received records "
                        "(default central.sqlite); the schema is created or migrated on start")
    p.add_argument("--rules", help="rules file (YAML or TOML), e.g. samples/rules/rules.yaml")
    p.add_argument("--keys", help="folder with the server's CURVE key pair (server.key_secret): turns CURVE on")
    p.add_argument("--key-name", default="server", help="name of the server key pair in --keys (default server)")
    p.add_argument("--allow", help="folder of station public keys (*.key): only these may connect")
    p.add_argument("--pub", help="also publish a live tap for dashboards on this endpoint (PUB, lossy)")
    p.add_argument("--max-bytes", type=int, default=None, help="message size limit (default 1 MiB)")
    p.add_argument("--kb", metavar="DIR", help="knowledge-base folder: offer its published release to stations "
                   "(docs/kb.md)")
    p.add_argument("--quiet", action="store_true", help="do not print a line per record")
    p.set_defaults(func=run)


def _line(arrival) -> str:
    from qcedge.qc_client.record import summarize

    s = summarize(arrival.record, max_values=4)
    values = " ".join(f"{k}={v}" for k, v in s["values"].items())
    flag = " DUPLICATE" if arrival.duplicate else ""
    gap = f" GAP {arrival.gap.first}..{arrival.gap.last}" if arrival.gap else ""
    when = datetime.now().strftime("%H:%M:%S")
    return (f"{when} record {arrival.station} seq={arrival.seq} {s['template'] or arrival.record.kind} "
            f"{arrival.record.status}{flag}{gap} {values}").rstrip()


def run(args: argparse.Namespace) -> int:
    from qcedge.qc_client.keys import ServerKeys
    from qcedge.qc_client.protocol import DEFAULT_MAX_BYTES
    from qcedge.qc_client.receiver import Receiver
    from qcedge.qc_client.rules import load_rules

    rules = load_rules(args.rules) if args.rules else None  # RulesError, KeyFileError: bad input, exit 2
    keys = ServerKeys.from_dir(args.keys, args.key_name) if args.keys else None
    if args.allow and not keys:
        raise UsageError("--allow needs --keys (the allow-list is checked with CURVE)")
    if args.allow and not Path(args.allow).is_dir():
        raise UsageError(f"--allow {args.allow}: not a folder")
    max_bytes = args.max_bytes or DEFAULT_MAX_BYTES
    if max_bytes < 1024:
        raise UsageError("--max-bytes must be at least 1024")

    out_lock = threading.Lock()

    def emit(text: str) -> None:
        with out_lock:
            print(text, flush=True)

    def on_record(arrival) -> None:
        if not args.quiet:
            emit(_line(arrival))

    def on_feedback(record_id: str, body: dict) -> None:
        if not args.quiet:
            emit(f"  feedback {body['level']} [{body.get('rule')}] {body['message']} -> record {record_id}")

    from qcedge.central.stores import is_postgres, open_store

    store = open_store(args.db)  # SchemaError (a schema this qcedge cannot use): exit 2; StoreUnavailable: exit 1
    where = store.where if is_postgres(args.db) else args.db  # type: ignore[attr-defined]
    kb = None
    if args.kb:
        from qcedge.central.kb import KbCentral

        if not Path(args.kb).is_dir():
            store.close()
            raise UsageError(f"--kb {args.kb}: not a folder (make it with `qcedge kb keys`)")
        try:
            kb = KbCentral(args.kb)
        except OSError as exc:  # the message names no option: say which
            store.close()
            raise UsageError(f"--kb {args.kb}: {exc}") from None
    try:
        receiver = Receiver(args.bind, store, rules=rules, keys=keys,
                            allowed_station_keys=args.allow if args.allow else None,
                            on_record=on_record, on_feedback=on_feedback, max_bytes=max_bytes, pub_bind=args.pub,
                            kb=kb)
        receiver.open()  # KeyFileError in --allow: exit 2; an endpoint it cannot bind (OSError): exit 1
    except BaseException:
        store.close()
        raise

    def stop(signum, frame) -> None:
        receiver.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.allow:
        def reload(signum, frame) -> None:
            try:
                emit(f"allow-list reloaded: {receiver.reload_allowed()} station keys")
            except (ValueError, OSError) as exc:  # a broken key file (KeyFileError): keep the old list
                emit(f"allow-list NOT reloaded: {exc}")

        signal.signal(signal.SIGHUP, reload)
    emit(f"receiving on {receiver.endpoint}{' (CURVE)' if keys else ''}, storing in {where}"
         + (f", rules {args.rules}" if rules else "") + (f", live tap {receiver.pub_endpoint}" if args.pub else ""))
    try:
        receiver.run()
    finally:
        st = receiver.stats()
        gaps = receiver.gaps()
        receiver.store.close()
        emit(f"stopped: {st.stored} stored, {st.duplicates} duplicates, {st.rejected} rejected, "
             f"{st.malformed} malformed, {st.oversized} oversized, {st.refused} refused (revoked key), "
             f"{st.failed} failed, {st.feedback_sent} feedback sent")
        for gap in gaps[:20]:
            emit(f"  missing: station {gap.station} seq {gap.first}..{gap.last}")
    return 0
