"""Show central's feedback to the technologist: a log line always, a desktop notification where a display exists.

The desktop notification uses `notify-send` (libnotify-bin) in a child
process that is never waited on in the caller's thread; if there is no display,
no notify-send, or no notification service, only the log line remains.
With `window` (config `[notify] window = true`), feedback also goes to the on-screen
notifier (qcedge.notifier_window) in its own process, whose Acknowledge answers come
back through `on_ack` (the daemon sends them to central as `feedback_ack`).
"""
from __future__ import annotations

import logging
import os
import shutil
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)

_URGENCY = {"ok": "low", "info": "low", "warn": "normal", "warning": "normal", "alert": "critical", "error": "critical"}
_LOUD = ("warn", "warning", "alert", "error", "critical")


@dataclass(frozen=True, slots=True)
class Feedback:
    record_id: str
    level: str
    message: str
    template: str | None = None
    rule: str | None = None

    @classmethod
    def from_any(cls, item: Any) -> "Feedback":
        """From the feed client's callback argument (an object or a mapping)."""
        get = item.get if isinstance(item, dict) else (lambda k, d=None: getattr(item, k, d))
        template = get("template")
        if isinstance(template, dict):
            template = template.get("id")
        return cls(
            record_id=str(get("record_id", "") or get("id", "") or ""),
            level=str(get("level", "info") or "info").lower(),
            message=str(get("message", "") or ""),
            template=template if isinstance(template, str) else None,
            rule=get("rule"),
        )


class Notifier:
    """Logs every feedback; pops up a desktop notification when it can."""

    def __init__(self, desktop: bool | None = None, app_name: str = "qcedge", *,
                 window: "WindowNotifier | None" = None) -> None:
        has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        self.command = shutil.which("notify-send")
        self.desktop = (has_display and self.command is not None) if desktop is None else (desktop and self.command is not None)
        self.app_name = app_name
        self.shown = 0
        self.failed = 0
        self.window = window

    def close(self) -> None:
        if self.window is not None:
            self.window.close()

    def show(self, fb: Feedback) -> None:
        lvl = logging.WARNING if fb.level in _LOUD else logging.INFO
        # Feedback text comes from central's rules (thresholds, missing markers), not from personal fields.
        log.log(lvl, "feedback from central", extra={"ctx": {
            "event": "feedback", "record_id": fb.record_id, "level": fb.level, "rule": fb.rule, "message": fb.message}})
        if self.window is not None:
            self.window.show(fb)
        elif self.desktop:
            threading.Thread(target=self._pop, args=(fb,), name="notify", daemon=True).start()

    def _pop(self, fb: Feedback) -> None:
        title = f"QC {fb.level}" + (f": {fb.template}" if fb.template else "")
        cmd = [self.command or "notify-send", "-a", self.app_name, "-u", _URGENCY.get(fb.level, "normal"),
               "-t", "8000", title, fb.message[:400]]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5)
            if proc.returncode == 0:
                self.shown += 1
            else:
                self.failed += 1
        except (OSError, subprocess.TimeoutExpired):
            self.failed += 1


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """The technologist acknowledged a feedback on the on-screen notifier."""

    record_id: str
    rule: str | None
    level: str | None
    at: str  # ISO 8601, UTC, from the notifier


OnAck = Callable[[Acknowledgement], None]


class WindowNotifier:
    """Feeds the on-screen notifier process (qcedge.notifier_window) and hands its acknowledgements to `on_ack`.

    The process is started by `start` (or the first feedback) and started again (at most once per
    `restart_after` seconds) if it died; while it cannot run, feedback is only logged.
    `on_ack` is called in a reader thread of this object.
    """

    def __init__(self, on_ack: OnAck | None = None, *, restart_after: float = 10.0,
                 env: dict[str, str] | None = None) -> None:
        self.on_ack = on_ack
        self.restart_after = restart_after
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.placed: dict[str, Any] | None = None  # the last "shown" event (button position), for tests
        self.shown = threading.Event()
        self.acks = 0
        self._lock = threading.Lock()
        self._started_at = 0.0
        self._closed = False
        self._no_display_logged = False

    def _ensure(self) -> subprocess.Popen | None:
        if self.proc is not None and self.proc.poll() is None:
            return self.proc
        if self.proc is not None:
            log.warning("on-screen notifier ended (exit %s)", self.proc.returncode)
            self.proc = None
        if self._closed or time.monotonic() - self._started_at < self.restart_after and self._started_at:
            return None
        env = os.environ if self.env is None else self.env
        if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM") == "offscreen"):
            if not self._no_display_logged:
                self._no_display_logged = True
                log.warning("[notify] window: no display (DISPLAY unset); feedback is only logged")
            return None
        self._started_at = time.monotonic()
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "qcedge.notifier_window"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                         encoding="utf-8", bufsize=1, env=self.env)
        except OSError as exc:
            log.warning("on-screen notifier could not start: %s", exc)
            return None
        threading.Thread(target=self._read, args=(self.proc,), name="notifier-window", daemon=True).start()
        return self.proc

    def start(self) -> bool:
        """Start the window process now (it starts Qt in about 0.2-0.3 s), so the first feedback shows at once."""
        with self._lock:
            return self._ensure() is not None

    def show(self, fb: Feedback) -> bool:
        """Hand one feedback to the window; False if the window process is not running."""
        with self._lock:
            proc = self._ensure()
            if proc is None or proc.stdin is None:
                return False
            try:
                proc.stdin.write(json.dumps(asdict(fb)) + "\n")
                proc.stdin.flush()
            except (OSError, ValueError):
                log.warning("on-screen notifier is not reading; feedback only logged")
                return False
            return True

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("event") == "shown":
                self.placed = event
                self.shown.set()
            elif event.get("event") == "ack" and isinstance(event.get("record_id"), str):
                rule, level, at = event.get("rule"), event.get("level"), event.get("at")
                ack = Acknowledgement(record_id=event["record_id"], rule=rule if isinstance(rule, str) else None,
                                      level=level if isinstance(level, str) else None,
                                      at=at if isinstance(at, str) else "")
                self.acks += 1
                log.info("feedback acknowledged", extra={"ctx": {"event": "feedback_ack", "record_id": ack.record_id,
                                                                 "rule": ack.rule}})
                if self.on_ack is not None:
                    try:
                        self.on_ack(ack)
                    except Exception:  # noqa: BLE001 - an acknowledgement never stops the reader
                        log.exception("on_ack callback failed")

    def close(self, timeout: float = 3.0) -> None:
        """Close the window (end of its input) and wait for the process to end."""
        self._closed = True
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
