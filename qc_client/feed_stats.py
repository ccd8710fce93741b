"""What the feed client did (`FeedStats`), counted in its I/O thread and read from any thread (`FeedCounters`)."""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

SET = ("endpoint", "last_ack_at", "last_heard_at", "connected", "last_error")  # set, not added to


@dataclass
class FeedStats:
    station: str
    endpoint: str
    outbox_depth: int = 0
    in_flight: int = 0
    sent: int = 0          # record messages sent, resends included
    resent: int = 0
    acked: int = 0         # records removed from the outbox on ack
    duplicates: int = 0    # acks that said central had the record already
    rejected: int = 0
    feedback: int = 0
    feedback_acks: int = 0  # feedback_ack messages sent
    last_ack_at: float | None = None    # wall time
    last_heard_at: float | None = None  # wall time, any message from central
    connected: bool = False
    reconnects: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FeedCounters:
    """A FeedStats behind a lock: `count(sent=3, connected=True)` adds to counters and sets the rest (SET)."""

    def __init__(self, stats: FeedStats) -> None:
        self._stats = stats
        self._lock = threading.Lock()

    def count(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                if key in SET:
                    setattr(self._stats, key, value)
                else:
                    setattr(self._stats, key, getattr(self._stats, key) + value)

    def snapshot(self) -> FeedStats:
        """A copy of the stats as they are now."""
        with self._lock:
            return FeedStats(**asdict(self._stats))
