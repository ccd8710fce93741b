"""Benchmark the samples generator: the default set on one core, sizes of what it writes.

    python -m benchmarks.run samples
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import RESULTS, header

ROOT = Path(__file__).resolve().parent.parent


def _pin_one_core() -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def main(argv: list[str]) -> int:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "generated"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "samples.generate", "--out", str(out), "--quiet"], cwd=ROOT, check=True,
                       preexec_fn=_pin_one_core, env={**os.environ, "OMP_NUM_THREADS": "1"})
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        frames = list((out / "frames").rglob("*.*"))
        frames_mb = sum(p.stat().st_size for p in frames) / 1e6
        video_mb = (out / "recording.mp4").stat().st_size / 1e6
        import json

        rec = json.loads((out / "recording.json").read_text(encoding="utf-8"))
    pngs = sorted((ROOT / "samples" / "templates").glob("*.png"))
    biggest = max(p.stat().st_size for p in pngs) / 1e3
    rows = [
        ("default set (120 taught + 32 foreign frames + recording), CPU time pinned to one core", "< 60 s", f"{cpu:.1f} s", cpu < 60),
        ("same, wall time (machine load average at start %.1f)" % load, "-", f"{wall:.1f} s", None),
        ("frames written", "-", f"{len(frames)} files, {frames_mb:.0f} MB", None),
        ("recording length", "60-120 s", f"{rec['duration_s']:.0f} s, {rec['frame_count']} frames", 60 <= rec["duration_s"] <= 120),
        ("recording size", "a few MB (< 10 MB)", f"{video_mb:.1f} MB", video_mb < 10),
        ("largest committed reference PNG", "< 300 KB", f"{biggest:.0f} KB", biggest < 300),
    ]
    lines = [header("Samples generator"), "| measure | target | measured | |", "|---|---|---|---|"]
    for name, target, got, ok in rows:
        lines.append(f"| {name} | {target} | {got} | {'' if ok is None else 'PASS' if ok else 'MISS'} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "samples.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if all(ok is not False for *_, ok in rows) else 1
