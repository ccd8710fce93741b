"""Helpers for the daemon tests: a real receiver on a loopback port, station configs, daemon processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from qcedge.logs import read_events

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "samples" / "rules" / "rules.yaml"
TEMPLATES = ROOT / "samples" / "templates"
SECRET = "test-site-secret-0123456789"


class Central:
    """A real qc_client Receiver (ROUTER socket, SQLite store) in this process."""

    def __init__(self, db: Path, keys: Any = None, allowed: Path | None = None, bind: str = "tcp://127.0.0.1:*") -> None:
        from qcedge.qc_client.receiver import Receiver

        self.receiver = Receiver(bind, db, rules=RULES if RULES.is_file() else None,
                                 keys=keys, allowed_station_keys=allowed)
        self.receiver.start()
        self.endpoint = self.receiver.endpoint

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _station, _seq, _rid, body in self.receiver.store.records()]

    def raw_bodies(self) -> list[str]:
        return [body for *_, body in self.receiver.store.records()]

    def wait_for(self, n: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.receiver.store.count() >= n:
                break
            time.sleep(0.1)
        return self.records()

    def close(self) -> None:
        self.receiver.close()


def station_toml(tmp_path: Path, endpoint: str, video: Path, *, privacy: str | None = None, extra: str = "",
                 warm_up: bool = False) -> Path:
    """Write a station config for `video` feeding `endpoint`; returns its path."""
    (tmp_path / "site.secret").write_text(SECRET)
    privacy = privacy or '[privacy]\ndefault = "drop"\nsecret_file = "site.secret"\n[privacy.fields]\npatient_id = "hash"\n'
    text = f"""
[station]
id = "test-st"
site = "test-site"

[source]
kind = "file"
path = "{video}"

[templates]
folder = "{TEMPLATES}"
warm_up = {str(warm_up).lower()}

[detection]
fps = 5
settle_frames = 3

[feed]
endpoint = "{endpoint}"
outbox = "var/outbox.sqlite"

{privacy}

[unknown]
save_folder = "var/unknown"

[status]
file = "var/status.json"
interval = 0.5

[logging]
level = "INFO"
json = true
{extra}
"""
    path = tmp_path / "station.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_daemon(config: Path, *, fast: bool = True, log: Path | None = None) -> subprocess.Popen:
    """`python -m qcedge run --config ...` as a real process (its own process group)."""
    cmd = [sys.executable, "-m", "qcedge", "run", "--config", str(config)] + (["--fast"] if fast else [])
    out = open(log or config.with_suffix(".log"), "ab")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def run_daemon(config: Path, timeout: float = 120.0) -> None:
    """Run the daemon on a config until its (finite) source ends; it must exit with 0 within `timeout` s."""
    daemon = start_daemon(config)
    try:
        assert daemon.wait(timeout) == 0
    finally:
        stop_process(daemon)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        proc.wait(10)


def read_status(config: Path) -> dict[str, Any]:
    return json.loads((config.parent / "var" / "status.json").read_text())


def log_events(config: Path) -> list[dict[str, Any]]:
    return read_events(config.with_suffix(".log"))


# Screens of a short console session made from the generated sample frames (with their ground truth):
# a CT dose report, an unknown desktop, a DR exposure panel, a RIS form, the first CT report again
# (same identity and values: no new record) and a second CT report.
SESSION = [("ct_dose/ct_dose_000_clean.png", 3.0), ("foreign_desktop/foreign_desktop_000_clean.png", 2.0),
           ("dr_exposure/dr_exposure_000_clean.png", 3.0), ("ris_registration/ris_registration_000_clean.png", 3.0),
           ("ct_dose/ct_dose_000_clean.png", 2.0), ("ct_dose/ct_dose_001_clean.png", 3.0)]


class Session:
    def __init__(self, video: Path, truth: list[dict[str, Any]]) -> None:
        self.video = video
        self.truth = truth  # one manifest entry per expected record, in order

    @property
    def accessions(self) -> list[str]:
        return [t["fields"]["accession"] for t in self.truth]


