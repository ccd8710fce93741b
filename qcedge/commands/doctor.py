"""`qcedge doctor --config station.toml [--json]`: check a station before calling the integrator.

One line per part (paths, display, source, templates, OCR, central, clock, outbox, disk) with a
verdict: ok, FAIL or skip. Exit 0 only when nothing FAILs (1 otherwise; 2 for a config that does
not load). See docs/service.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path



def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check a station: source, templates, OCR, central, keys, clock, outbox, disk",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", "-c", type=Path, required=True, help="station config (TOML)")
    p.add_argument("--json", action="store_true", help="one JSON object (for monitoring)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import qcedge
    from qcedge.config import load_config
    from qcedge.doctor import run_checks

    config = load_config(args.config)  # a ConfigError names the file and the key: exit 2
    checks = run_checks(config)
    ok = all(c.ok is not False for c in checks)
    if args.json:
        print(json.dumps({"station": config.station.id, "site": config.station.site, "version": qcedge.__version__,
                          "ok": ok, "checks": [c.as_dict() for c in checks]}, ensure_ascii=False))
    else:
        print(f"qcedge {qcedge.__version__} doctor: station {config.station.id} @ {config.station.site}")
        for c in checks:
            print(f"{c.verdict:<5} {c.name:<10} {c.detail}")
        failed = [c.name for c in checks if c.ok is False]
        print("all checks pass" if ok else f"{len(failed)} failing: {', '.join(failed)}")
    return 0 if ok else 1
