"""Where the records of received objects go: JSON lines, or the station's outbox."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any


class RecordSink:
    """Append records as JSON lines (fsync'd) to a file, or print them."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.Lock()

    def __call__(self, record: Any) -> None:
        line = record.to_json() + "\n"
        with self.lock:
            if self.path is None:
                sys.stdout.write(line)
                sys.stdout.flush()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())


class OutboxSink:
    """The station's privacy policy, then its durable outbox: the feed client sends from there.
    A config that cannot be used raises its ConfigError (bad input)."""

    def __init__(self, config_path: str | os.PathLike) -> None:
        from qcedge.config import load_config
        from qcedge.privacy import PrivacyPolicy
        from qcedge.qc_client.outbox import Outbox

        self.config = load_config(config_path)
        self.policy = PrivacyPolicy.from_section(self.config.privacy)
        self.outbox = Outbox(self.config.feed.outbox)
        self.lock = threading.Lock()

    def __call__(self, record: Any) -> None:
        identity = ["sop_instance_uid"] if record.kind == "dicom" else None
        safe = self.policy.apply(record, identity_fields=identity)
        with self.lock:
            self.outbox.put(safe)

    def close(self) -> None:
        self.outbox.close()
