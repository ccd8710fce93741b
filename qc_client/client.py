"""The station's feed client: a DEALER in its own I/O thread.

Records are committed to the outbox first (`submit`), then pipelined to central
(up to `window` in flight), resent with backoff until acked, and removed from
the outbox on ack. The ack carries the record's QC feedback, handed to
`on_feedback` (called in the I/O thread) once per process. Heartbeats both ways;
when central is silent for `liveness` heartbeat intervals the socket is closed
and a new one opened (ZeroMQ guide, Paranoid Pirate); libzmq retries the TCP
connection every `reconnect_min` .. `reconnect_max` seconds meanwhile. A central
that answers again (a new run, seen by its `boot` id, or a new connection) gets
everything unacknowledged at once. Given several endpoints (a list, or one string
with commas), the client talks to one at a time and fails over to the next when
the one it uses falls silent (several receivers sharing one central store).
With a `kb` agent (qc_client.kb.KbAgent), heartbeats report the knowledge-base
release the station runs (also in every record header) and an offer in central's
heartbeat answer is fetched in bounded chunks (docs/kb.md).
`acknowledge` sends a `feedback_ack` (the technologist acknowledged a feedback) once central
answers in the current connection; these wait in memory only (MAX_FEEDBACK_ACKS), not in the outbox.
"""
from __future__ import annotations

import heapq
import logging
import socket
import threading
import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import zmq

from qcedge.qc_client.kb_agent import KbAgent
from qcedge.qc_client.keys import ClientKeys
from qcedge.qc_client.outbox import RESEND_NOW, Outbox, OutboxItem
from qcedge.qc_client.protocol import (DEFAULT_MAX_BYTES, FEED_LEVEL, FEEDBACK_LEVELS, MAX_ACK_TEXT, MAX_RECORD_ID, Message,
                                ProtocolError, decode, encode, station_id_problem, utc_now_iso)
from qcedge.qc_client.record import Record

log = logging.getLogger(__name__)

