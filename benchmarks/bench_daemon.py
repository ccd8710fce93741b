"""The capture daemon, measured as a real process against a real receiver.

    python -m benchmarks.bench_daemon                       # defaults: 3 latency passes, 60 s idle, 300 s memory
    python -m benchmarks.bench_daemon --memory-seconds 3600 # the issue's hour of the recording in a loop

1. Screen settled -> ack latency (p95 < 1 s): `qcedge run` on samples/generated/recording.mp4,
   read as fast as it decodes, several passes (fresh outbox each: 5 records a pass); the
   latencies are the daemon's own `settle_to_ack_ms` log fields (settled frame -> central's ack).
2. Idle CPU (< 5 % of one core): the daemon watching an unchanging 1920x1080 screen (Xvfb, a
   sample console frame shown full screen) at 5 fps, CPU time of the process from /proc.
3. Resident memory (< 500 MB, flat): the daemon on the recording in a loop at live pace
   (`pace = 1`), VmRSS sampled every 5 s; "flat" = the linear trend after the first loop,
   extrapolated over the run, grows less than max(10 MB, 3 %).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import RESULTS, header
from qcedge.capture.xvfb import VirtualDisplay
from qcedge.logs import read_events

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "samples" / "generated"
TEMPLATES = ROOT / "samples" / "templates"
RULES = ROOT / "samples" / "rules" / "rules.yaml"
PY = sys.executable


def _config(work: Path, endpoint: str, source: str, *, level: str = "INFO") -> Path:
    (work / "site.secret").write_text("benchmark-site-secret")
    text = f"""
