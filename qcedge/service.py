"""Running as a service: the systemd notify protocol (readiness, watchdog, stopping).

The protocol is small enough to speak directly (no dependency): datagrams of
`KEY=VALUE` lines sent to the unix socket named by `$NOTIFY_SOCKET` (a leading
`@` means the abstract namespace). With no `NOTIFY_SOCKET` everything here is a
no-op, so `qcedge run` in a terminal behaves as before.

The watchdog (`WatchdogSec=` in the unit, seen here as `$WATCHDOG_USEC`) is fed
by a small thread that pings only while the frame loop is making progress: the
loop calls `Watchdog.beat()` once per frame, and a loop that has not beaten for
one watchdog period (a capture call that never returns, a hung OCR) stops the
pings, so systemd kills and restarts the daemon. A source that is between
reconnect attempts (a capture card unplugged) is waiting by design, not hung:
the pings go on, so an unplugged card never makes the service flap.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qcedge.config import StationConfig

log = logging.getLogger(__name__)


class SdNotify:
    """Sends notifications to systemd (or to whoever owns `$NOTIFY_SOCKET`)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if address.startswith("@"):
            self.address = "\0" + address[1:]
        elif address.startswith("/"):
            self.address = address
        self.watchdog_interval = _watchdog_interval(env)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._stopping_sent = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send one datagram of `KEY=VALUE` lines; False when not under a notify socket or it failed."""
        if self.address is None:
            return False
        data = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8", "replace")
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(data, self.address)
                return True
            except OSError as exc:  # systemd gone or socket full: the daemon carries on regardless
                log.debug("sd_notify failed: %s", exc)
                return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def stopping(self, status: str = "") -> bool:
        """STOPPING=1, once (later calls do nothing)."""
        if self._stopping_sent:
            return False
        self._stopping_sent = True
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Seconds of `$WATCHDOG_USEC` when the watchdog is meant for this process (as sd_watchdog_enabled)."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    return usec / 1e6


class Watchdog:
    """Pings `WATCHDOG=1` every quarter period while the frame loop beats (or the source waits to reconnect).

    `waiting()` tells whether the loop is legitimately idle (a reconnect backoff);
    `status()` gives a short `STATUS=` text sent with each ping.
    """

    def __init__(self, notifier: SdNotify, waiting: Callable[[], bool] = lambda: False,
                 status: Callable[[], str] | None = None) -> None:
        self.notifier = notifier
        self.period = notifier.watchdog_interval if notifier.enabled else None
        self.waiting = waiting
        self.status = status
        self._last_beat = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0

    @property
    def enabled(self) -> bool:
        return self.period is not None

    def beat(self) -> None:
        """The frame loop went round once (cheap: called for every frame)."""
        self._last_beat = time.monotonic()

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self.beat()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def alive(self) -> bool:
        """The loop beat within one watchdog period, or it is waiting for a source to come back."""
        assert self.period is not None
        if time.monotonic() - self._last_beat < self.period:
            return True
        try:
            return bool(self.waiting())
        except Exception:  # noqa: BLE001 - a failing probe means: not known to be waiting
            return False

    def _run(self) -> None:
        assert self.period is not None
        step = self.period / 4
        stalled = False
        while not self._stop.wait(step):
            if self.alive():
                if stalled:
                    stalled = False
                    log.warning("frame loop moving again", extra={"ctx": {"event": "watchdog_resumed"}})
                lines = ["WATCHDOG=1"]
                if self.status is not None:
                    try:
                        lines.append(f"STATUS={self.status()}")
                    except Exception:  # noqa: BLE001
                        pass
                if self.notifier.notify(*lines):
                    self.pings += 1
            elif not stalled:
                stalled = True
                log.error("frame loop stalled: watchdog pings stop, the service manager will restart the daemon",
                          extra={"ctx": {"event": "watchdog_stalled",
                                         "seconds": round(time.monotonic() - self._last_beat, 1)}})


# ---- the systemd unit ------------------------------------------------------------------------------

MARKER = "# Written by `qcedge service install`"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")


def unit_name(station_id: str) -> str:
    """`qcedge-<station>.service` (station ids only hold characters unit names allow)."""
    return f"qcedge-{station_id}.service"


def qcedge_command() -> list[str]:
    """How to start this qcedge: the console script beside this Python, else `python -m qcedge`."""
    script = Path(sys.executable).parent / "qcedge"
    return [str(script)] if script.is_file() and os.access(script, os.X_OK) else [sys.executable, "-m", "qcedge"]


def _quote(arg: str) -> str:
    """An argument of ExecStart= (systemd's quoting: double quotes, backslash escapes; % doubled)."""
    arg = arg.replace("%", "%%")
    if arg and not any(c in arg for c in ' \t"\'\\;$'):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_unit(config: "StationConfig", config_path: Path, user: str | None = None,
                command: list[str] | None = None) -> str:
    """The text of the unit that runs `qcedge run --config config_path` for this station."""
    from qcedge import __version__

    svc = config.service
    user = user or svc.user
    spec = config.source_spec()
    command = (command or qcedge_command()) + ["run", "--config", str(config_path)]
    groups = ["video"] if spec.kind == "device" else []
    env: list[str] = []
    if spec.kind == "screen":
        env.append(f"DISPLAY={svc.display}")
        if svc.xauthority is not None:
            env.append(f"XAUTHORITY={svc.xauthority}")
    watchdog = int(round(svc.watchdog_sec))
    lines = [
        f"{MARKER} {__version__} for {config_path}",
        "# Re-run it after changing [service] in the station config; `qcedge service uninstall` removes it.",
        "[Unit]",
        f"Description=qcedge capture daemon, station {config.station.id} at {config.station.site}",
        "After=network-online.target" + (" graphical.target" if spec.kind == "screen" else ""),
        "Wants=network-online.target",
        # at most 5 starts in 10 min: a station that cannot start stops trying and shows as failed
        "StartLimitIntervalSec=600",
        "StartLimitBurst=5",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        "ExecStart=" + " ".join(_quote(a) for a in command),
        f"WorkingDirectory={_quote(str(config_path.parent))}",
        f"User={user}",
        f"Group={user}",
        *([f"SupplementaryGroups={' '.join(groups)}"] if groups else []),
        *[f"Environment={_quote(e)}" for e in env],
        "Environment=PYTHONUNBUFFERED=1",
        "Restart=on-failure",
        f"RestartSec={svc.restart_sec:g}",
        f"WatchdogSec={watchdog}",
        "TimeoutStartSec=300",   # OCR models load and warm up before READY=1
        "TimeoutStopSec=30",     # the feed gets 5 s to have what is pending acknowledged
        f"MemoryMax={svc.memory_max}",
        f"CPUQuota={svc.cpu_quota}",
        "Nice=5",                # the console's own program comes first
        "StandardOutput=journal",
        "StandardError=journal",
        f"SyslogIdentifier=qcedge-{config.station.id}",
        "UMask=0027",
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        *(["PrivateTmp=yes"] if spec.kind != "screen" else []),  # the X socket lives in /tmp/.X11-unix
        "",
        "[Install]",
        f"WantedBy={'graphical.target' if spec.kind == 'screen' else 'multi-user.target'}",
        "",
    ]
    return "\n".join(lines)


def verify_unit(path: Path) -> tuple[bool | None, str]:
    """`systemd-analyze verify` of a unit file: (True, "") clean, (False, its complaints), (None, why skipped)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return None, "systemd-analyze is not installed: the unit was not verified"
    try:
        proc = subprocess.run([tool, "verify", str(path)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"systemd-analyze could not run: {exc}"
    # it exits 0 on unknown keys and warnings too: anything it says about the unit is a problem
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return (proc.returncode == 0 and not said), "; ".join(said)


def user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def systemd_running() -> bool:
    """systemd is PID 1 here (`systemctl` can act)."""
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None
