"""Fixtures for the flow tests: the RIS program on the session's Xvfb, X idle time, blockers."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest



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
