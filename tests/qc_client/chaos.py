"""Chaos for the feed: central stopped with SIGTERM or kill -9, again and again, while a station
process submits without pause. Used by a lean test and by benchmarks/bench_feed.py (100 cycles).

The station (station_proc.py) feeds records 0..N-1 with CTDIvol 10 + i % 50, so the sample rules
give one `warn` feedback for each record with i % 50 in 41..49; it logs each feedback it shows.
"""
from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RULES = ROOT / "samples" / "rules" / "rules.yaml"
sys.path.insert(0, str(HERE))

from feedtools import free_port, make_record  # noqa: E402


@dataclass
class ChaosResult:
    """What a chaos run did and found; `ok` when the feed lost, doubled and repeated nothing."""

    cycles: int = 0           # times central was stopped
    sigterms: int = 0         # of them, with SIGTERM
    kills: int = 0            # of them, with kill -9
    submitted: int = 0        # records the station committed to its outbox
    stored: int = 0           # records central holds at the end
    missing: int = 0          # seqs submitted that central does not hold
    doubled: int = 0          # seqs central holds more than once
    wrong: int = 0            # stored records that are not the expected ones in order
    station_rc: int | None = None
    station_aborted: bool = False  # libzmq aborted the station process (an assertion)
    feedback_expected: int = 0     # records the sample rules warn about
    feedback_missing: int = 0      # of them, never shown at the station
    feedback_repeated: int = 0     # feedback shown more than once
    outbox_left: int = -1     # rows left in the station's outbox at the end
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.station_aborted and self.station_rc == 0 and self.missing == 0 and self.doubled == 0
                and self.wrong == 0 and self.feedback_missing == 0 and self.feedback_repeated == 0
                and self.outbox_left == 0 and self.stored == self.submitted)


def _start_central(endpoint: str, db: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "qcedge", "receive", "--bind", endpoint, "--db", str(db),
                             "--rules", str(RULES), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not re.search(r"receiving on", line):
        proc.kill()
        raise RuntimeError(f"central did not start: {line!r} {proc.stderr.read()[-500:]}")
    return proc


def _stop_central(proc: subprocess.Popen, sig: int) -> None:
    proc.send_signal(sig)
    proc.communicate(timeout=30)


def run_chaos(workdir: Path, *, cycles: int, seed: int = 1, up: tuple[float, float] = (0.2, 0.7),
              down: tuple[float, float] = (0.0, 0.3), max_records: int = 1_000_000,
              interval: float = 0.0) -> ChaosResult:
    """Stop central `cycles` times (SIGTERM and kill -9, alternating by chance) while the station submits."""
    rng = random.Random(seed)
    res = ChaosResult()
    workdir.mkdir(parents=True, exist_ok=True)
    db, outbox = workdir / "central.sqlite", workdir / "station.sqlite"
    stop_file, fb_log = workdir / "stop", workdir / "feedback.log"
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    central = _start_central(endpoint, db)
    station = subprocess.Popen([sys.executable, str(HERE / "station_proc.py"), endpoint, str(outbox),
                                "--count", str(max_records), "--interval", str(interval), "--exit-when-done",
                                "--stop-file", str(stop_file), "--feedback-log", str(fb_log)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(cycles):
            time.sleep(rng.uniform(*up))
            if station.poll() is not None:
                res.errors.append(f"station exited during the chaos with {station.returncode}")
                break
            sig = signal.SIGTERM if rng.random() < 0.5 else signal.SIGKILL
            _stop_central(central, sig)
            res.cycles += 1
            res.sigterms += sig == signal.SIGTERM
            res.kills += sig == signal.SIGKILL
            time.sleep(rng.uniform(*down))
            central = _start_central(endpoint, db)
        stop_file.touch()
        try:
            out, err = station.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            station.kill()
            out, err = station.communicate()
            res.errors.append("station did not finish within 180 s")
        res.station_rc = station.returncode
        res.station_aborted = station.returncode in (-signal.SIGABRT, 134) or "Assertion failed" in err
        if res.station_aborted:
            res.errors.append(err.strip().splitlines()[-1] if err.strip() else "abort")
        match = re.search(r"all submitted (\d+)", out)
        res.submitted = int(match.group(1)) if match else 0
    finally:
        if station.poll() is None:
            station.kill()
            station.communicate()
        if central.poll() is None:
            _stop_central(central, signal.SIGTERM)
    res.seconds = time.monotonic() - t0
    _check(res, db, outbox, fb_log)
    return res


def _check(res: ChaosResult, db: Path, outbox: Path, fb_log: Path) -> None:
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute("SELECT seq, record_id FROM records WHERE station='st1' ORDER BY seq").fetchall()
    finally:
        con.close()
    res.stored = len(rows)
    seqs = Counter(seq for seq, _ in rows)
    res.doubled = sum(n - 1 for n in seqs.values() if n > 1)
    res.missing = sum(1 for s in range(1, res.submitted + 1) if s not in seqs)
    res.wrong = sum(1 for seq, rid in rows if seq > res.submitted or rid != make_record(seq - 1).id)
    expected = {make_record(i).id for i in range(res.submitted) if 10.0 + i % 50 > 50}
    shown = Counter(line.split()[0] for line in fb_log.read_text().splitlines()) if fb_log.exists() else Counter()
    res.feedback_expected = len(expected)
    res.feedback_missing = len(expected - set(shown))
    res.feedback_repeated = sum(n - 1 for n in shown.values() if n > 1)
    con = sqlite3.connect(outbox, timeout=30)
    try:
        res.outbox_left = con.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        con.close()
