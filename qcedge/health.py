"""Daemon health: counters, per-stage latencies, and the status file (JSON, atomically replaced)."""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STAGES = ("grab", "change", "match", "read", "record", "outbox", "settle_to_ack")


class Latencies:
    """A rolling window of the last `size` samples per stage, in seconds."""

    def __init__(self, size: int = 500) -> None:
        self._samples: dict[str, deque[float]] = {}
        self._counts: dict[str, int] = {}
        self._size = size
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._samples.setdefault(stage, deque(maxlen=self._size)).append(seconds)
            self._counts[stage] = self._counts.get(stage, 0) + 1

    def samples(self, stage: str) -> list[float]:
        with self._lock:
            return list(self._samples.get(stage, ()))

    def summary(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        with self._lock:
            items = [(k, sorted(v), self._counts[k]) for k, v in self._samples.items()]
        for stage, values, count in items:
            if not values:
                continue
            out[stage] = {
                "count": count,
                "p50_ms": round(1000 * _pct(values, 50), 2),
                "p95_ms": round(1000 * _pct(values, 95), 2),
                "max_ms": round(1000 * values[-1], 2),
            }
        return out


def _pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class Health:
    """What `qcedge status` shows. Counters only; never field values."""

    station: str
    site: str
    started_at: float = field(default_factory=time.time)
    state: str = "starting"
    frames_seen: int = 0
    frames_changed: int = 0
    frames_dropped: int = 0
    screens_settled: int = 0
    screens_matched: int = 0
    unknown_screens: int = 0
    unknown_saved: int = 0
    no_signal_frames: int = 0
    repeats: int = 0
    covered_waits: int = 0      # settled screens with covered fields held back for a clearer view
    covered_dropped: int = 0    # ... given up because that screen had already been recorded
    records_made: int = 0
    records_acked: int = 0
    feedback_received: int = 0
    frame_errors: int = 0
    ocr_errors: int = 0
    source_errors: int = 0
    reconnects: int = 0
    last_record_at: float | None = None
    last_ack_at: float | None = None
    last_feedback_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    latencies: Latencies = field(default_factory=Latencies)

    def error(self, message: str) -> None:
        self.last_error = message
        self.last_error_at = time.time()

    def snapshot(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        def iso(t: float | None) -> str | None:
            return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")

        now = time.time()
        data = {
            "schema": "qcedge.status/1",
            "station": self.station,
            "site": self.site,
            "pid": os.getpid(),
            "state": self.state,
            "started_at": iso(self.started_at),
            "updated_at": iso(now),
            "uptime_s": round(now - self.started_at, 1),
            "frames_seen": self.frames_seen,
            "frames_changed": self.frames_changed,
            "frames_dropped": self.frames_dropped,
            "no_signal_frames": self.no_signal_frames,
            "screens_settled": self.screens_settled,
            "screens_matched": self.screens_matched,
            "unknown_screens": self.unknown_screens,
            "unknown_saved": self.unknown_saved,
            "repeats": self.repeats,
            "covered_waits": self.covered_waits,
            "covered_dropped": self.covered_dropped,
            "records_made": self.records_made,
            "records_acked": self.records_acked,
            "feedback_received": self.feedback_received,
            "frame_errors": self.frame_errors,
            "ocr_errors": self.ocr_errors,
            "source_errors": self.source_errors,
            "reconnects": self.reconnects,
            "last_record_at": iso(self.last_record_at),
            "last_ack_at": iso(self.last_ack_at),
            "last_feedback_at": iso(self.last_feedback_at),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "latency": self.latencies.summary(),
        }
        if extra:
            data.update(extra)
        return data


def write_status(path: str | Path, data: dict[str, Any]) -> None:
    """Write the status file atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_status(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
