"""The reference receiver (central's side of qcedge-feed/1): a ROUTER that stores, acks and answers.

Each record is committed to the store (SQLite, or any `Store` such as
central's PostgreSQL store) before its ack is sent; a record sent twice
is stored once and acked again; gaps in a station's sequence are logged and
queryable; malformed and oversized messages are logged and dropped. With a rules
file, each new record is evaluated and the findings go back to the station as
`feedback` on the same connection. With keys, the ROUTER is a CURVE server and a
ZAP handler admits only the stations on the allow-list. With a `kb` source
(central.kb.KbCentral), heartbeat answers offer the station its knowledge-base
release and `kb_get` requests are served in bounded `kb_chunk`s (docs/kb.md).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import zmq

from qcedge.qc_client.curve_auth import NamedAuthenticator, allowed_from
from qcedge.qc_client.kb_agent import KbSource
from qcedge.qc_client.keys import ServerKeys, load_allowed
from qcedge.qc_client.protocol import DEFAULT_MAX_BYTES, utc_now_iso
from qcedge.qc_client.receiver_intake import Heard, ReceiverIntake, ReceiverStats
from qcedge.qc_client.record import Record, summarize
from qcedge.qc_client.rules import RuleSet, load_rules
from qcedge.qc_client.store import CentralStore, Gap, Incoming, Store, Stored

__all__ = ["Receiver", "Arrival", "ReceiverStats", "summarize"]

log = logging.getLogger(__name__)


@dataclass
class Arrival:
    """A record that arrived (handed to on_record after it was committed and acked)."""

    station: str
    seq: int
    record: Record
    duplicate: bool
    gap: Gap | None = None
    feedback: list[dict[str, Any]] = field(default_factory=list)


class Receiver(ReceiverIntake):
    """ROUTER bound at `bind`; see module docstring. `start()` runs it in a thread, `run()` in this one."""

    def __init__(
        self,
        bind: str,
        db_path: str | os.PathLike | Store,
        *,
        rules: RuleSet | str | os.PathLike | None = None,
        keys: ServerKeys | None = None,
        allowed_station_keys: Mapping[bytes, str] | str | os.PathLike | Iterable[bytes | str] | None = None,
        on_record: Callable[[Arrival], None] | None = None,
        on_feedback: Callable[[str, dict[str, Any]], None] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        pub_bind: str | None = None,
        batch: int = 512,
        synchronous: str = "FULL",
        commit_delay: float = 0.002,
        kb: KbSource | None = None,
    ) -> None:
        self.bind = bind
        self.kb = kb
        self.rules = load_rules(rules) if isinstance(rules, (str, os.PathLike)) else rules
        self.keys = keys
        self.allowed = allowed_from(allowed_station_keys) if allowed_station_keys is not None else None
        self._allow_source = allowed_station_keys if isinstance(allowed_station_keys, (str, os.PathLike)) else None
        if self.allowed is not None and keys is None:
            raise ValueError("an allow-list of station keys needs the server's keys (CURVE)")
        self.on_record = on_record
        self.on_feedback = on_feedback
        self.max_bytes = max_bytes
        self.pub_bind = pub_bind
        self.batch = batch
        self.commit_delay = commit_delay  # group commit: wait this long for more records to share a sync
        # a frame above this never reaches us: libzmq drops the connection (memory protection);
        # between max_bytes and this, the message is refused with a clear error ack
        self.hard_limit = max(4 * max_bytes, 16 * 1024 * 1024)
        # a path: the embedded SQLite store; or any Store (e.g. central.pg_store.PostgresStore)
        self.store: Store = (CentralStore(db_path, synchronous=synchronous) if isinstance(db_path, (str, os.PathLike))
                             else db_path)
        self.endpoint: str | None = None
        self.pub_endpoint: str | None = None
        self._stats = ReceiverStats()
        self.boot = uuid.uuid4().hex[:16]  # this run of the receiver: a station that sees it change resends at once
        self._refused_logged: set[str] = set()
        self._allow_lock = threading.RLock()
        self._last_seen: dict[str, Heard] = {}  # station -> when last heard, its heartbeat interval
        self._stop = threading.Event()
        self._running = False
        self._thread: threading.Thread | None = None
        self._ctx: zmq.Context | None = None
        self._auth: NamedAuthenticator | None = None
        self._sock: zmq.Socket | None = None
        self._pub: zmq.Socket | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self) -> None:
        """Bind the sockets (and start the ZAP handler). Called by start()/run()."""
        if self._sock is not None:
            return
        self._ctx = zmq.Context()
        if self.keys is not None and self.allowed is not None:
            self._auth = NamedAuthenticator(self._ctx, self.allowed)
            self._auth.start()
            self._auth.set_allowed(self.allowed)
        elif self.keys is not None:
            log.warning("CURVE on without an allow-list: any station key is accepted (traffic is encrypted)")
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a station that reconnects takes its identity back
        sock.setsockopt(zmq.MAXMSGSIZE, self.hard_limit)  # hard stop: libzmq drops such a peer
        sock.setsockopt(zmq.SNDHWM, 100000)
        sock.setsockopt(zmq.RCVHWM, 100000)
        if self.keys is not None:
            sock.curve_server = True
            sock.curve_secretkey = self.keys.secret
            sock.curve_publickey = self.keys.public
            sock.zap_domain = b"qcedge"
        self.endpoint = self._bind(sock, self.bind)
        self._sock = sock
        if self.pub_bind:
            pub = self._ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.LINGER, 0)
            self.pub_endpoint = self._bind(pub, self.pub_bind)
            self._pub = pub
        log.info("receiver listening on %s%s", self.endpoint, " (CURVE)" if self.keys else "")

    def start(self) -> "Receiver":
        self.open()
        self._thread = threading.Thread(target=self._loop, name="feed-receiver", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Serve in this thread until stop() (e.g. from a signal handler)."""
        self.open()
        self._loop()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        elif self._sock is not None and not self._running:
            self._close_sockets()  # opened but never served

    def close(self) -> None:
        self.stop()
        self.store.close()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bind(self, sock: zmq.Socket, endpoint: str) -> str:
        """Bind `sock`; the endpoint it got. One that cannot be bound closes all that is open: OSError."""
        try:
            sock.bind(endpoint)
        except zmq.ZMQError as exc:
            sock.close(0)
            self._close_sockets()
            raise OSError(f"cannot bind {endpoint}: {exc}") from None
        return sock.getsockopt_string(zmq.LAST_ENDPOINT)

    def _close_sockets(self) -> None:
        for sock in (self._sock, self._pub):
            if sock is not None:
                sock.close(0)
        self._sock = self._pub = None
        self._shutdown_ctx()

    def _shutdown_ctx(self) -> None:
        """Stop the ZAP handler, then end the ZeroMQ context (its sockets are closed by then)."""
        auth, ctx, self._auth, self._ctx = self._auth, self._ctx, None, None
        if auth is not None:
            auth.stop()
        if ctx is not None:
            ctx.term()

    def reload_allowed(self) -> int:
        """Read the allow-list folder again (stations added or removed); returns how many keys it holds."""
        if self._allow_source is None or self._auth is None:
            raise ValueError("this receiver has no allow-list folder")
        allowed = load_allowed(self._allow_source)
        with self._allow_lock:
            self._auth.set_allowed(allowed)
            self.allowed = allowed  # checked on every message: open connections of a removed key are refused now
        self._refused_logged.clear()
        log.info("allow-list reloaded: %d station keys", len(self.allowed))
        return len(self.allowed)

    # -- queries --------------------------------------------------------------------------------
    def stats(self) -> ReceiverStats:
        return ReceiverStats(**vars(self._stats))

    def gaps(self, station: str | None = None) -> list[Gap]:
        return self.store.gaps(station)

    def stations_alive(self) -> dict[str, bool]:
        """Stations heard from, and whether within 3 of their heartbeat intervals."""
        now = time.monotonic()
        return {s: now - heard.at < 3 * heard.interval for s, heard in list(self._last_seen.items())}

    # -- serving --------------------------------------------------------------------------------
    def _loop(self) -> None:
        sock = self._sock
        if sock is None:  # stopped before it served
            return
        self._running = True
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                if not poller.poll(100):
                    continue
                try:
                    self._serve_batch(sock)
                except Exception:  # a bug or a full disk must not end the service silently
                    log.exception("receiver error while serving a batch")
                    time.sleep(0.1)
        finally:
            self._close_sockets()

    def _serve_batch(self, sock: zmq.Socket) -> None:
        incoming: list[tuple[bytes, Incoming]] = []
        self._drain(sock, incoming)
        if incoming and len(incoming) < self.batch and self.commit_delay > 0:
            # group commit: a moment for more records to share this batch's disk sync
            if sock.poll(self.commit_delay * 1000):
                self._drain(sock, incoming)
        with self._allow_lock:  # a reload waits for this batch; after it, nothing of a removed key is stored
            if self._auth is not None:  # the allow-list may have changed (SIGHUP) since these were read
                incoming = [(ident, inc) for ident, inc in incoming if self._key_name(inc.key) is not None]
            if not incoming:
                return
            stored = self.store.save([inc for _, inc in incoming], self._evaluate if self.rules else None)

        for (identity, _), result in zip(incoming, stored):
            try:
                self._answer(sock, identity, result)
            except Exception:  # noqa: BLE001 - one answer must not cost the others theirs
                self._stats.failed += 1
                log.exception("receiver error while answering record %s; dropped", result.incoming.record_id)

    def _drain(self, sock: zmq.Socket, incoming: list[tuple[bytes, Incoming]]) -> None:
        """Read what is waiting (up to the batch size); checked records go to `incoming`."""
        while len(incoming) < self.batch:
            try:
                # Frame objects (copy=False) only when the CURVE User-Id must be read from them
                frames = sock.recv_multipart(flags=zmq.NOBLOCK, copy=self._auth is None)
            except zmq.Again:
                return
            try:
                item = self._accept(sock, frames)
            except Exception as exc:  # one odd message must not cost the batch
                self._stats.failed += 1
                log.error("receiver error on one message (%s); dropped", type(exc).__name__)
                log.debug("receiver error on one message", exc_info=True)
                item = None
            if item is not None:
                incoming.append(item)

    def _evaluate(self, record: Record) -> list[dict[str, Any]]:
        """Feedback bodies for a new record; a failing rule never stops the record being stored."""
        try:
            return [f.body() for f in self.rules.evaluate(record)]
        except Exception:
            log.exception("rules failed on record %s; stored without feedback", record.id)
            return []

    def _answer(self, sock: zmq.Socket, identity: bytes, result: Stored) -> None:
        inc = result.incoming
        if result.error is not None:
            self._reject(sock, identity, inc.header, result.error)
            return
        status = "duplicate" if result.duplicate else "stored"
        if result.duplicate:
            self._stats.duplicates += 1
            log.debug("duplicate record %s seq %d from %s acked again", inc.record_id, inc.seq, inc.station)
        else:
            self._stats.stored += 1
        # the ack carries the record's feedback: a station never has one without the other, and a
        # record whose ack was lost is sent again and acked `duplicate` with the same feedback
        self._reply(sock, identity, "ack", {"record_id": inc.record_id, "seq": inc.seq, "status": status,
                                            "sent_at": utc_now_iso(), "boot": self.boot},
                    {"feedback": list(result.feedback or [])} if result.feedback else None)
        if result.gap is not None:
            self._stats.gaps += 1
            log.warning("gap in station %s sequence: %d..%d missing (got %d)", inc.station, result.gap.first,
                        result.gap.last, inc.seq)
        self._stats.feedback_sent += len(result.feedback or [])
        if self._pub is not None and not result.duplicate:
            self._publish(result)
        if self.on_record is not None:
            _safe(self.on_record, Arrival(station=inc.station, seq=inc.seq, record=inc.record,
                                          duplicate=result.duplicate, gap=result.gap,
                                          feedback=list(result.feedback or [])))
        if self.on_feedback is not None and not result.duplicate:
            for body in result.feedback or []:
                _safe(self.on_feedback, inc.record_id, body)

    def _publish(self, result: Stored) -> None:
        """Live tap for dashboards (PUB drops by design; the store is the record of truth)."""
        inc = result.incoming
        summary = summarize(inc.record)
        summary.update(seq=inc.seq, feedback=[{"level": b["level"], "rule": b.get("rule")} for b in result.feedback or []])
        try:
            self._pub.send_multipart([b"record", json.dumps(summary, ensure_ascii=False).encode()], flags=zmq.NOBLOCK)
        except zmq.Again:
            pass


def _safe(fn: Callable, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("receiver callback %s failed", getattr(fn, "__name__", fn))
