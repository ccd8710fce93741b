"""`qcedge demo`: the capture daemon on the bundled sample recording, feeding a local receiver.

No configuration needed: it starts a reference receiver on a free loopback port
(with samples/rules/rules.yaml when present), runs the daemon on
samples/generated/recording.mp4 (paced like a live console, or --fast), prints
records, acknowledgements and QC feedback as they arrive, and stops at the end
of the recording with a summary.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the capture daemon on the sample recording, feeding a local receiver",
                       description="See records and QC feedback arrive with no configuration: a local receiver, "
                                   "the capture daemon on samples/generated/recording.mp4, and a summary at the end.")
    p.add_argument("--fast", action="store_true", help="read the recording as fast as it decodes instead of live pace")
    p.add_argument("--recording", type=Path, default=SAMPLES / "generated" / "recording.mp4", help="video to watch")
    p.add_argument("--templates", type=Path, default=SAMPLES / "templates", help="template pack folder")
    p.add_argument("--rules", type=Path, default=SAMPLES / "rules" / "rules.yaml", help="receiver rules (if present)")
    p.add_argument("--engine", default="ppocr", choices=["ppocr", "tesseract"], help="OCR engine")
    p.add_argument("--workdir", type=Path, help="keep outbox, receiver DB and status here (default: a temp folder, removed)")
    p.set_defaults(func=run)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Printer:
    """Friendly, thread-safe lines for what happens."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.feedback: Counter[str] = Counter()
        self.templates: dict[str, str] = {}

    def line(self, kind: str, text: str) -> None:
        s = time.monotonic() - self.t0
        with self.lock:
            print(f"[{int(s // 60):02d}:{s % 60:04.1f}] {kind:<9} {text}", flush=True)

    def made(self, made: Any) -> None:
        r = made.record
        tid = r.template.id if r.template else "?"
        self.templates[r.id] = tid
        shown = []
        for name, fv in r.fields.items():
            if fv.personal:
                shown.append(f"{name}=<hashed>")
            elif fv.rows is not None:
                shown.append(f"{name}=[{len(fv.rows)} rows]")
            elif fv.valid:
                shown.append(f"{name}={fv.value}")
            else:
                shown.append(f"{name}=?{fv.text!r}")
        more = f" (+{len(shown) - 6} more)" if len(shown) > 6 else ""
        status = "complete" if r.status == "complete" else "NEEDS REVIEW"
        why = "" if made.reason == "new" else f", {made.reason} values"
        self.line("record", f"{tid} ({status}{why}): {', '.join(shown[:6])}{more}")

    def acked(self, record_id: str, latency: float | None) -> None:
        tid = self.templates.get(record_id, record_id[:8])
        self.line("acked", f"{tid} stored by central" + (f", {latency:.2f} s after the screen settled" if latency is not None else ""))

    def fed_back(self, fb: Any) -> None:
        self.feedback[fb.level] += 1
        tid = self.templates.get(fb.record_id, "")
        self.line("feedback", f"{fb.level.upper():<5} {fb.message}" + (f"  ({tid})" if tid else ""))


def _ensure_samples(recording: Path) -> None:
    if recording.is_file():
        return
    if recording.parent == SAMPLES / "generated":
        print("qcedge demo: generating the samples first (python -m samples.generate) ...", flush=True)
        subprocess.run([sys.executable, "-m", "samples.generate", "--quiet"], cwd=ROOT, check=False)
    if not recording.is_file():
        from qcedge.errors import UsageError

        raise UsageError(f"no recording at {recording} (run: python -m samples.generate)")


