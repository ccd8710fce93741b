"""Capture benchmark: change check, screen grab, video decode, stream open, idle watch CPU.

    python -m benchmarks.run capture
    python -m benchmarks.bench_capture [--quick]

Writes benchmarks/results/capture.md. Needs Xvfb and ffmpeg (apt); what is
missing is reported as not measured, never as a pass.
"""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.run import RESULTS, header
from qcedge.capture.xvfb import VirtualDisplay
from qcedge.capture import (ChangeDetector, NoSignalDetector, ScreenSource, SettleDetector, SourceError, StreamSource,
                     VideoFileSource)


@dataclass
class Row:
    what: str
    target: str
    measured: str
    ok: bool | None  # None: no target or not measured

    @property
    def verdict(self) -> str:
        return "-" if self.ok is None else ("PASS" if self.ok else "MISS")


def _screen(seed: int, size: tuple[int, int] = (1920, 1080)) -> np.ndarray:
    """A 1080p console-like screen with ~40 label/value lines."""
    w, h = size
    img = np.full((h, w, 3), (236, 233, 228), np.uint8)
    cv2.rectangle(img, (0, 0), (w, 30), (130, 80, 20), -1)
    cv2.rectangle(img, (30, 60), (w - 30, h - 60), (255, 255, 255), -1)
    for i in range(40):
        y = 100 + 22 * i
        cv2.putText(img, f"Series {i + 1}", (60, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.putText(img, f"{120 + seed} kV  {200 + 13 * i + seed} mAs  {10 + 1.37 * i:.2f} mGy", (260, y),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return img


ROUNDS = 5


def _timeit(fn: Callable[[], object], n: int, rounds: int = ROUNDS) -> list[float]:
    """Per-call milliseconds: `rounds` rounds of n//rounds calls; the round with the lowest
    median is kept (the machine is shared: other rounds measure the neighbours' load)."""
    fn()
    best: list[float] | None = None
    for _ in range(rounds):
        out = []
        for _ in range(max(1, n // rounds)):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
        if best is None or statistics.median(out) < statistics.median(best):
            best = out
    assert best is not None
    return best


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def bench_change(n: int) -> list[Row]:
    a, b = _screen(0), _screen(1)
    frames = [a, a.copy(), b, b.copy()]
    detector = ChangeDetector()
    i = 0

    def check() -> None:
        nonlocal i
        detector.check(frames[i % 4])
        i += 1

    times = _timeit(check, n)
    settle = SettleDetector(detector=ChangeDetector())
    settle_times = _timeit(lambda: settle.update(frames[0]), n // 2)
    nosignal = NoSignalDetector()
    ns_times = _timeit(lambda: nosignal.check(a), n // 2)
    med, p95 = statistics.median(times), _p95(times)
    return [
        Row("change check, 1080p frame (960 px grey thumbnail)", "median < 5 ms",
            f"median {med:.2f} ms, p95 {p95:.2f} ms", med < 5.0),
        Row("settle update, 1080p frame (includes the change check)", "median < 5 ms",
            f"median {statistics.median(settle_times):.2f} ms", statistics.median(settle_times) < 5.0),
        Row("no-signal check, 1080p frame", "median < 5 ms",
            f"median {statistics.median(ns_times):.2f} ms", statistics.median(ns_times) < 5.0),
    ]


def bench_screen(n: int, watch_seconds: float) -> list[Row]:
    if not shutil.which("Xvfb"):
        return [Row("mss screen grab on Xvfb", "median < 10 ms", "not measured: Xvfb missing", None)]
    xvfb = VirtualDisplay()
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = xvfb.name
    try:
        with ScreenSource(1) as full:
            full_times = _timeit(full.read, n)
        with ScreenSource(1, (100, 100, 400, 100)) as region:
            region_times = _timeit(region.read, n)
        # The daemon's idle case: an unchanging 1080p screen watched at 5 fps with change checks.
        detector = ChangeDetector()
        with ScreenSource(1, fps=5) as watch:
            watch.read()
            cpu0, t0, frames = time.process_time(), time.monotonic(), 0
            while time.monotonic() - t0 < watch_seconds:
                detector.check(watch.read())
                frames += 1
            cpu = (time.process_time() - cpu0) / (time.monotonic() - t0) * 100
    finally:
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old
        xvfb.stop()
    med = statistics.median(full_times)
    return [
        Row("mss full-screen grab 1920x1080 + BGRA->BGR (Xvfb)", "median < 10 ms",
            f"median {med:.2f} ms, p95 {_p95(full_times):.2f} ms", med < 10.0),
        Row("mss region grab 400x100", "-", f"median {statistics.median(region_times):.3f} ms", None),
        Row("watching an unchanging 1080p screen at 5 fps (grab + change check)", "CPU < 5% of one core",
            f"{cpu:.1f}% over {watch_seconds:.0f} s ({frames} frames)", cpu < 5.0),
    ]


def _write_h264(path: Path, frames: int) -> bool:
    if not shutil.which("ffmpeg"):
        return False
    png = path.with_suffix(".png")
    cv2.imwrite(str(png), _screen(0))
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "30", "-i", str(png),
         "-vf", "scroll=vertical=0.002", "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast",
         "-pix_fmt", "yuv420p", str(path)], capture_output=True, timeout=120)
    return result.returncode == 0


def bench_decode(tmp: Path, frames: int) -> list[Row]:
    rows = []
    mjpg = tmp / "screen_mjpg.avi"
    writer = cv2.VideoWriter(str(mjpg), cv2.VideoWriter.fourcc(*"MJPG"), 30, (1920, 1080))
    pictures = [_screen(i % 5) for i in range(5)]
    for i in range(frames):
        writer.write(pictures[i % 5])
    writer.release()
    files = [("MJPG", mjpg)]
    h264 = tmp / "screen_h264.mp4"
    if _write_h264(h264, frames):
        files.append(("H.264", h264))
    else:
        rows.append(Row("video decode 1080p H.264", ">= 60 fps", "not measured: ffmpeg could not write H.264", None))
    for name, path in files:
        best, count = 0.0, 0
        for _ in range(3):  # best of 3 passes (shared machine)
            with VideoFileSource(path) as source:
                t = time.perf_counter()
                count = sum(1 for _ in source)
                best = max(best, count / (time.perf_counter() - t))
        rows.append(Row(f"video decode 1080p {name} (VideoFileSource)", ">= 60 fps (2x real time at 30 fps)",
                        f"{best:.0f} fps ({count} frames, best of 3 passes)", best >= 60))
    return rows


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_stream_open(tmp: Path, repeats: int) -> list[Row]:
    if not shutil.which("ffmpeg"):
        return [Row("stream open (udp)", "< 3 s", "not measured: ffmpeg missing", None)]
    png = tmp / "stream.png"
    cv2.imwrite(str(png), _screen(0))
    rows = []
    for proto in ("udp", "tcp"):
        times = []
        for _ in range(repeats):
            if proto == "udp":
                port = _free_port(socket.SOCK_DGRAM)
                out, url = f"udp://127.0.0.1:{port}?pkt_size=1316", \
                    f"udp://127.0.0.1:{port}?overrun_nonfatal=1&fifo_size=5000000"
            else:
                port = _free_port(socket.SOCK_STREAM)
                out, url = f"tcp://127.0.0.1:{port}?listen=1", f"tcp://127.0.0.1:{port}"
            sender = subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-loop", "1", "-framerate", "30",
                 "-i", str(png), "-t", "30", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                 "-g", "30", "-pix_fmt", "yuv420p", "-f", "mpegts", out],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.5)  # the sender is up (a TCP listener must exist before we connect)
                source = StreamSource(url, open_timeout=10, read_timeout=5)
                t = time.perf_counter()
                try:
                    source.open()
                    source.read()
                    times.append(time.perf_counter() - t)
                except SourceError:
                    pass
                finally:
                    source.close()
            finally:
                sender.kill()
                sender.wait(5)
        if times:
            med = statistics.median(times)
            rows.append(Row(f"stream open to first frame, 1080p H.264 over {proto.upper()}", "median < 3 s",
                            f"median {med:.2f} s, max {max(times):.2f} s ({len(times)} opens)", med < 3.0))
        else:
            rows.append(Row(f"stream open over {proto.upper()}", "median < 3 s", "failed to open", False))
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench_capture_") as tmp_name:
        tmp = Path(tmp_name)
        rows += bench_change(100 if quick else 300)
        rows += bench_screen(50 if quick else 200, 5.0 if quick else 20.0)
        rows += bench_decode(tmp, 90 if quick else 150)
        rows += bench_stream_open(tmp, 2 if quick else 5)
    lines = [header("Capture"),
             "Sources, change/settle/no-signal detection. `python -m benchmarks.run capture`. "
             "The machine is shared with other work (load average "
             f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after the run): per-call timings are the median "
             f"(and p95) of the best of {ROUNDS} rounds, decode rates the best of 3 passes.", "",
             "| measure | target | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {r.what} | {r.target} | {r.measured} | {r.verdict} |" for r in rows]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "capture.md").write_text(text, encoding="utf-8")
    print(text)
    return 1 if any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
