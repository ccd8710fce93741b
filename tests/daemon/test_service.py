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


def qcedge_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcedge", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def unit_settings(path: Path) -> dict[str, list[str]]:
    """key -> values of a unit file (keys may repeat, e.g. Environment=)."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def start_from_unit(unit: Path, listener: NotifyListener, watchdog_s: float, **env: str) -> subprocess.Popen:
    """Start what the unit's ExecStart= says, where and with the environment it says, as systemd would."""
    import shlex

    s = unit_settings(unit)
    environ = {**os.environ, **dict(shlex.split(e)[0].split("=", 1) for e in s.get("Environment", [])),
               "NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": str(int(watchdog_s * 1e6)), **env}
    out = open(unit.with_suffix(".log"), "ab")
    return subprocess.Popen(shlex.split(s["ExecStart"][0]), cwd=s["WorkingDirectory"][0], env=environ,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_daemon_says_ready_feeds_the_watchdog_and_says_stopping(central, make_station, session_video, listener,
                                                                  tmp_path):
    """The daemon started by the installed unit's own command line speaks the notify protocol."""
    config = make_station(central.endpoint, session_video.video)
    config.write_text(config.read_text().replace('kind = "file"', 'kind = "file"\npace = 1'))  # live pace: ~16 s
    done = qcedge_cli("service", "install", "--config", str(config), "--unit-dir", str(tmp_path / "units"))
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "units" / "qcedge-test-st.service"
    assert unit_settings(unit)["Type"] == ["notify"]
    daemon = start_from_unit(unit, listener, watchdog_s=1.0)
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
        shown = qcedge_cli("status", "--config", str(config))
        assert f"qcedge {qcedge.__version__}" in shown.stdout and "last frame   never" not in shown.stdout
        os.killpg(daemon.pid, signal.SIGTERM)
        assert listener.wait_for("STOPPING=1", timeout=30) is not None, "no STOPPING=1 on SIGTERM"
        assert daemon.wait(60) == 0
    finally:
        stop_process(daemon)
    kinds = [m for _, m in listener.messages]
    first_ready = next(i for i, m in enumerate(kinds) if "READY=1" in m.splitlines())
    assert not any("WATCHDOG=1" in m.splitlines() for m in kinds[:first_ready]), "a ping before READY=1"
    assert read_status(config)["state"] == "stopped"
    events = unit.with_suffix(".log").read_text(errors="replace")
    assert '"event": "start"' in events  # logs on stderr: the journal, under the unit


def test_a_frozen_capture_stops_the_watchdog_pings(central, tmp_path, listener):
    """A screen source on an X server that stops answering (SIGSTOP): the grab never returns, so the pings stop
    (systemd then kills and restarts the daemon); when the X server answers again, the pings come back."""
    from qcedge.capture.xvfb import VirtualDisplay

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


def _station(tmp_path: Path, source: str, extra: str = "") -> Path:
    path = tmp_path / "station.toml"
    path.write_text(f"""
[station]
id = "ct-room-2"
site = "county-a"
[source]
{source}
[templates]
folder = "{TEMPLATES}"
[feed]
endpoint = "tcp://127.0.0.1:7700"
outbox = "var/outbox.sqlite"
[status]
file = "var/status.json"
{extra}
""", encoding="utf-8")
    return path


def _verified_or_skip(done: subprocess.CompletedProcess) -> None:
    if "not verified: systemd-analyze is not installed" in done.stdout:
        pytest.skip("systemd-analyze is not installed: the unit cannot be verified here")
    assert "verified with systemd-analyze: no complaints" in done.stdout, done.stdout + done.stderr


def test_install_a_capture_card_station(tmp_path):
    config = _station(tmp_path, 'kind = "device"\ndevice = "/dev/video0"',
                      '[service]\nmemory_max = "1536M"\ncpu_quota = "150%"\nwatchdog_sec = 30')
    units = tmp_path / "units"
    done = qcedge_cli("service", "install", "--config", str(config), "--unit-dir", str(units), "--user", "qcstation")
    assert done.returncode == 0, done.stderr
    unit = units / "qcedge-ct-room-2.service"
    s = unit_settings(unit)
    assert s["User"] == ["qcstation"] and s["SupplementaryGroups"] == ["video"]  # /dev/video* belong to video
    assert s["Type"] == ["notify"] and s["WatchdogSec"] == ["30"]
    assert s["Restart"] == ["on-failure"] and s["RestartSec"] == ["5"]
    assert s["StartLimitBurst"] == ["5"] and s["StartLimitIntervalSec"] == ["600"]
    assert s["MemoryMax"] == ["1536M"] and s["CPUQuota"] == ["150%"]
    assert s["StandardOutput"] == ["journal"] and s["WantedBy"] == ["multi-user.target"]
    assert f"--config {config}" in s["ExecStart"][0] and s["WorkingDirectory"] == [str(tmp_path)]
    assert not any(e.startswith("DISPLAY=") for e in s.get("Environment", []))
    _verified_or_skip(done)

    shown = qcedge_cli("service", "status", "--config", str(config), "--unit-dir", str(units))
    assert shown.returncode == 0 and str(unit) in shown.stdout and "differs" not in shown.stdout
    config.write_text(config.read_text().replace('"1536M"', '"1G"'))
    shown = qcedge_cli("service", "status", "--config", str(config), "--unit-dir", str(units))
    assert "differs from what `qcedge service install` would write now" in shown.stdout

    gone = qcedge_cli("service", "uninstall", "--config", str(config), "--unit-dir", str(units))
    assert gone.returncode == 0 and not unit.exists() and "the outbox" in gone.stdout
    shown = qcedge_cli("service", "status", "--config", str(config), "--unit-dir", str(units))
    assert shown.returncode == 1 and "not installed" in shown.stdout


def test_install_a_screen_station_reaches_the_display(tmp_path):
    config = _station(tmp_path, 'kind = "screen"\nmonitor = 1', '[service]\ndisplay = ":1"\nxauthority = "xauth"')
    units = tmp_path / "units"
    done = qcedge_cli("service", "install", "--config", str(config), "--unit-dir", str(units))
    assert done.returncode == 0, done.stderr
    s = unit_settings(units / "qcedge-ct-room-2.service")
    assert "DISPLAY=:1" in s["Environment"] and f"XAUTHORITY={tmp_path / 'xauth'}" in s["Environment"]
    assert "PrivateTmp" not in s  # the X socket is in /tmp/.X11-unix
    assert s["WantedBy"] == ["graphical.target"] and s["User"] == ["qcedge"]
    _verified_or_skip(done)


def test_install_refuses_what_it_did_not_write_and_bad_configs(tmp_path):
    config = _station(tmp_path, 'kind = "screen"')
    units = tmp_path / "units"
    units.mkdir()
    foreign = units / "qcedge-ct-room-2.service"
    foreign.write_text("[Service]\nExecStart=/bin/true\n")
    for action in ("install", "uninstall"):
        done = qcedge_cli("service", action, "--config", str(config), "--unit-dir", str(units))
        assert done.returncode == 2 and "not written by qcedge" in done.stderr
        assert foreign.read_text() == "[Service]\nExecStart=/bin/true\n"
    bad = _station(tmp_path, 'kind = "screen"', '[service]\ncpu_quota = "lots"')
    done = qcedge_cli("service", "install", "--config", str(bad), "--unit-dir", str(units))
    assert done.returncode == 2 and "[service] cpu_quota" in done.stderr and len(done.stderr.splitlines()) == 1


def test_the_log_file_rotates(tmp_path):
    """A log file left for months stays bounded: rotated at a size, a few old files kept."""
    import logging

    from qcedge.logs import configure

    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        configure("INFO", True, tmp_path / "daemon.jsonl", max_bytes=2000, backups=2)
        for i in range(200):
            logging.getLogger("qcedge.daemon").info("frame loop", extra={"ctx": {"event": "tick", "n": i}})
        for h in root.handlers:
            h.flush()
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            if h not in saved:
                h.close()
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["daemon.jsonl", "daemon.jsonl.1", "daemon.jsonl.2"]
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    assert '"n": 199' in (tmp_path / "daemon.jsonl").read_text()


# ---- upgrades: the outbox and the remembered screens survive, a newer schema is refused ---------------------

def _v1_outbox(path: Path, n: int) -> list[str]:
    """An outbox as the first qcedge left it (schema 1) with `n` records waiting; their ids."""
    import sqlite3

    from qcedge.qc_client.outbox import Outbox
    from qcedge.qc_client.record import Record

    ids = []
    with Outbox(path) as box:
        for i in range(n):
            record = Record(station="up-st", site="s", source="test")
            box.put(record)
            ids.append(record.id)
    db = sqlite3.connect(path)
    db.execute("DROP INDEX outbox_pending")  # what version 2 added
    db.execute("UPDATE meta SET value='1' WHERE key='schema'")
    db.commit()
    db.close()
    return ids


def test_an_upgrade_keeps_the_outbox_and_migrates_it(tmp_path):
    import sqlite3

    from qcedge.qc_client.outbox import SCHEMA_VERSION, Outbox, read_schema

    path = tmp_path / "outbox.sqlite"
    ids = _v1_outbox(path, 3)
    assert read_schema(path) == 1
    with Outbox(path) as box:
        assert [item.record_id for item in box.pending()] == ids  # nothing lost, same order
        assert [item.seq for item in box.pending()] == [1, 2, 3]
    assert read_schema(path) == SCHEMA_VERSION == 2
    names = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "outbox_pending" in names


def test_a_newer_outbox_is_refused_in_one_line_and_left_alone(tmp_path, central, make_station, session_video):
    import hashlib
    import sqlite3

    from qcedge.qc_client.outbox import Outbox, OutboxSchemaError

    config = make_station(central.endpoint, session_video.video)
    path = config.parent / "var" / "outbox.sqlite"
    path.parent.mkdir()
    _v1_outbox(path, 1)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='3' WHERE key='schema'")  # written by a later qcedge
    db.commit()
    db.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(OutboxSchemaError, match="outbox schema 3 is newer than this qcedge understands"):
        Outbox(path)
    done = qcedge_cli("run", "--config", str(config), "--fast")
    assert done.returncode == 2
    said = [line for line in done.stderr.splitlines() if not line.startswith("{")]  # beside the JSON log lines
    assert len(said) == 1 and said[0].startswith("qcedge run:"), done.stderr
    assert str(path) in said[0] and "schema 3 is newer" in said[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not central.records()

    from qcedge.config import load_config
    from qcedge.doctor import check_outbox

    got = check_outbox(load_config(config))
    assert got.ok is False and "schema 3 is newer" in got.detail


def test_remembered_screens_survive_an_upgrade(tmp_path):
    import sqlite3

    from qcedge.seen import SCHEMA_VERSION, SeenSchemaError, SeenScreens

    path = tmp_path / "outbox.seen.sqlite"
    db = sqlite3.connect(path)  # as the first qcedge made it: no schema version
    db.execute("CREATE TABLE seen (identity TEXT PRIMARY KEY, values_digest TEXT NOT NULL,"
               " versions INTEGER NOT NULL, last_seen REAL NOT NULL)")
    db.execute("INSERT INTO seen VALUES ('ct|ACC1', 'd1', 1, ?)", (time.time(),))
    db.commit()
    db.close()
    seen = SeenScreens(path, "up-st")
    try:
        assert seen.decide("ct|ACC1", "d1").reason == "repeat"  # still remembered: no second record
    finally:
        seen.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert db.execute("SELECT name FROM sqlite_master WHERE name='seen_last_seen'").fetchone()
    db.execute("PRAGMA user_version=7")
    db.commit()
    db.close()
    with pytest.raises(SeenSchemaError, match="schema 7 is newer than this qcedge understands"):
        SeenScreens(path, "up-st")
