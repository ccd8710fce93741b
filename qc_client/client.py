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

The records in flight are qc_client.send_window's, the feedback both ways qc_client.feedback's,
the counters qc_client.feed_stats'. What stays here is one job, the connection to central: the
I/O thread's loop (sessions, heartbeats, fail-over) and what central answers in it.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Sequence

import zmq

from qcedge.qc_client.feed_stats import FeedCounters, FeedStats
from qcedge.qc_client.feedback import MAX_FEEDBACK_ACKS, Feedback, FeedbackAcks, FeedbackSeen
from qcedge.qc_client.kb_agent import KbAgent
from qcedge.qc_client.keys import ClientKeys
from qcedge.qc_client.outbox import RESEND_NOW, Outbox, OutboxItem
from qcedge.qc_client.protocol import (DEFAULT_MAX_BYTES, FEED_LEVEL, Message, ProtocolError, decode, encode,
                                       station_id_problem, utc_now_iso)
from qcedge.qc_client.record import Record
from qcedge.qc_client.send_window import ACK_FLUSH, SendWindow
from qcedge.qc_client.waker import Waker

__all__ = ["FeedClient", "FeedStats", "Feedback", "endpoint_list", "MARK_DELAY", "ACK_FLUSH", "MAX_FEEDBACK_ACKS"]

log = logging.getLogger(__name__)

