"""The daemon as a systemd service: the notify protocol spoken to a socket the test owns, and the unit file.

systemd does not run on these machines (no PID 1 systemd), so the daemon is run as a real process with
NOTIFY_SOCKET and WATCHDOG_USEC set the way systemd sets them, and the test plays systemd's part: it reads
READY=1, the WATCHDOG=1 pings and STOPPING=1 from a unix datagram socket it bound itself.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import qcedge
from daemon_helpers import ROOT, TEMPLATES, read_status, stop_process

pytestmark = pytest.mark.slow


class NotifyListener:
    """A unix datagram socket standing in for systemd's notify socket."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="qcn", dir="/tmp"))  # short: socket paths stop at 107 bytes
        self.path = self.dir / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.messages: list[tuple[float, str]] = []

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            return None
        self.messages.append((time.monotonic(), data))
        return data

    def wait_for(self, key: str, timeout: float) -> str | None:
        """The next message holding line `key` (e.g. READY=1) within `timeout` seconds, or None."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.receive(left)
            if msg is not None and key in msg.splitlines():
                return msg
        return None

    def quiet_for(self, key: str, seconds: float, within: float) -> bool:
        """Whether, within `within` seconds, a stretch of `seconds` passes with no `key` message."""
        deadline = time.monotonic() + within
        last = time.monotonic()
        while time.monotonic() < deadline:
            msg = self.receive(0.2)
            if msg is not None and key in msg.splitlines():
                last = time.monotonic()
            elif time.monotonic() - last >= seconds:
                return True
        return False

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def listener() -> Iterator[NotifyListener]:
    n = NotifyListener()
    try:
        yield n
    finally:
        n.close()


def start_service_daemon(config: Path, listener: NotifyListener, watchdog_s: float, **env: str) -> subprocess.Popen:
    """`qcedge run` as systemd would start it for a Type=notify unit with WatchdogSec."""
    environ = {**os.environ, "NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": str(int(watchdog_s * 1e6)), **env}
    out = open(config.with_suffix(".log"), "ab")
    return subprocess.Popen([sys.executable, "-m", "qcedge", "run", "--config", str(config)], cwd=ROOT, env=environ,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_daemon_says_ready_feeds_the_watchdog_and_says_stopping(central, make_station, session_video, listener):
    config = make_station(central.endpoint, session_video.video)
    config.write_text(config.read_text().replace('kind = "file"', 'kind = "file"\npace = 1'))  # live pace: ~16 s
    daemon = start_service_daemon(config, listener, watchdog_s=1.0)
    try:
        ready = listener.wait_for("READY=1", timeout=120)
        assert ready is not None, "no READY=1 from the daemon"
        assert any(line.startswith("STATUS=running") for line in ready.splitlines())
        pings = [listener.wait_for("WATCHDOG=1", timeout=30) for _ in range(3)]
        assert all(pings), "the daemon does not feed the watchdog while it runs"
        assert central.wait_for(1, timeout=60), "no record while the daemon ran as a service"
        assert daemon.poll() is None
        status = read_status(config)
        assert status["version"] == qcedge.__version__
        assert status["last_frame_at"] is not None
        os.killpg(daemon.pid, signal.SIGTERM)
        assert listener.wait_for("STOPPING=1", timeout=30) is not None, "no STOPPING=1 on SIGTERM"
        assert daemon.wait(60) == 0
    finally:
        stop_process(daemon)
    kinds = [m for _, m in listener.messages]
    first_ready = next(i for i, m in enumerate(kinds) if "READY=1" in m.splitlines())
    assert not any("WATCHDOG=1" in m.splitlines() for m in kinds[:first_ready]), "a ping before READY=1"
    assert read_status(config)["state"] == "stopped"


def test_a_frozen_capture_stops_the_watchdog_pings(central, tmp_path, listener):
    """A screen source on an X server that stops answering (SIGSTOP): the grab never returns, so the pings stop
    (systemd then kills and restarts the daemon); when the X server answers again, the pings come back."""
    from capture.xvfb import VirtualDisplay

    (tmp_path / "station.toml").write_text(f"""
[station]
id = "frozen-st"
site = "test-site"
[source]
kind = "screen"
monitor = 1
[templates]
folder = "{TEMPLATES}"
warm_up = false
[feed]
endpoint = "{central.endpoint}"
outbox = "var/outbox.sqlite"
[status]
file = "var/status.json"
interval = 0.5
""", encoding="utf-8")
    config = tmp_path / "station.toml"
    period = 1.5
    with VirtualDisplay(640, 480) as display:
        daemon = start_service_daemon(config, listener, watchdog_s=period, DISPLAY=display.name)
        try:
            assert listener.wait_for("READY=1", timeout=120) is not None
            assert listener.wait_for("WATCHDOG=1", timeout=30) is not None
            os.kill(display.proc.pid, signal.SIGSTOP)
            try:
                assert listener.quiet_for("WATCHDOG=1", seconds=3 * period, within=60), \
                    "pings go on while the capture is frozen: systemd would never restart the daemon"
            finally:
                os.kill(display.proc.pid, signal.SIGCONT)
            assert listener.wait_for("WATCHDOG=1", timeout=60) is not None, "no pings once the display answers"
            assert daemon.poll() is None
        finally:
            stop_process(daemon)
    events = config.with_suffix(".log").read_text(errors="replace")
    assert '"event": "watchdog_stalled"' in events


def test_no_notify_socket_no_change(tmp_path):
    """Outside systemd (no NOTIFY_SOCKET) nothing is sent and nothing fails."""
    from qcedge.service import SdNotify, Watchdog

    sd = SdNotify(env={})
    assert not sd.enabled and not sd.ready() and not sd.stopping()
    assert not Watchdog(sd).enabled
    # the watchdog is meant for another process: ignored, as sd_watchdog_enabled does
    other = SdNotify(env={"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval is None
