"""Structured logging for the daemon: one JSON object per line (or plain text).

Library code logs with `extra={"ctx": {...}}` for structured keys. No field
values are ever passed to the log: counters, ids, template ids, timings only.
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import datetime, timezone
from pathlib import Path

_NOISY = ("RapidOCR", "PIL", "pynetdicom", "httpx", "httpcore", "onnxruntime")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = getattr(record, "ctx", None)
        if isinstance(ctx, dict):
            data.update({k: v for k, v in ctx.items() if k not in data})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ctx = getattr(record, "ctx", None)
        if isinstance(ctx, dict) and ctx:
            text += " " + " ".join(f"{k}={v}" for k, v in ctx.items())
        return text


ROTATE_BYTES = 50 * 1024 * 1024  # a log file is rotated at this size ...
ROTATE_KEEP = 5                  # ... keeping this many old files (.1 .. .5): months unattended stay bounded


def configure(level: str = "INFO", json_lines: bool = True, file: Path | None = None,
              max_bytes: int = ROTATE_BYTES, backups: int = ROTATE_KEEP) -> None:
    """Replace the root logger's handlers: stderr (the journal under systemd), and a rotating file if given."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    formatter: logging.Formatter = JsonFormatter() if json_lines else TextFormatter()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(file, maxBytes=max_bytes, backupCount=backups,
                                                             encoding="utf-8"))
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def read_events(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines log file, in order (plain-text lines are passed over)."""
    events = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return events