[station]
id = "bench-st"
site = "bench-site"
[source]
{source}
[templates]
folder = "{TEMPLATES}"
[detection]
fps = 5
settle_frames = 3
[feed]
endpoint = "{endpoint}"
outbox = "{work / 'outbox.sqlite'}"
[privacy]
default = "drop"
secret_file = "site.secret"
[privacy.fields]
patient_id = "hash"
[status]
file = "{work / 'status.json'}"
interval = 2
[logging]
level = "{level}"
json = true
"""
    path = work / "station.toml"
    path.write_text(text)
    return path


def _daemon(config: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    log = open(config.with_suffix(".log"), "ab")
    return subprocess.Popen([PY, "-m", "qcedge", "run", "--config", str(config), *extra], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _events(config: Path) -> list[dict[str, Any]]:
    return read_events(config.with_suffix(".log"))


def _wait_running(config: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    status = config.parent / "status.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode}; see {config.with_suffix('.log')}")
        try:
            if json.loads(status.read_text()).get("state") == "running":
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError("daemon did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _receiver(work: Path) -> Any:
    from qcedge.qc_client.receiver import Receiver

    return Receiver("tcp://127.0.0.1:*", work / "central.sqlite", rules=RULES if RULES.is_file() else None).start()


def _ensure_recording() -> Path:
    video = GENERATED / "recording.mp4"
    if not video.is_file():
        subprocess.run([PY, "-m", "samples.generate", "--quiet"], cwd=ROOT, check=True)
    return video


# ---- 1. latency ------------------------------------------------------------------------------

def bench_latency(passes: int) -> dict[str, Any]:
    video = _ensure_recording()
    samples: list[float] = []
    records = acked = 0
    wall = []
    stages: dict[str, list[float]] = {}
    for i in range(passes):
        work = Path(tempfile.mkdtemp(prefix=f"qcedge-bench-lat{i}-"))
        receiver = _receiver(work)
        try:
            config = _config(work, receiver.endpoint, f'kind = "file"\npath = "{video}"')
            t0 = time.monotonic()
            proc = _daemon(config, "--fast")
            proc.wait(600)
            wall.append(time.monotonic() - t0)
            events = _events(config)
            samples += [e["settle_to_ack_ms"] / 1000 for e in events if e.get("event") == "ack" and e.get("settle_to_ack_ms") is not None]
            records += sum(e.get("event") == "record" for e in events)
            acked += receiver.store.count()
            latency = json.loads((work / "status.json").read_text()).get("latency", {})
            for stage in ("change", "match", "read", "record", "outbox"):
                if stage in latency:
                    stages.setdefault(stage, []).append(latency[stage]["p50_ms"])
        finally:
            receiver.close()
            shutil.rmtree(work, ignore_errors=True)
    return {"passes": passes, "records": records, "acked": acked, "samples": samples,
            "p50": _pct(samples, 50) if samples else None, "p95": _pct(samples, 95) if samples else None,
            "max": max(samples) if samples else None, "pass_seconds": statistics.median(wall) if wall else None,
            "stages_p50_ms": {k: statistics.median(v) for k, v in stages.items()}}


# ---- 2. idle CPU -------------------------------------------------------------------------------

_SHOW = """
import sys
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv)
label = QLabel()
label.setWindowFlags(Qt.FramelessWindowHint)
label.setPixmap(QPixmap(sys.argv[1]))
label.setGeometry(0, 0, 1920, 1080)
label.show()
app.exec()
"""


def bench_idle(seconds: float, warmup: float = 10.0) -> dict[str, Any]:
    _ensure_recording()
    frame = GENERATED / "frames" / "ct_dose" / "ct_dose_000_clean.png"
    work = Path(tempfile.mkdtemp(prefix="qcedge-bench-idle-"))
    xvfb = VirtualDisplay()
    env = {**os.environ, "DISPLAY": xvfb.name, "QT_QPA_PLATFORM": "xcb"}
    shower = subprocess.Popen([PY, "-c", _SHOW, str(frame)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    receiver = _receiver(work)
    proc = None
    try:
        time.sleep(2.0)
        config = _config(work, receiver.endpoint, 'kind = "screen"\nmonitor = 1')
        proc = _daemon(config, env=env)
        _wait_running(config, proc)
        time.sleep(warmup)  # the first settle reads the screen once (OCR), then nothing changes
        s0 = json.loads((work / "status.json").read_text())
        c0, t0 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(2.5)  # one more status write
        s1 = json.loads((work / "status.json").read_text())
        frames = s1["frames_seen"] - s0["frames_seen"]
        span = s1["uptime_s"] - s0["uptime_s"]
        return {"seconds": t1 - t0, "cpu_pct": 100 * (c1 - c0) / (t1 - t0), "frames": s1["frames_seen"],
                "records": s1["records_made"], "settled": s1["screens_settled"], "reads": s1["screens_matched"],
                "fps": frames / span if span > 0 else 0.0}
    finally:
        if proc is not None:
            _stop(proc)
        receiver.close()
        shower.terminate()
        shower.wait(5)
        xvfb.stop()
        shutil.rmtree(work, ignore_errors=True)


# ---- 3. memory ---------------------------------------------------------------------------------

def bench_memory(seconds: float, every: float = 5.0) -> dict[str, Any]:
    video = _ensure_recording()
    work = Path(tempfile.mkdtemp(prefix="qcedge-bench-mem-"))
    receiver = _receiver(work)
    proc = None
    samples: list[tuple[float, float]] = []
    try:
        config = _config(work, receiver.endpoint, f'kind = "file"\npath = "{video}"\npace = 1\nloop = true', level="WARNING")
        proc = _daemon(config)
        _wait_running(config, proc)
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds and proc.poll() is None:
            samples.append((time.monotonic() - t0, _rss_mb(proc.pid)))
            time.sleep(every)
        alive = proc.poll() is None
        status = json.loads((work / "status.json").read_text())
    finally:
        if proc is not None:
            _stop(proc)
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)
    loop_s = 102.0
    steady = [(t, m) for t, m in samples if t >= loop_s] or samples
    ts, ms = [t for t, _ in steady], [m for _, m in steady]
    slope = 0.0
    if len(steady) >= 3:
        mt, mm = statistics.fmean(ts), statistics.fmean(ms)
        var = sum((t - mt) ** 2 for t in ts)
        slope = sum((t - mt) * (m - mm) for t, m in zip(ts, ms)) / var if var else 0.0  # MB per second
    span = (ts[-1] - ts[0]) if len(ts) > 1 else 0.0
    return {"seconds": samples[-1][0] if samples else 0.0, "alive": alive, "max_mb": max(m for _, m in samples),
            "first_mb": ms[0], "last_mb": ms[-1], "slope_mb_per_h": slope * 3600, "growth_mb": slope * span,
            "samples": len(samples), "screens_matched": status["screens_matched"], "records": status["records_made"],
            "frames": status["frames_seen"]}


# ---- report ------------------------------------------------------------------------------------

def _ok(flag: bool) -> str:
    return "PASS" if flag else "MISS"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench_daemon", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passes", type=int, default=3, help="latency passes over the recording (5 records each)")
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--memory-seconds", type=float, default=300.0, help="how long the recording loops (the issue asks 3600)")
    ap.add_argument("--skip", action="append", default=[], choices=["latency", "idle", "memory"])
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the daemons it started (finally blocks)
    sidecar = RESULTS / "daemon.json"
    previous: dict[str, Any] = {}
    if sidecar.is_file():
        try:
            previous = json.loads(sidecar.read_text())
        except ValueError:
            previous = {}
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())  # when this run started

    lat = bench_latency(args.passes) if "latency" not in args.skip else None
    if lat:
        print(f"latency: {len(lat['samples'])} acks, p50 {lat['p50']:.3f} s, p95 {lat['p95']:.3f} s", flush=True)
    idle = bench_idle(args.idle_seconds) if "idle" not in args.skip else None
    if idle:
        print(f"idle: {idle['cpu_pct']:.2f} % of one core over {idle['seconds']:.0f} s", flush=True)
    mem = bench_memory(args.memory_seconds) if "memory" not in args.skip else None
    if mem:
        print(f"memory: max {mem['max_mb']:.0f} MB, trend {mem['slope_mb_per_h']:+.1f} MB/h over {mem['seconds']:.0f} s", flush=True)

    measured = {}
    for name, part in (("latency", lat), ("idle", idle), ("memory", mem)):
        if part is not None:
            measured[name] = {**part, "measured": now}
        elif name in previous:
            measured[name] = previous[name]  # skipped this time: the last measurement, with its date
    RESULTS.mkdir(exist_ok=True)
    sidecar.write_text(json.dumps(measured, indent=1, default=str))
    lat, idle, mem = measured.get("latency"), measured.get("idle"), measured.get("memory")

    lines = [header("Capture daemon (qcedge run)"),
             "The daemon as a real process (`qcedge run`), a real receiver on loopback, real OCR (PP-OCR), "
             "the sample recording (102 s, 5 fps, 5 taught appearances). `python -m benchmarks.bench_daemon`.",
             "The machine is shared: other processes may have run at the same time.", "",
             "| measure | target | measured | result |", "|---|---|---|---|"]
    ok = True
    if lat:
        good = lat["p95"] is not None and lat["p95"] < 1.0
        ok &= good
        lines.append(f"| screen settled -> ack, p95 ({len(lat['samples'])} records, {lat['passes']} passes; {lat['measured']}) | < 1 s | "
                     f"p95 {lat['p95']:.2f} s (p50 {lat['p50']:.2f} s, max {lat['max']:.2f} s) | {_ok(good)} |")
        good = lat["records"] == lat["acked"] == 5 * lat["passes"]
        ok &= good
        lines.append(f"| records made / acked (5 expected a pass) | {5 * lat['passes']} | {lat['records']} / {lat['acked']} | {_ok(good)} |")
    if idle:
        good = idle["cpu_pct"] < 5.0
        ok &= good
        lines.append(f"| idle CPU, unchanging 1920x1080 screen (Xvfb) at 5 fps ({idle['seconds']:.0f} s, {idle['fps']:.1f} fps looked at, "
                     f"{idle['reads']} OCR read in all; {idle['measured']}) | < 5 % of a core | {idle['cpu_pct']:.2f} % | {_ok(good)} |")
    if mem:
        limit = max(10.0, 0.03 * mem["first_mb"])
        good_max = mem["max_mb"] < 500 and mem["alive"]
        good_flat = mem["growth_mb"] < limit
        ok &= good_max and good_flat
        lines.append(f"| resident memory, recording looped at live pace for {mem['seconds'] / 60:.1f} min (from {mem['measured']}) | < 500 MB | "
                     f"max {mem['max_mb']:.0f} MB | {_ok(good_max)} |")
        lines.append(f"| memory flat after the first loop (trend over the run) | < {limit:.0f} MB | "
                     f"{mem['growth_mb']:+.1f} MB ({mem['first_mb']:.0f} -> {mem['last_mb']:.0f} MB, {mem['slope_mb_per_h']:+.1f} MB/h) | {_ok(good_flat)} |")
    lines.append("")
    if lat:
        st = lat.get("stages_p50_ms", {})
        parts = ", ".join(f"{k} {v:.0f} ms" for k, v in st.items())
        lines.append(f"Latency: {lat['pass_seconds']:.0f} s a pass (start-up, 510 frames, every settled screen read). "
                     f"Where the time goes (median of the passes' p50, from the daemon's status file): {parts}. "
                     "Settle -> ack is match + read (OCR) + record + outbox + one round trip.")
    if mem:
        note = "" if mem["seconds"] >= 3590 else (f" The issue asks for an hour; this run lasted {mem['seconds'] / 60:.1f} min"
                                                   " (`--memory-seconds 3600` for the hour).")
        lines.append(f"Memory run: {mem['samples']} samples, {mem['frames']} frames, {mem['screens_matched']} screens read, "
                     f"{mem['records']} records (repeats of the loop give none).{note}")
    text = "\n".join(lines) + "\n"
    (RESULTS / "daemon.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
