"""The feed client's send window: records of one connection sent to central and not yet acknowledged.

Up to `window` records are in flight; each waits `ack_timeout` for its ack, and is sent again
with backoff (doubling, at most `resend_max`) while none comes. First sends are noted in the
outbox only if still unacked after a moment (`mark_unmarked`; most are acked sooner, which saves
a write per record); until then they are skipped by seq (`upto`). Records just submitted
(`fresh`) go out straight from memory while they continue the sequence; the rest come from the
outbox in seq order. Acked records leave the outbox in batches (`flush_acks`). Runs in the client's
I/O thread only (`fresh` is also extended by `FeedClient.submit_many`: a deque, safe for that).
"""
from __future__ import annotations

import heapq
import time
from collections import deque
from typing import Any, Callable

import zmq

from qcedge.qc_client.outbox import RESEND_NOW, Outbox, OutboxItem
from qcedge.qc_client.protocol import encode, utc_now_iso

ACK_FLUSH = 0.01  # acked records leave the outbox within this many seconds, many per transaction


class SendWindow:
    """See module docstring. `count(**changes)` adds to the client's stats; `wire_header(item, **kw)`
    is the header a record goes out with."""

    def __init__(self, outbox: Outbox, station_id: str, *, window: int, batch: int, ack_timeout: float,
                 resend_max: float, count: Callable[..., None], wire_header: Callable[..., dict[str, Any]]) -> None:
        self.outbox = outbox
        self.station_id = station_id
        self.window = window
        self.batch = batch
        self.ack_timeout = ack_timeout
        self.resend_max = resend_max
        self._count = count
        self._wire_header = wire_header
        self.inflight: dict[str, float] = {}  # record id -> monotonic deadline of its ack
        self.deadlines: list[tuple[float, str]] = []  # the same, as a heap
        self.unmarked: dict[str, float] = {}  # first sends not yet noted in the outbox: record id -> wall deadline
        self.upto = 0  # every never-sent record of this station up to this seq went out this session
        self.fresh: deque[OutboxItem] = deque()  # committed by submit, not yet sent (fast path)
        self.acked: list[str] = []  # acked, to be removed from the outbox
        self.acked_since = 0.0

    def reset(self) -> None:
        """A new connection starts from the outbox: nothing in flight, nothing fresh."""
        self.inflight.clear()
        self.deadlines.clear()
        self.unmarked.clear()
        self.upto = 0
        self.fresh.clear()

    def has_room(self) -> bool:
        return len(self.inflight) < self.window

    def forget(self, record_id: str) -> None:
        """A record central answered: no longer in flight."""
        self.inflight.pop(record_id, None)
        self.unmarked.pop(record_id, None)

    def note_acked(self, acked: list[str]) -> None:
        """Records central acked: out of flight, waiting to leave the outbox (within ACK_FLUSH)."""
        for rid in acked:
            self.forget(rid)
        if acked and not self.acked:
            self.acked_since = time.monotonic()
        self.acked.extend(acked)

    def acks_due(self, now: float) -> bool:
        """True when the acked records should leave the outbox now (a batch is full, or ACK_FLUSH passed)."""
        return bool(self.acked) and (len(self.acked) >= self.batch or now >= self.acked_since + ACK_FLUSH)

    def wake_at(self, at: float) -> float:
        """The earlier of `at` and when this window next has work (a flush of acks, an ack timeout)."""
        if self.acked:
            at = min(at, self.acked_since + ACK_FLUSH)
        if self.deadlines:
            at = min(at, self.deadlines[0][0])
        return at

    def flush_acks(self) -> tuple[list[str], int]:
        """Acked records leave the outbox (one transaction); returns them and how many rows went."""
        acked, self.acked = self.acked, []
        # through ack_many: subclasses hook it to learn what left
        removed = self.outbox.ack_many(acked) if acked else 0
        for rid in acked:
            self.unmarked.pop(rid, None)
        return acked, removed

    def resend_all(self) -> None:
        """Central runs anew: what it had not acked is forgotten there; send it all again now."""
        self.mark_unmarked()  # first sends become 'sent once', due at once
        self.inflight.clear()
        self.deadlines.clear()
        self.upto = 0
        self.outbox.reschedule_all(RESEND_NOW)

    def expire(self, now: float) -> int:
        """Drop in-flight entries whose ack timeout passed (they are due again in the outbox)."""
        expired = 0
        overdue: list[tuple[str, float]] = []
        while self.deadlines and self.deadlines[0][0] <= now:
            deadline, rid = heapq.heappop(self.deadlines)
            if self.inflight.get(rid) == deadline:
                del self.inflight[rid]
                expired += 1
                if self.unmarked.pop(rid, None) is not None:
                    overdue.append((rid, RESEND_NOW))  # note the first send; due again at once
        if overdue:
            self.outbox.mark_sent(overdue)
        return expired

    def mark_unmarked(self) -> None:
        """Note in the outbox the first sends still waiting for their ack (attempts, next attempt)."""
        if self.unmarked:
            marks, self.unmarked = list(self.unmarked.items()), {}
            self.outbox.mark_sent(marks)

    def send_fresh(self, sock: zmq.Socket) -> tuple[bool, bool]:
        """Send records just submitted, straight from memory, while they continue the sequence.

        Returns (blocked, the outbox must be looked at). A record whose seq does not follow `upto`
        (older ones wait in the outbox) is left to the outbox query, which sends in seq order.
        """
        blocked = needs_db = False
        sent = 0
        wall, mono = time.time(), time.monotonic()
        sent_at = utc_now_iso()
        while self.fresh and len(self.inflight) < self.window:
            item = self.fresh[0]
            if item.seq <= self.upto or item.record_id in self.inflight:
                self.fresh.popleft()  # already sent through the outbox query
                continue
            if item.seq != self.upto + 1:
                needs_db = True
                break
            frames = encode("record", self._wire_header(item, sent_at=sent_at, attempt=1), item.body, item.attachments,
                            max_bytes=None)
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                blocked = True
                break
            self.fresh.popleft()
            self.unmarked[item.record_id] = wall + self.ack_timeout
            self.upto = item.seq
            self.inflight[item.record_id] = mono + self.ack_timeout
            heapq.heappush(self.deadlines, (mono + self.ack_timeout, item.record_id))
            sent += 1
        if sent:
            self._count(sent=sent)
        return blocked, needs_db

    def send_due(self, sock: zmq.Socket) -> tuple[bool, bool]:
        """Send due records up to the window. Returns (blocked, maybe more due)."""
        room = self.window - len(self.inflight)
        limit = min(room, self.batch)
        wall, mono = time.time(), time.monotonic()
        items = self.outbox.due(limit=limit, now=wall + 0.01,  # 10 ms slack: wall and monotonic clocks
                                station=self.station_id, skip_unsent_upto=self.upto)
        if not items:
            return False, False
        schedule: list[tuple[str, float]] = []
        blocked = False
        sent = resent = 0
        sent_at = utc_now_iso()
        for item in items:
            if item.record_id in self.inflight:
                continue
            frames = encode("record", self._wire_header(item, sent_at=sent_at, attempt=item.attempts + 1), item.body,
                            item.attachments, max_bytes=None)
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                blocked = True
                break
            delay = min(self.ack_timeout * (2 ** min(item.attempts, 16)), self.resend_max)
            if item.next_attempt == 0:  # never sent: noted later, if still unacked
                self.unmarked[item.record_id] = wall + delay
                self.upto = max(self.upto, item.seq)
            else:
                schedule.append((item.record_id, wall + delay))
            self.inflight[item.record_id] = mono + delay
            heapq.heappush(self.deadlines, (mono + delay, item.record_id))
            sent += 1
            resent += item.attempts > 0
        if schedule:
            self.outbox.mark_sent(schedule, sent_at=wall)
        if sent:
            self._count(sent=sent, resent=resent)
        return blocked, (not blocked and sent > 0 and len(items) == limit)