MARK_DELAY = 0.5  # seconds before a first send still unacked is noted in the outbox


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
        self.endpoints = endpoint_list(endpoint)
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
        self._counters = FeedCounters(FeedStats(station=station_id, endpoint=self.endpoint))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waker = Waker()
        self._seen_feedback = FeedbackSeen()
        # what is in flight in the current connection (first sends are noted in the outbox after MARK_DELAY)
        self._sending = SendWindow(outbox, station_id, window=window, batch=batch, ack_timeout=ack_timeout,
                                   resend_max=resend_max, count=self._counters.count, wire_header=self._wire_header)
        self._dirty = False     # set by wake(): something new in the outbox
        self._boot: str | None = None  # central's run id, from its acks and heartbeats
        self._restarted = False  # central answered as a new run: resend everything unacked at once
        self.kb = kb
        self._hb_now = False  # the knowledge-base state changed: tell central with a heartbeat now
        self._kb_header: dict[str, Any] = kb.report_header() if kb is not None else {}
        self._fb_acks = FeedbackAcks(station_id)  # in memory only: central hears them when it answers
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
        self._sending.fresh.extend(item for item, new in items if new)
        self._waker.signal()
        return [item.seq for item, _ in items]

    def acknowledge(self, record_id: str, *, rule: str | None = None, level: str | None = None,
                    by: str | None = None, at: str | None = None) -> None:
        """Tell central the technologist acknowledged a feedback (sent once central answers)."""
        self._fb_acks.add(record_id, rule=rule, level=level, by=by, at=at)
        self._dirty = True
        self._waker.signal()

    def wake(self) -> None:
        """Tell the I/O thread there is something new in the outbox (e.g. after Outbox.put)."""
        self._dirty = True
        self._waker.signal()

    def _kb_changed(self) -> None:
        self._hb_now = True
        self._waker.signal()

    def _wire_header(self, item: OutboxItem, **kw: Any) -> dict[str, Any]:
        header = item.wire_header(**kw)
        if self._kb_header.get("kb_version") is not None:
            header["kb_version"] = self._kb_header["kb_version"]
        return header

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the I/O thread. Unacked records stay in the outbox for the next start."""
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("feed client thread did not stop within %.1f s", timeout)
        self._waker.close()

    def stats(self) -> FeedStats:
        snap = self._counters.snapshot()
        snap.in_flight = len(self._sending.inflight)
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
                    self._counters.count(reconnects=1)
                first = False
                sock = self._open(ctx)
                failed = False
                try:
                    heard = self._session(sock)
                except Exception as exc:  # never let the I/O thread die (e.g. a full disk)
                    log.exception("feed client error; reopening the connection")
                    self._counters.count(last_error=f"{type(exc).__name__}: {exc}")
                    heard, failed = False, True
                finally:
                    sock.close(linger=0)
                    self._counters.count(connected=False)
                    self._flush_acks_quietly()
                if self._stop.is_set():
                    break
                if failed:
                    self._sleep(self.reconnect_max)  # do not spin on an error that repeats
                else:
                    self._counters.count(last_error=f"central silent for {self.liveness} heartbeats")
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
        self._counters.count(endpoint=now)

    def _flush_acks_quietly(self) -> None:
        """Remove records already acked (so a restart does not send them again)."""
        if self._sending.acked:
            try:
                self._flush_acks(time.time())
            except Exception:
                log.exception("could not remove acked records from the outbox")

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, 0.05))

    def _session(self, sock: zmq.Socket) -> bool:
        """Run one connection until central falls silent or stop; True if central was heard from."""
        self._sending.reset()  # what was fresh is in the outbox: this session starts from the outbox
        session_start = time.time()
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self._waker.fileno(), zmq.POLLIN)
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
                self._sending.resend_all()
                more_due = True
            if self._sending.expire(now):
                more_due = True  # their ack timed out: send them again
            if now >= next_mark:
                self._sending.mark_unmarked()
                next_mark = now + MARK_DELAY
            attempted = blocked = False
            if self._sending.fresh and self._sending.has_room():
                attempted = True
                blocked, needs_db = self._sending.send_fresh(sock)
                more_due = more_due or needs_db
            if more_due and not blocked and self._sending.has_room():
                attempted = True
                blocked, more_due = self._sending.send_due(sock)
            if attempted and blocked != want_out:
                want_out = blocked
                poller.modify(sock, zmq.POLLIN | (zmq.POLLOUT if blocked else 0))
            if self._sending.acks_due(now):
                self._flush_acks(time.time())  # acked rows leave the outbox in batches (one transaction)
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
            wake_at = self._sending.wake_at(min(next_hb, last_heard + self.heartbeat * self.liveness + 0.001))
            self._waker.sleeping = True
            if self._dirty:
                self._dirty = False
                more_due = True  # woken by wake(): look in the outbox
            timeout = 0.0 if ((more_due or self._sending.fresh) and not want_out and self._sending.has_room()) \
                else max(0.0, wake_at - time.monotonic())
            if heard and self._fb_acks and not fb_acks_blocked:
                timeout = 0.0  # acknowledged since the send above: send it now
            if self._hb_now:
                timeout = 0.0  # a heartbeat was asked for after the check above (wake() finds us not yet asleep)
            events = dict(poller.poll(timeout * 1000))
            self._waker.sleeping = False
            if self._waker.fileno() in events:
                self._waker.drain()
            if monitor in events:
                self._drain_monitor(monitor)
                next_hb = time.monotonic()  # a (new) TCP connection: ask central at once, it may be a new run
            if self._dirty:
                self._dirty = False
                more_due = True
            if events.get(sock, 0) & zmq.POLLOUT:
                more_due = True
            if events.get(sock, 0) & zmq.POLLIN:
                was_full = not self._sending.has_room()
                if self._receive(sock):
                    last_heard = time.monotonic()
                    if not heard:
                        heard = True
                        log.info("connected to central at %s", self.endpoint)
                        # central is there: what waits in backoff from earlier connections goes now
                        if self.outbox.reschedule_all(RESEND_NOW, sent_before=session_start):
                            more_due = True
                    self._counters.count(connected=True, last_heard_at=time.time())
                if was_full:
                    more_due = True  # acks freed room in the window
        return heard

    def _send_fb_acks(self, sock: zmq.Socket) -> bool:
        """Send waiting acknowledgements of feedback; what the socket cannot take now waits (True: blocked)."""
        sent = self._fb_acks.send(sock)
        if sent:
            self._counters.count(feedback_acks=sent)
        return bool(self._fb_acks)

    def _drain_monitor(self, monitor: zmq.Socket) -> None:
        try:
            while monitor.recv_multipart(flags=zmq.NOBLOCK):
                pass
        except zmq.Again:
            pass

    def _saw_boot(self, header: dict[str, Any]) -> None:
        boot = header.get("boot")
        if not isinstance(boot, str):
            return
        if self._boot is not None and boot != self._boot:
            log.info("central at %s runs anew: resending what it had not acknowledged", self.endpoint)
            self._restarted = True
        self._boot = boot

    def _flush_acks(self, wall: float) -> None:
        """Acked records leave the outbox (one transaction); on_acked hears which."""
        acked, removed = self._sending.flush_acks()
        if acked:
            self._counters.count(acked=removed, last_ack_at=wall)
            _call("on_acked", self.on_acked, acked)

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
        self._sending.note_acked(acked)
        return got

    def _on_ack(self, msg: Message, acked: list[str]) -> None:
        rid = msg.header["record_id"]
        status = msg.header["status"]
        if status in ("stored", "duplicate"):
            # feedback first: the row leaves the outbox only after what central said about it was shown
            for fb in Feedback.in_ack(msg):
                self._show(fb)
            acked.append(rid)
            if status == "duplicate":
                self._counters.count(duplicates=1)
        else:
            error = str(msg.header.get("error") or "rejected by central")
            self._sending.forget(rid)
            if self.outbox.reject(rid, error):
                self._counters.count(rejected=1, last_error=f"record {rid} rejected: {error}")
                log.error("central rejected record %s (seq %s): %s", rid, msg.header.get("seq"), error)
                _call("on_rejected", self.on_rejected, rid, error)

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
        if not self._seen_feedback.first(fb):
            return  # sent again with a duplicate ack: shown once
        self._counters.count(feedback=1)
        if self.on_feedback is None:
            log.info("feedback %s for record %s: %s", fb.level, fb.record_id, fb.rule)
            return
        _call("on_feedback", self.on_feedback, fb)


def endpoint_list(endpoint: str | Sequence[str]) -> list[str]:
    """One endpoint, several as a list, or several in one string separated by commas."""
    items = endpoint.split(",") if isinstance(endpoint, str) else list(endpoint)
    out = [e.strip() for e in items if isinstance(e, str) and e.strip()]
    if not out or len(out) != len(items):
        raise ValueError("endpoint: give one endpoint (tcp://host:port) or several separated by commas")
    return list(dict.fromkeys(out))


def _call(name: str, callback: Callable[..., None] | None, *args: Any) -> None:
    """Hand something to a user's callback; one that fails is logged and never stops the I/O thread."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("%s callback failed", name)
