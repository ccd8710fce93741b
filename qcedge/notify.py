"""Show central's feedback to the technologist: a log line always, a desktop notification where a display exists.

The desktop notification uses `notify-send` (libnotify-bin) in a child
process that is never waited on in the caller's thread; if there is no display,
no notify-send, or no notification service, only the log line remains.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any

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

    def __init__(self, desktop: bool | None = None, app_name: str = "qcedge") -> None:
        has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        self.command = shutil.which("notify-send")
        self.desktop = (has_display and self.command is not None) if desktop is None else (desktop and self.command is not None)
        self.app_name = app_name
        self.shown = 0
        self.failed = 0

    def show(self, fb: Feedback) -> None:
        lvl = logging.WARNING if fb.level in _LOUD else logging.INFO
        # Feedback text comes from central's rules (thresholds, missing markers), not from personal fields.
        log.log(lvl, "feedback from central", extra={"ctx": {
            "event": "feedback", "record_id": fb.record_id, "level": fb.level, "rule": fb.rule, "message": fb.message}})
        if self.desktop:
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
