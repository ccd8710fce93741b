"""Start/stop the RIS program on a display (for asset making, benchmarks and tests)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from qcedge.capture.xvfb import stop_process


ROOT = Path(__file__).resolve().parents[2]


class RisProcess:
    """The RIS program as a subprocess on `display`; `ready` holds its widget geometry once painted."""

    def __init__(self, display: str, workdir: Path, *args: str, timeout: float = 20.0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.out = workdir / "saved.jsonl"
        self.events = workdir / "events.jsonl"
        ready = workdir / f"ready-{time.monotonic_ns()}.json"
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        env.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "samples.ris_app", "--out", str(self.out), "--events", str(self.events),
             "--ready", str(ready), *args],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"RIS app exited: {self.proc.stderr.read().decode(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("RIS app did not become ready")
            time.sleep(0.05)
        self.ready = json.loads(ready.read_text())
        ready.unlink()

    def saved(self) -> list[dict]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text(encoding="utf-8").splitlines() if line.strip()]

    def input_events(self) -> list[dict]:
        if not self.events.exists():
            return []
        lines = self.events.read_text(encoding="utf-8").splitlines()
        return [e for e in map(json.loads, lines) if e.get("event") in ("key", "mouse")]

    def stop(self) -> None:
        stop_process(self.proc)
        if self.proc.stderr:
            self.proc.stderr.close()
