"""`qcedge status`: show the capture daemon's health from its status file."""
from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show the capture daemon's health (frames, screens, records, outbox, last ack)",
                       description="Print the status file the capture daemon keeps.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", "-c", type=Path, help="station config (its [status] file is read)")
    where.add_argument("--file", "-f", type=Path, help="the status file itself")
    p.add_argument("--json", action="store_true", help="print the raw JSON")
    p.set_defaults(func=run)


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _age(iso: str | None) -> str:
    if not iso:
        return "never"
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    s = (datetime.now(timezone.utc) - t).total_seconds()
    ago = f"{s:.0f} s ago" if s < 120 else f"{s / 60:.0f} min ago" if s < 7200 else f"{s / 3600:.1f} h ago"
    return f"{t.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({ago})"


def render(data: dict[str, Any]) -> str:
    state = data.get("state", "?")
    if state not in ("stopped", "finished") and data.get("pid") and not _pid_alive(data["pid"]):
        state += " (process not running: the daemon stopped without saying so)"
    lines = [
        f"station      {data.get('station')} @ {data.get('site')}   state: {state}   pid {data.get('pid')}"
        + (f"   qcedge {data['version']}" if data.get("version") else ""),
        f"started      {_age(data.get('started_at'))}   updated {_age(data.get('updated_at'))}",
        f"frames       seen {data.get('frames_seen', 0)}, changed {data.get('frames_changed', 0)}, "
        f"no signal {data.get('no_signal_frames', 0)}, bad {data.get('frame_errors', 0)}, "
        f"dropped while busy {data.get('frames_dropped', 0)}",
        f"screens      settled {data.get('screens_settled', 0)}, matched {data.get('screens_matched', 0)}, "
        f"unknown {data.get('unknown_screens', 0)} (saved {data.get('unknown_saved', 0)}), repeats {data.get('repeats', 0)}",
        f"records      made {data.get('records_made', 0)}, acked {data.get('records_acked', 0)}, "
        f"outbox depth {data.get('outbox_depth', '?')}, feedback {data.get('feedback_received', 0)}",
        f"last frame   {_age(data.get('last_frame_at'))}",
        f"last record  {_age(data.get('last_record_at'))}",
        f"last ack     {_age(data.get('last_ack_at'))}",
        f"feed         {data.get('feed_endpoint', '?')}  connected: {data.get('feed_connected', '?')}",
        f"errors       OCR {data.get('ocr_errors', 0)}, source {data.get('source_errors', 0)}, reconnects {data.get('reconnects', 0)}",
        f"last error   {data.get('last_error') or 'none'}" + (f" ({_age(data.get('last_error_at'))})" if data.get("last_error") else ""),
    ]
    lat = data.get("latency") or {}
    if lat:
        lines.append("latency      stage            count     p50 ms    p95 ms    max ms")
        for stage, s in lat.items():
            lines.append(f"             {stage:<15} {s.get('count', 0):>6} {s.get('p50_ms', 0):>10} {s.get('p95_ms', 0):>9} {s.get('max_ms', 0):>9}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from qcedge.errors import OperationFailed

    if args.config is not None:
        from qcedge.config import load_config

        path = load_config(args.config, check_secret=False).status.file
    else:
        path = args.file
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OperationFailed(f"no status file at {path} (has the daemon been started with this config?)") from None
    except (OSError, ValueError) as exc:
        raise OperationFailed(f"cannot read the status file {path}: {exc}") from None
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else render(data))
    return 0