MARK_DELAY = 0.5  # seconds before a first send still unacked is noted in the outbox
ACK_FLUSH = 0.01  # acked records leave the outbox within this many seconds, many per transaction
MAX_FEEDBACK_ACKS = 1000  # acknowledgements waiting for central; the oldest go first beyond this


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
        return cls.from_body(msg.header, msg.body)

    @classmethod
    def from_body(cls, header: dict[str, Any], body: dict[str, Any]) -> "Feedback":
        rule = body.get("rule")
        return cls(record_id=header["record_id"], level=body["level"], message=body["message"],
                   rule=rule if isinstance(rule, str) else None, seq=header.get("seq"),
                   station=header.get("station"),
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
    feedback_acks: int = 0  # feedback_ack messages sent
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
        endpoint: str | Sequence[str],
        outbox: Outbox,
        station_id: str,
        *,
        on_feedback: Callable[[Feedback], None] | None = None,
        on_rejected: Callable[[str, str], None] | None = None,
        on_acked: Callable[[list[str]], None] | None = None,
        keys: ClientKeys | None = None,
        heartbeat: float = 2.0,
        liveness: int = 3,
        reconnect_min: float = 0.1,
        reconnect_max: float = 1.0,
        ack_timeout: float = 5.0,
        resend_max: float = 60.0,
        window: int = 512,
        batch: int = 256,
        max_bytes: int = DEFAULT_MAX_BYTES,
        kb: KbAgent | None = None,
    ) -> None:
        problem = station_id_problem(station_id)
        if problem is not None:
            raise ValueError(f"station_id: {problem}")
        self.endpoints = _endpoint_list(endpoint)
        self.endpoint = self.endpoints[0]  # the one in use; the next is tried when it falls silent
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
        self._stats = FeedStats(station=station_id, endpoint=self.endpoint)
        self._stats_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._seen_feedback: OrderedDict[tuple, None] = OrderedDict()
        self._inflight: dict[str, float] = {}
        self._acked_buf: list[str] = []  # acked, to be removed from the outbox
        self._acked_since = 0.0
        # first sends are noted in the outbox only if still unacked after MARK_DELAY (most are acked
        # sooner, which saves a write per record); until then they are skipped by seq (_upto)
        self._unmarked: dict[str, float] = {}  # record id -> wall deadline
        self._upto = 0  # every never-sent record of this station up to this seq went out this session
        self._fresh: deque[OutboxItem] = deque()  # committed by submit, not yet sent (fast path)
        self._dirty = False     # set by wake(): something new in the outbox
        self._sleeping = False  # the I/O thread is (about to be) blocked in poll
        self._deadlines: list[tuple[float, str]] = []
        self._boot: str | None = None  # central's run id, from its acks and heartbeats
        self._restarted = False  # central answered as a new run: resend everything unacked at once
        self.kb = kb
        self._hb_now = False  # the knowledge-base state changed: tell central with a heartbeat now
        self._kb_header: dict[str, Any] = kb.report_header() if kb is not None else {}
        self._fb_acks: deque[tuple[dict[str, Any], dict[str, Any]]] = deque(maxlen=MAX_FEEDBACK_ACKS)
        if kb is not None:
            kb.wake = self._kb_changed

    # -- public API -----------------------------------------------------------------------------
    def start(self) -> "FeedClient":
        if self._thread is not None:
            raise RuntimeError("FeedClient already started")
        self._thread = threading.Thread(target=self._run, name=f"feed-{self.station_id}", daemon=True)
        self._thread.start()
        return self

    def submit(self, record: Record, attachments: Sequence[bytes] = ()) -> int:
        """Commit the record to the outbox (durable on return), wake the sender; returns its seq."""
        return self.submit_many([(record, attachments)])[0]

    def submit_many(self, records: Sequence[Record | tuple[Record, Sequence[bytes]]]) -> list[int]:
        """Commit several records in one transaction (one disk sync), wake the sender; their seqs."""
        for entry in records:
            record = entry[0] if isinstance(entry, tuple) else entry
            if record.station != self.station_id:
                raise ValueError(f"record is for station {record.station!r}, this client is {self.station_id!r}")
        items = self.outbox.put_items(list(records))
        # hand the committed items to the I/O thread: it sends them without reading them back
        self._fresh.extend(item for item, new in items if new)
        self._signal()
        return [item.seq for item, _ in items]

    def acknowledge(self, record_id: str, *, rule: str | None = None, level: str | None = None,
                    by: str | None = None, at: str | None = None) -> None:
        """Tell central the technologist acknowledged a feedback (sent once central answers)."""
        if not isinstance(record_id, str) or not 0 < len(record_id) <= MAX_RECORD_ID:
            raise ValueError(f"record_id must hold 1 to {MAX_RECORD_ID} characters")
        header = {"station": self.station_id, "record_id": record_id}
        body = {"rule": rule, "level": level, "by": by, "at": at or utc_now_iso()}
        body = {k: (v[:MAX_ACK_TEXT] if isinstance(v, str) else None) for k, v in body.items()}
        self._fb_acks.append((header, body))
        self._dirty = True
        self._signal()

    def wake(self) -> None:
        """Tell the I/O thread there is something new in the outbox (e.g. after Outbox.put)."""
        self._dirty = True
        self._signal()

    def _kb_changed(self) -> None:
        self._hb_now = True
        self._signal()

    def _wire_header(self, item: OutboxItem, **kw: Any) -> dict[str, Any]:
        header = item.wire_header(**kw)
        if self._kb_header.get("kb_version") is not None:
            header["kb_version"] = self._kb_header["kb_version"]
        return header

    def _signal(self) -> None:
        if not self._sleeping:
            return  # the I/O thread checks _dirty and _fresh before it sleeps
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
        # No ZMQ_IMMEDIATE: with it, libzmq's socket side answers a connection's "hiccup" (the TCP
        # connection dropped) by terminating that pipe without delay, from inside a recv call; when
        # that lands between two frames of one multipart message the next frame read fails and libzmq
        # aborts the process (Assertion failed: !_more (src/fq.cpp:80)). Without it the pipe lives on
        # across reconnects; records queued while central is away simply wait for their ack timeout.
        sock.setsockopt(zmq.RECONNECT_IVL, max(1, int(self.reconnect_min * 1000)))
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, max(1, int(self.reconnect_max * 1000)))
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
                if failed:
                    self._sleep(self.reconnect_max)  # do not spin on an error that repeats
                else:
                    self._count(last_error=f"central silent for {self.liveness} heartbeats")
                    if heard:
                        log.warning("central at %s silent for %d heartbeats: opening a new connection",
                                    self.endpoint, self.liveness)
                    self._fail_over()
                # a new socket at once: libzmq retries the connection every reconnect_min..max seconds,
                # so a central that comes back is noticed within about reconnect_max
        finally:
            ctx.term()

    def _fail_over(self) -> None:
        """With several endpoints, the next session talks to the next one (round robin)."""
        if len(self.endpoints) < 2:
            return
        now = self.endpoints[(self.endpoints.index(self.endpoint) + 1) % len(self.endpoints)]
        log.warning("central at %s silent: failing over to %s", self.endpoint, now)
        self.endpoint = now
        with self._stats_lock:
            self._stats.endpoint = now

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
        self._unmarked.clear()
        self._upto = 0
        self._fresh.clear()  # the outbox has them: this session starts from the outbox
        session_start = time.time()
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self._wake_r.fileno(), zmq.POLLIN)
        monitor = sock.get_monitor_socket(zmq.EVENT_CONNECTED)
        poller.register(monitor, zmq.POLLIN)
        try:
            return self._serve(sock, poller, monitor, session_start)
        finally:
            try:
                sock.disable_monitor()
            except zmq.ZMQError:
                pass
            monitor.close(linger=0)

    def _serve(self, sock: zmq.Socket, poller: zmq.Poller, monitor: zmq.Socket, session_start: float) -> bool:
        next_mark = time.monotonic() + MARK_DELAY
        heard = False
        last_heard = time.monotonic()
        next_hb = last_heard
        want_out = False
        more_due = True
        while not self._stop.is_set():
            now = time.monotonic()
            if self._restarted:
                self._restarted = False
                self._resend_all()
                more_due = True
            if self._expire(now):
                more_due = True  # their ack timed out: send them again
            if now >= next_mark:
                self._mark_unmarked()
                next_mark = now + MARK_DELAY
            attempted = blocked = False
            if self._fresh and len(self._inflight) < self.window:
                attempted = True
                blocked, needs_db = self._send_fresh(sock)
                more_due = more_due or needs_db
            if more_due and not blocked and len(self._inflight) < self.window:
                attempted = True
                blocked, more_due = self._send_due(sock)
            if attempted and blocked != want_out:
                want_out = blocked
                poller.modify(sock, zmq.POLLIN | (zmq.POLLOUT if blocked else 0))
            if self._acked_buf and (len(self._acked_buf) >= self.batch or now >= self._acked_since + ACK_FLUSH):
                self._settle([], time.time())  # acked rows leave the outbox in batches (one transaction)
            if self._hb_now:
                self._hb_now = False
                next_hb = now
            if now >= next_hb:
                hb: dict[str, Any] = {"station": self.station_id, "interval": self.heartbeat, "sent_at": utc_now_iso()}
                if self.kb is not None:
                    self._kb_header = self.kb.report_header()
                    hb.update(feed=FEED_LEVEL, site=self.kb.site, **self._kb_header)
                try:
                    sock.send_multipart(encode("heartbeat", hb), flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass
                next_hb = now + self.heartbeat
            fb_acks_blocked = bool(heard and self._fb_acks and self._send_fb_acks(sock))
            if now - last_heard > self.heartbeat * self.liveness:
                return heard
            # how long to wait
            wake_at = min(next_hb, last_heard + self.heartbeat * self.liveness + 0.001)
            if self._acked_buf:
                wake_at = min(wake_at, self._acked_since + ACK_FLUSH)
            if self._deadlines:
                wake_at = min(wake_at, self._deadlines[0][0])
            self._sleeping = True
            if self._dirty:
                self._dirty = False
                more_due = True  # woken by wake(): look in the outbox
            timeout = 0.0 if ((more_due or self._fresh) and not want_out and len(self._inflight) < self.window) \
                else max(0.0, wake_at - time.monotonic())
            if heard and self._fb_acks and not fb_acks_blocked:
                timeout = 0.0  # acknowledged since the send above: send it now
            events = dict(poller.poll(timeout * 1000))
            self._sleeping = False
            if self._wake_r.fileno() in events:
                self._drain_wake()
            if monitor in events:
                self._drain_monitor(monitor)
                next_hb = time.monotonic()  # a (new) TCP connection: ask central at once, it may be a new run
            if self._dirty:
                self._dirty = False
                more_due = True
            if events.get(sock, 0) & zmq.POLLOUT:
                more_due = True
            if events.get(sock, 0) & zmq.POLLIN:
                was_full = len(self._inflight) >= self.window
                if self._receive(sock):
                    last_heard = time.monotonic()
                    if not heard:
                        heard = True
                        log.info("connected to central at %s", self.endpoint)
                        # central is there: what waits in backoff from earlier connections goes now
                        if self.outbox.reschedule_all(RESEND_NOW, sent_before=session_start):
                            more_due = True
                    self._count(connected=True, last_heard_at=time.time())
                if was_full:
                    more_due = True  # acks freed room in the window
        return heard

    def _send_fb_acks(self, sock: zmq.Socket) -> bool:
        """Send waiting acknowledgements of feedback; what the socket cannot take now waits (True: blocked)."""
        sent = 0
        while self._fb_acks:
            header, body = self._fb_acks[0]
            try:
                sock.send_multipart(encode("feedback_ack", {**header, "sent_at": utc_now_iso()}, body),
                                    flags=zmq.NOBLOCK)
            except zmq.Again:
                break
            self._fb_acks.popleft()
            sent += 1
        if sent:
            self._count(feedback_acks=sent)
        return bool(self._fb_acks)

    def _drain_monitor(self, monitor: zmq.Socket) -> None:
        try:
            while monitor.recv_multipart(flags=zmq.NOBLOCK):
                pass
        except zmq.Again:
            pass

    def _resend_all(self) -> None:
        """Central runs anew: what it had not acked is forgotten there; send it all again now."""
        self._mark_unmarked()  # first sends become 'sent once', due at once
        self._inflight.clear()
        self._deadlines.clear()
        self._upto = 0
        self.outbox.reschedule_all(RESEND_NOW)

    def _saw_boot(self, header: dict[str, Any]) -> None:
        boot = header.get("boot")
        if not isinstance(boot, str):
            return
        if self._boot is not None and boot != self._boot:
            log.info("central at %s runs anew: resending what it had not acknowledged", self.endpoint)
            self._restarted = True
        self._boot = boot

    def _expire(self, now: float) -> int:
        """Drop in-flight entries whose ack timeout passed (they are due again in the outbox)."""
        expired = 0
        overdue: list[tuple[str, float]] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, rid = heapq.heappop(self._deadlines)
            if self._inflight.get(rid) == deadline:
                del self._inflight[rid]
                expired += 1
                if self._unmarked.pop(rid, None) is not None:
                    overdue.append((rid, RESEND_NOW))  # note the first send; due again at once
        if overdue:
            self.outbox.mark_sent(overdue)
        return expired

    def _mark_unmarked(self) -> None:
        """Note in the outbox the first sends still waiting for their ack (attempts, next attempt)."""
        if self._unmarked:
            marks, self._unmarked = list(self._unmarked.items()), {}
            self.outbox.mark_sent(marks)

    def _send_fresh(self, sock: zmq.Socket) -> tuple[bool, bool]:
        """Send records just submitted, straight from memory, while they continue the sequence.

        Returns (blocked, the outbox must be looked at). A record whose seq does not follow `_upto`
        (older ones wait in the outbox) is left to the outbox query, which sends in seq order.
        """
        blocked = needs_db = False
        sent = 0
        wall, mono = time.time(), time.monotonic()
        sent_at = utc_now_iso()
        while self._fresh and len(self._inflight) < self.window:
            item = self._fresh[0]
            if item.seq <= self._upto or item.record_id in self._inflight:
                self._fresh.popleft()  # already sent through the outbox query
                continue
            if item.seq != self._upto + 1:
                needs_db = True
                break
            frames = encode("record", self._wire_header(item, sent_at=sent_at, attempt=1), item.body, item.attachments,
                            max_bytes=None)
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                blocked = True
                break
            self._fresh.popleft()
            self._unmarked[item.record_id] = wall + self.ack_timeout
            self._upto = item.seq
            self._inflight[item.record_id] = mono + self.ack_timeout
            heapq.heappush(self._deadlines, (mono + self.ack_timeout, item.record_id))
            sent += 1
        if sent:
            self._count(sent=sent)
        return blocked, needs_db

    def _send_due(self, sock: zmq.Socket) -> tuple[bool, bool]:
        """Send due records up to the window. Returns (blocked, maybe more due)."""
        room = self.window - len(self._inflight)
        limit = min(room, self.batch)
        wall, mono = time.time(), time.monotonic()
        items = self.outbox.due(limit=limit, now=wall + 0.01,  # 10 ms slack: wall and monotonic clocks
                                station=self.station_id, skip_unsent_upto=self._upto)
        if not items:
            return False, False
        schedule: list[tuple[str, float]] = []
        blocked = False
        sent = resent = 0
        sent_at = utc_now_iso()
        for item in items:
            if item.record_id in self._inflight:
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
                self._unmarked[item.record_id] = wall + delay
                self._upto = max(self._upto, item.seq)
            else:
                schedule.append((item.record_id, wall + delay))
            self._inflight[item.record_id] = mono + delay
            heapq.heappush(self._deadlines, (mono + delay, item.record_id))
            sent += 1
            resent += item.attempts > 0
        if schedule:
            self.outbox.mark_sent(schedule, sent_at=wall)
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
        for rid in acked:
            self._unmarked.pop(rid, None)
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
            self._saw_boot(msg.header)
            if msg.kind == "ack":
                self._on_ack(msg, acked)
            elif msg.kind == "feedback":
                self._on_feedback(msg)
            elif msg.kind == "record":
                log.warning("central sent a record message; ignored")
            elif self.kb is not None and msg.kind in ("heartbeat", "kb_chunk"):
                self._on_kb(sock, msg)
        for rid in acked:
            self._inflight.pop(rid, None)
            self._unmarked.pop(rid, None)
        if acked and not self._acked_buf:
            self._acked_since = time.monotonic()
        self._acked_buf.extend(acked)
        return got

    def _on_ack(self, msg: Message, acked: list[str]) -> None:
        rid = msg.header["record_id"]
        status = msg.header["status"]
        if status in ("stored", "duplicate"):
            # feedback first: the row leaves the outbox only after what central said about it was shown
            feedback = msg.body.get("feedback")
            for body in feedback if isinstance(feedback, list) else ():
                if isinstance(body, dict) and body.get("level") in FEEDBACK_LEVELS \
                        and isinstance(body.get("message"), str):
                    self._show(Feedback.from_body(msg.header, body))
                else:
                    log.warning("malformed feedback in an ack from central dropped")
            acked.append(rid)
            if status == "duplicate":
                self._count(duplicates=1)
        else:
            error = str(msg.header.get("error") or "rejected by central")
            self._inflight.pop(rid, None)
            self._unmarked.pop(rid, None)
            if self.outbox.reject(rid, error):
                self._count(rejected=1, last_error=f"record {rid} rejected: {error}")
                log.error("central rejected record %s (seq %s): %s", rid, msg.header.get("seq"), error)
                if self.on_rejected is not None:
                    try:
                        self.on_rejected(rid, error)
                    except Exception:
                        log.exception("on_rejected callback failed")

    def _on_kb(self, sock: zmq.Socket, msg: Message) -> None:
        """An offer in a heartbeat answer, or a chunk of the release being fetched: ask for the next chunk."""
        try:
            if msg.kind == "heartbeat":
                if not isinstance(msg.header.get("feed"), int) or msg.header["feed"] < 2:
                    return  # an older central: no knowledge-base messages to it
                ask = self.kb.on_offer(msg.header)
            else:
                ask = self.kb.on_chunk(msg.header, msg.attachments[0] if msg.attachments else b"")
            if ask is not None:
                sock.send_multipart(encode("kb_get", ask), flags=zmq.NOBLOCK)
        except zmq.Again:
            pass  # asked again on the next offer
        except Exception:  # noqa: BLE001 - the knowledge base never stops the feed
            log.exception("knowledge-base fetch failed")

    def _on_feedback(self, msg: Message) -> None:
        self._show(Feedback.from_message(msg))

    def _show(self, fb: Feedback) -> None:
        """Hand a feedback to on_feedback, once per process (central sends it again with every ack)."""
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


def _endpoint_list(endpoint: str | Sequence[str]) -> list[str]:
    """One endpoint, several as a list, or several in one string separated by commas."""
    items = endpoint.split(",") if isinstance(endpoint, str) else list(endpoint)
    out = [e.strip() for e in items if isinstance(e, str) and e.strip()]
    if not out or len(out) != len(items):
        raise ValueError("endpoint: give one endpoint (tcp://host:port) or several separated by commas")
    return list(dict.fromkeys(out))
