"""Helpers for the flow tests (a module of its own: `conftest` names clash across test folders)."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "samples" / "flows"


def x_idle_seconds() -> float:
    """The X server's idle time: seconds since ANY key/pointer event (real or synthetic)."""
    from Xlib import display

    d = display.Display()
    try:
        return d.screen().root.screensaver_query_info().idle / 1000.0
    finally:
        d.close()


def load_records() -> list[dict]:
    return json.loads((FLOWS / "ris_records.json").read_text(encoding="utf-8"))


def events_of(run_log: Path) -> list[dict]:
    return [json.loads(line) for line in run_log.read_text(encoding="utf-8").splitlines()]


def make_player(flow, tmp_path: Path, **kw):
    """A live player as the tests use it: fail-safe off (tests move the pointer), short pauses."""
    from qcedge.rpa_flows.player import Player

    kw.setdefault("key_pause", 0.01)
    return Player(flow, log_dir=tmp_path / "log", failsafe=False, **kw)