def run(args: argparse.Namespace) -> int:
    from qcedge.errors import UsageError
    from qcedge.config import parse_config
    from qcedge.logs import configure

    _ensure_samples(args.recording)
    if not args.templates.is_dir():
        raise UsageError(f"no template pack at {args.templates}")
    configure("DEBUG" if args.verbose >= 2 else "INFO" if args.verbose else "WARNING", json_lines=False)
    if not args.verbose:
        logging.getLogger("qcedge.notify").setLevel(logging.ERROR)  # feedback is printed below instead
    work = args.workdir or Path(tempfile.mkdtemp(prefix="qcedge-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    secret = work / "site.secret"
    secret.write_text(secrets.token_hex(32))
    os.chmod(secret, 0o600)
    port = _free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    rules = args.rules if args.rules and args.rules.is_file() else None
    config = parse_config({
        "station": {"id": "demo-ct-1", "site": "demo-hospital"},
        "source": {"kind": "file", "path": str(args.recording.resolve()), "pace": 1},
        "templates": {"folder": str(args.templates.resolve()), "engine": args.engine},
        "detection": {"fps": 5, "settle_frames": 3},
        "feed": {"endpoint": endpoint, "outbox": str(work / "outbox.sqlite")},
        "privacy": {"default": "drop", "fields": {"patient_id": "hash"}, "secret_file": str(secret)},
        "unknown": {"save_folder": str(work / "unknown"), "max_saved": 20},
        "status": {"file": str(work / "status.json"), "interval": 2},
        "logging": {"level": "WARNING", "json": False},
    }, "<demo>")

    from qcedge.qc_client.receiver import Receiver
    from qcedge.daemon import Daemon
    from qcedge.notify import Notifier

    out = _Printer()
    pace = "as fast as it decodes" if args.fast else "at live pace (use --fast to go faster)"
    print(f"qcedge demo: watching {_rel(args.recording)} {pace}")
    receiver = _start_receiver(Receiver, f"tcp://127.0.0.1:{port}", work / "central.sqlite", rules)
    print(f"  central   reference receiver on {endpoint}" + (f", rules {_rel(rules)}" if rules else ", no rules file"))
    print(f"  station   {config.station.id} @ {config.station.site}; patient ID hashed, other personal fields dropped")
    print("  loading the templates and the OCR models ...", flush=True)
    daemon = Daemon(config, file_pace=0.0 if args.fast else None, on_made=out.made, on_ack=out.acked, on_feedback=out.fed_back,
                    notifier=Notifier(), drain_seconds=15.0, linger=1.5)
    daemon.install_signal_handlers()
    started = time.monotonic()
    try:
        daemon.run()
    finally:
        _stop_receiver(receiver)
    h = daemon.health
    fb = ", ".join(f"{n} {lvl}" for lvl, n in sorted(out.feedback.items())) or "none"
    print()
    print(f"Summary: {h.records_made} records made, {h.records_acked} acknowledged by central, feedback: {fb}.")
    print(f"         {h.screens_matched} screens read, {h.unknown_screens} unknown screens, {h.repeats} repeats "
          f"(same screen again: no new record), {h.frames_seen} frames in {time.monotonic() - started:.0f} s.")
    expected = _expected_records(args.recording)
    if expected is not None:
        verdict = "as expected" if expected == h.records_made else "expected"
        print(f"         The recording has {expected} taught screen appearances ({verdict}: one record each).")
    lat = h.latencies.summary().get("settle_to_ack")
    if lat:
        print(f"         screen settled -> acknowledged: median {lat['p50_ms'] / 1000:.2f} s, p95 {lat['p95_ms'] / 1000:.2f} s.")
    if args.workdir:
        print(f"         outbox, receiver database and status file kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if h.records_made and h.records_acked == h.records_made else 1


def _expected_records(recording: Path) -> int | None:
    meta = recording.with_suffix(".json")
    try:
        return len(json.loads(meta.read_text(encoding="utf-8"))["expected_records"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def _start_receiver(cls: Any, bind: str, db: Path, rules: Path | None) -> Any:
    receiver = cls(bind, db, rules=rules)
    start = getattr(receiver, "start", None)
    if start is not None:
        start()
    else:
        threading.Thread(target=receiver.run, name="receiver", daemon=True).start()
    logging.getLogger(__name__).debug("receiver started on %s", bind)
    return receiver


def _stop_receiver(receiver: Any) -> None:
    for name in ("stop", "close"):
        fn = getattr(receiver, name, None)
        if fn is not None:
            fn()
            return
