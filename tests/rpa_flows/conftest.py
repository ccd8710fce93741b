"""Fixtures for the flow tests: the RIS program on the session's Xvfb, X idle time, blockers."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# tests/ocr_templates/__init__.py makes `ocr_templates` resolve to the test folder whenever tests/ is
# first on sys.path (the root conftest puts it there): make sure the real packages are the ones imported.
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))
for _name in [m for m in sys.modules if m == "ocr_templates" or m.startswith("ocr_templates.")]:
    if not str(getattr(sys.modules[_name], "__file__", "") or "").startswith(str(ROOT / "ocr_templates")):
        del sys.modules[_name]
import ocr_templates  # noqa: E402,F401
FLOWS = ROOT / "samples" / "flows"


@pytest.fixture
def ris(xvfb, tmp_path) -> Iterator:
    """Start the RIS program (args as a factory call); all started ones are stopped after the test."""
    from samples.ris_app.display import RisProcess

    started: list[RisProcess] = []

    def start(*args: str, name: str = "app") -> RisProcess:
        app = RisProcess(xvfb.name, tmp_path / name, *args)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


@pytest.fixture
def blocker(xvfb) -> Iterator:
    """Put another program's window (xmessage) at a geometry like '400x300+100+100'."""
    procs: list[subprocess.Popen] = []

    def put(geometry: str) -> subprocess.Popen:
        p = subprocess.Popen(["xmessage", "-geometry", geometry, "another program's window"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        time.sleep(0.6)
        return p

    yield put
    for p in procs:
        p.terminate()
        p.wait(5)


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
    from rpa_flows.player import Player

    kw.setdefault("key_pause", 0.01)
    return Player(flow, log_dir=tmp_path / "log", failsafe=False, **kw)
