"""Run the benchmarks and write benchmarks/RESULTS.md.

Each benchmark module `benchmarks/bench_*.py` has `main(argv) -> int` and writes
its own section to `benchmarks/results/<name>.md`; this collects the sections.

    python -m benchmarks.run            # all
    python -m benchmarks.run ocr feed   # only these (bench_ocr, bench_feed)
    python -m benchmarks.run central    # central: stats over 1M records, 1 vs 2 receivers vs SQLite
"""
from __future__ import annotations

import importlib
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.platform()}, Python {platform.python_version()}"


def collect() -> None:
    parts = [
        "# Benchmark results\n",
        "Written by `python -m benchmarks.run` (see README). Each section names the machine and date it was measured on.\n",
    ]
    for section in sorted(RESULTS.glob("*.md")):
        parts.append(section.read_text(encoding="utf-8").rstrip() + "\n")
    (HERE / "RESULTS.md").write_text("\n".join(parts), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    names = argv if argv is not None else sys.argv[1:]
    if not names:
        names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    RESULTS.mkdir(exist_ok=True)
    failed = 0
    for name in names:
        print(f"== benchmark {name}", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        failed += module.main([]) != 0
    collect()
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


def header(title: str) -> str:
    """The first lines of a results section: title, machine, date."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"## {title}\n\nMachine: {machine()}. Measured {when}.\n"


if __name__ == "__main__":
    raise SystemExit(main())
