"""The run log: one JSON line per step event, with times; screenshots beside it.

No typed text and no variable values are written (they may be patient data):
type steps log the number of characters, read steps the field names and
confidences, failed checks the message as written in the flow (unsubstituted).
"""
from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)


class RunLog:
    """Writes `<dir>/run.jsonl`; `dir` None keeps events in memory only."""

    def __init__(self, directory: Path | None, flow_id: str, run_id: str | None = None) -> None:
        self.run_id = run_id or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.dir = directory
        self.events: list[dict[str, Any]] = []
        self.t0 = time.monotonic()
        self._f = None
        self.flow_id = flow_id
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self.path: Path | None = directory / "run.jsonl"
            self._f = open(self.path, "a", encoding="utf-8")
        else:
            self.path = None

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        item = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "t": round(time.monotonic() - self.t0, 4), "run": self.run_id, "flow": self.flow_id,
                "event": event, **{k: v for k, v in fields.items() if v is not None}}
        self.events.append(item)
        if self._f is not None:
            self._f.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
            self._f.flush()
        return item

    def save_image(self, name: str, image: np.ndarray) -> Path | None:
        if self.dir is None or image is None:
            return None
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screen"
        path = self.dir / (safe if safe.endswith(".png") else safe + ".png")
        n = 2
        while path.exists():
            path = self.dir / f"{path.stem.rsplit('~', 1)[0]}~{n}.png"
            n += 1
        cv2.imwrite(str(path), image)
        return path

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
