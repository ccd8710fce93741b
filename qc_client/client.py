"""The station's feed client: a DEALER in its own I/O thread.

Records are committed to the outbox first (`submit`), then pipelined to central
(up to `window` in flight), resent with backoff until acked, and removed from
the outbox on ack. Heartbeats both ways; when central is silent for `liveness`
heartbeat intervals the socket is closed and reopened after a backoff that
doubles from `reconnect_min` to `reconnect_max` (ZeroMQ guide, Paranoid Pirate).
Feedback from central is handed to `on_feedback` (called in the I/O thread).
"""
from __future__ import annotations

import heapq
import logging
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import zmq

from qc_client.keys import ClientKeys
from qc_client.outbox import Outbox
from qc_client.protocol import DEFAULT_MAX_BYTES, Message, ProtocolError, decode, encode, utc_now_iso
from qc_client.record import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Feedback:
    """QC feedback from central about one record."""

    record_id: str
    level: str  # ok | info | warn | alert
    message: str
    rule: str | None = None
    seq: int | None = None
    station: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_message(cls, msg: Message) -> "Feedback":
        body = msg.body
        return cls(record_id=msg.header["record_id"], level=body["level"], message=body["message"],
                   rule=body.get("rule"), seq=msg.header.get("seq"), station=msg.header.get("station"),
                   details={k: v for k, v in body.items() if k not in ("level", "message", "rule")})


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
    last_ack_at: float | None = None    # wall time
    last_heard_at: float | None = None  # wall time, any message from central
    connected: bool = False
    reconnects: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FeedClient:
    """Durable, pipelined sender of records to central (see module docstring)."""

    def __init__(
        self,
        endpoint: str,
        outbox: Outbox,
        station_id: str,
        *,
        on_feedback: Callable[[Feedback], None] | None = None,
        on_rejected: Callable[[str, str], None] | None = None,
        on_acked: Callable[[list[str]], None] | None = None,
        keys: ClientKeys | None = None,
        heartbeat: float = 2.0,
        liveness: int = 3,
        reconnect_min: float = 1.0,
        reconnect_max: float = 32.0,
        ack_timeout: float = 5.0,
        resend_max: float = 60.0,
        window: int = 512,
        batch: int = 256,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if not station_id or len(station_id.encode("utf-8")) > 255 or station_id.startswith("\0"):
            raise ValueError("station_id must be 1-255 bytes and not start with a NUL byte (ZeroMQ identity)")
        self.endpoint = endpoint
        self.outbox = outbox
        self.station_id = station_id
        self.on_feedback = on_feedback
        self.on_rejected = on_rejected
        self.on_acked = on_acked
        self.keys = keys
        self.heartbeat = heartbeat
        self.liveness = liveness
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.ack_timeout = ack_timeout
        self.resend_max = resend_max
        self.window = window
        self.batch = batch
        self.max_bytes = max_bytes
        self._stats = FeedStats(station=station_id, endpoint=endpoint)
        self._stats_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._seen_feedback: OrderedDict[tuple, None] = OrderedDict()
        self._inflight: dict[str, float] = {}
        self._acked_buf: list[str] = []  # acked, to be removed from the outbox
        self._dirty = False     # set by wake(): something new in the outbox
        self._sleeping = False  # the I/O thread is (about to be) blocked in poll
        self._deadlines: list[tuple[float, str]] = []

    # -- public API -----------------------------------------------------------------------------
    def start(self) -> "FeedClient":
        if self._thread is not None:
            raise RuntimeError("FeedClient already started")
        self._thread = threading.Thread(target=self._run, name=f"feed-{self.station_id}", daemon=True)
        self._thread.start()
        return self

    def submit(self, record: Record, attachments: Sequence[bytes] = ()) -> int:
        """Commit the record to the outbox (durable on return), wake the sender; returns its seq."""
        if record.station != self.station_id:
            raise ValueError(f"record is for station {record.station!r}, this client is {self.station_id!r}")
        seq = self.outbox.put(record, attachments)
        self.wake()
        return seq

    def submit_many(self, records: Sequence[Record]) -> list[int]:
        """Commit several records in one transaction (one disk sync), wake the sender; their seqs."""
        for record in records:
            if record.station != self.station_id:
                raise ValueError(f"record is for station {record.station!r}, this client is {self.station_id!r}")
        seqs = self.outbox.put_many(list(records))
        self.wake()
        return seqs

    def wake(self) -> None:
        """Tell the I/O thread there is something new in the outbox."""
        self._dirty = True
        if not self._sleeping:
            return  # the I/O thread checks _dirty before it sleeps
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the thread is being woken anyway

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the I/O thread. Unacked records stay in the outbox for the next start."""
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("feed client thread did not stop within %.1f s", timeout)
        for s in (self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass

    def stats(self) -> FeedStats:
        with self._stats_lock:
            snap = FeedStats(**asdict(self._stats))
        snap.in_flight = len(self._inflight)
        try:
            snap.outbox_depth = self.outbox.depth()
        except Exception:  # closed outbox at shutdown
            pass
        return snap

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the outbox is empty (every record acked); True if it is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.depth() == 0:
                return True
            time.sleep(0.02)
        return self.outbox.depth() == 0

    def __enter__(self) -> "FeedClient":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- I/O thread ----------------------------------------------------------------------------
    def _count(self, **changes: Any) -> None:
        with self._stats_lock:
            for key, value in changes.items():
                if key in ("last_ack_at", "last_heard_at", "connected", "last_error"):
                    setattr(self._stats, key, value)
                else:
                    setattr(self._stats, key, getattr(self._stats, key) + value)

    def _open(self, ctx: zmq.Context) -> zmq.Socket:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, self.station_id.encode("utf-8"))
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IMMEDIATE, 1)  # never queue records for a connection that is not up
        sock.setsockopt(zmq.SNDHWM, max(1000, 2 * self.window))
        sock.setsockopt(zmq.MAXMSGSIZE, 4 * self.max_bytes)
        if self.keys is not None:
            sock.curve_secretkey = self.keys.secret
            sock.curve_publickey = self.keys.public
            sock.curve_serverkey = self.keys.server_public
        sock.connect(self.endpoint)
        return sock

    def _run(self) -> None:
        ctx = zmq.Context()
        backoff = self.reconnect_min
        first = True
        try:
            while not self._stop.is_set():
                if not first:
                    self._count(reconnects=1)
                first = False
                sock = self._open(ctx)
                failed = False
                try:
                    heard = self._session(sock)
                except Exception as exc:  # never let the I/O thread die (e.g. a full disk)
                    log.exception("feed client error; reopening the connection")
                    self._count(last_error=f"{type(exc).__name__}: {exc}")
                    heard, failed = False, True
                finally:
                    sock.close(linger=0)
                    self._count(connected=False)
                    self._settle_quietly()
                if self._stop.is_set():
                    break
                backoff = self.reconnect_min if heard else min(backoff * 2, self.reconnect_max)
                if not failed:
                    self._count(last_error=f"central silent for {self.liveness} heartbeats")
                    log.warning("central at %s silent for %d heartbeats: reconnecting in %.1f s",
                                self.endpoint, self.liveness, backoff)
                self._sleep(backoff)
        finally:
            ctx.term()

    def _settle_quietly(self) -> None:
        """Remove records already acked (so a restart does not send them again)."""
        if self._acked_buf:
            try:
                self._settle([], time.time())
            except Exception:
                log.exception("could not remove acked records from the outbox")

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, 0.05))

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _session(self, sock: zmq.Socket) -> bool:
        """Run one connection until central falls silent or stop; True if central was heard from."""
        self._inflight.clear()
        self._deadlines.clear()
        session_start = time.time()
        heard = False
        last_heard = time.monotonic()
        next_hb = last_heard
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self._wake_r.fileno(), zmq.POLLIN)
        want_out = False
        more_due = True
        while not self._stop.is_set():
            now = time.monotonic()
            if self._expire(now):
                more_due = True  # their ack timed out: send them again
            if more_due and len(self._inflight) < self.window:
                blocked, more_due = self._send_due(sock)  # also settles the acks received so far
                if blocked != want_out:
                    want_out = blocked
                    poller.modify(sock, zmq.POLLIN | (zmq.POLLOUT if blocked else 0))
            if self._acked_buf:
                self._settle([], time.time())
            if now >= next_hb:
                try:
                    sock.send_multipart(encode("heartbeat", {"station": self.station_id, "interval": self.heartbeat,
                                                           "sent_at": utc_now_iso()}),
                                        flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass
                next_hb = now + self.heartbeat
            if now - last_heard > self.heartbeat * self.liveness:
                return heard
            # how long to wait
            wake_at = min(next_hb, last_heard + self.heartbeat * self.liveness + 0.001)
            if self._deadlines:
                wake_at = min(wake_at, self._deadlines[0][0])
            self._sleeping = True
            if self._dirty:
                self._dirty = False
                more_due = True
            timeout = 0.0 if (more_due and not want_out and len(self._inflight) < self.window) \
                else max(0.0, wake_at - time.monotonic())
            events = dict(poller.poll(timeout * 1000))
            self._sleeping = False
            if self._wake_r.fileno() in events:
                self._drain_wake()
                more_due = True
            if events.get(sock, 0) & zmq.POLLOUT:
                more_due = True
            if events.get(sock, 0) & zmq.POLLIN:
                if self._receive(sock):
                    last_heard = time.monotonic()
                    if not heard:
                        heard = True
                        log.info("connected to central at %s", self.endpoint)
                        # central is there: what waits in backoff from earlier connections goes now
                        if self.outbox.reschedule_all(0.0, sent_before=session_start):
                            more_due = True
                    self._count(connected=True, last_heard_at=time.time())
                more_due = True  # acks free window room
        return heard

    def _expire(self, now: float) -> int:
        """Drop in-flight entries whose ack timeout passed (they are due again in the outbox)."""
        expired = 0
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, rid = heapq.heappop(self._deadlines)
            if self._inflight.get(rid) == deadline:
                del self._inflight[rid]
                expired += 1
        return expired

    def _send_due(self, sock: zmq.Socket) -> tuple[bool, bool]:
        """Send due records up to the window. Returns (blocked, maybe more due)."""
        room = self.window - len(self._inflight)
        limit = min(room, self.batch)
        wall, mono = time.time(), time.monotonic()
        items = self.outbox.due(limit=limit, now=wall + 0.01)  # 10 ms slack: wall and monotonic clocks
        if not items:
            return False, False
        schedule: list[tuple[str, float]] = []
        blocked = False
        sent = resent = 0
        sent_at = utc_now_iso()
        for item in items:
            if item.record_id in self._inflight:
                continue
            frames = encode("record", item.wire_header(sent_at=sent_at, attempt=item.attempts + 1), item.body,
                            item.attachments, max_bytes=None)
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                blocked = True
                break
            delay = min(self.ack_timeout * (2 ** min(item.attempts, 16)), self.resend_max)
            schedule.append((item.record_id, wall + delay))
            self._inflight[item.record_id] = mono + delay
            heapq.heappush(self._deadlines, (mono + delay, item.record_id))
            sent += 1
            resent += item.attempts > 0
        self._settle(schedule, wall)
        if sent:
            self._count(sent=sent, resent=resent)
        return blocked, (not blocked and sent > 0 and len(items) == limit)

    def _settle(self, schedule: list[tuple[str, float]], wall: float) -> None:
        """Acked records leave the outbox; sent ones get their next-attempt time."""
        acked, self._acked_buf = self._acked_buf, []
        # ack_many and mark_sent (not Outbox.settle): subclasses hook ack_many to learn what left
        removed = self.outbox.ack_many(acked) if acked else 0
        if schedule:
            self.outbox.mark_sent(schedule, sent_at=wall)
        if acked:
            self._count(acked=removed, last_ack_at=wall)
            if self.on_acked is not None:
                try:
                    self.on_acked(acked)
                except Exception:
                    log.exception("on_acked callback failed")

    def _receive(self, sock: zmq.Socket) -> bool:
        """Handle what central sent (up to a bound); True if anything arrived."""
        acked: list[str] = []
        got = False
        for _ in range(4 * self.batch):
            try:
                frames = sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                break
            got = True
            try:
                msg = decode(frames, max_bytes=4 * self.max_bytes)
            except ProtocolError as exc:
                log.warning("malformed message from central dropped: %s", exc)
                continue
            if msg.kind == "ack":
                self._on_ack(msg, acked)
            elif msg.kind == "feedback":
                self._on_feedback(msg)
            elif msg.kind == "record":
                log.warning("central sent a record message; ignored")
        for rid in acked:
            self._inflight.pop(rid, None)
        self._acked_buf.extend(acked)
        return got

    def _on_ack(self, msg: Message, acked: list[str]) -> None:
        rid = msg.header["record_id"]
        status = msg.header["status"]
        if status in ("stored", "duplicate"):
            acked.append(rid)
            if status == "duplicate":
                self._count(duplicates=1)
        else:
            error = str(msg.header.get("error") or "rejected by central")
            self._inflight.pop(rid, None)
            if self.outbox.reject(rid, error):
                self._count(rejected=1, last_error=f"record {rid} rejected: {error}")
                log.error("central rejected record %s (seq %s): %s", rid, msg.header.get("seq"), error)
                if self.on_rejected is not None:
                    try:
                        self.on_rejected(rid, error)
                    except Exception:
                        log.exception("on_rejected callback failed")

    def _on_feedback(self, msg: Message) -> None:
        fb = Feedback.from_message(msg)
        key = (fb.record_id, fb.rule, fb.level, fb.message)
        if key in self._seen_feedback:
            return  # sent again with a duplicate ack: shown once
        self._seen_feedback[key] = None
        if len(self._seen_feedback) > 10000:
            self._seen_feedback.popitem(last=False)
        self._count(feedback=1)
        if self.on_feedback is None:
            log.info("feedback %s for record %s: %s", fb.level, fb.record_id, fb.rule)
            return
        try:
            self.on_feedback(fb)
        except Exception:
            log.exception("on_feedback callback failed")
