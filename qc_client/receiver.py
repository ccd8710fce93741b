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

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import zmq
from pydantic import ValidationError
from zmq.auth.thread import ThreadAuthenticator

from qcedge.qc_client.kb_agent import KbSource
from qcedge.qc_client.kb_release import CHUNK_MAX
from qcedge.qc_client.keys import ServerKeys, load_allowed
from qcedge.qc_client.protocol import (DEFAULT_MAX_BYTES, FEED_LEVEL, MAX_RECORD_ID, Message, MessageTooLarge, ProtocolError,
                                decode, encode, message_size, peek_header, utc_now_iso)
from qcedge.qc_client.record import Record
from qcedge.qc_client.rules import RuleSet, load_rules
from qcedge.qc_client.store import CentralStore, Gap, Incoming, Store, Stored

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


@dataclass
class ReceiverStats:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    malformed: int = 0
    oversized: int = 0
    feedback_sent: int = 0
    heartbeats: int = 0
    feedback_acks: int = 0  # acknowledgements of feedback by a station's technologist, stored
    gaps: int = 0
    refused: int = 0   # from a CURVE key no longer on the allow-list (dropped, no answer)
    failed: int = 0    # messages that met an error in the receiver itself (logged, dropped)


class _NamedAuthenticator(ThreadAuthenticator):
    """ZAP handler: CURVE keys from an allow-list. The User-Id of a connection is its public key
    (z85), so every message can be checked against the allow-list of the moment (revocation
    applies to open connections too)."""

    def __init__(self, context: zmq.Context, allowed: Mapping[bytes, str]) -> None:
        super().__init__(context, log=logging.getLogger(__name__ + ".zap"))
        self._names = dict(allowed)

    def set_allowed(self, allowed: Mapping[bytes, str]) -> None:
        self._names = dict(allowed)
        self.allow_any = False
        for domain in ("*", "qcedge"):
            self.certs[domain] = {key: True for key in self._names}

    def curve_user_id(self, client_public_key: bytes) -> str:
        return zmq.utils.z85.encode(client_public_key).decode("ascii")


def _allowed_from(arg: Mapping[bytes, str] | str | os.PathLike | Iterable[bytes | str]) -> dict[bytes, str]:
    if isinstance(arg, (str, os.PathLike)):
        return load_allowed(arg)
    if isinstance(arg, Mapping):
        return {(k.encode() if isinstance(k, str) else k): v for k, v in arg.items()}
    keys = [k.encode() if isinstance(k, str) else k for k in arg]
    return {k: "" for k in keys}


class Receiver:
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
        self.allowed = _allowed_from(allowed_station_keys) if allowed_station_keys is not None else None
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
        self._last_seen: dict[str, tuple[float, float]] = {}  # station -> (monotonic, heartbeat interval)
        self._stop = threading.Event()
        self._running = False
        self._thread: threading.Thread | None = None
        self._ctx: zmq.Context | None = None
        self._auth: _NamedAuthenticator | None = None
        self._sock: zmq.Socket | None = None
        self._pub: zmq.Socket | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self) -> None:
        """Bind the sockets (and start the ZAP handler). Called by start()/run()."""
        if self._sock is not None:
            return
        self._ctx = zmq.Context()
        if self.keys is not None and self.allowed is not None:
            self._auth = _NamedAuthenticator(self._ctx, self.allowed)
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
        try:
            sock.bind(self.bind)
        except zmq.ZMQError as exc:
            sock.close(0)
            self._shutdown_ctx()
            raise OSError(f"cannot bind {self.bind}: {exc}") from None
        self._sock = sock
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        if self.pub_bind:
            pub = self._ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.LINGER, 0)
            pub.bind(self.pub_bind)
            self._pub = pub
            self.pub_endpoint = pub.getsockopt_string(zmq.LAST_ENDPOINT)
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
            self._sock.close(0)  # opened but never served
            if self._pub is not None:
                self._pub.close(0)
            self._sock = self._pub = None
            self._shutdown_ctx()

    def close(self) -> None:
        self.stop()
        self.store.close()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _shutdown_ctx(self) -> None:
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None

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
        return {s: now - t < 3 * iv for s, (t, iv) in list(self._last_seen.items())}

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
            sock.close(0)
            if self._pub is not None:
                self._pub.close(0)
            self._sock = self._pub = None
            self._shutdown_ctx()

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

    def _reply(self, sock: zmq.Socket, identity: bytes, kind: str, header: dict[str, Any],
               body: dict[str, Any] | None = None) -> None:
        try:
            sock.send_multipart([identity, *encode(kind, header, body, max_bytes=None)], flags=zmq.NOBLOCK)
        except zmq.Again:
            log.warning("reply to %s dropped (send queue full)", _name(identity))
        except zmq.ZMQError as exc:  # the peer is gone (ROUTER_MANDATORY is off, but be safe)
            log.warning("reply to %s dropped (%s)", _name(identity), exc)

    def _reject(self, sock: zmq.Socket, identity: bytes, header: dict[str, Any], error: str,
                count: bool = True) -> None:
        """Count a refused record and, when its header names it, ack it `rejected` with the reason."""
        if count:
            self._stats.rejected += 1
        if _answerable(header):
            seq = header.get("seq")
            self._reply(sock, identity, "ack", {"record_id": header["record_id"], "seq": seq if isinstance(seq, int) else None,
                                                "status": "rejected", "error": error, "sent_at": utc_now_iso(),
                                                "boot": self.boot})

    def _key_name(self, key: str | None) -> str | None:
        """The station a CURVE key may speak for now ("" for any), None if the key is not allowed (any more)."""
        if self._auth is None:
            return ""
        if not key:
            return None
        return self.allowed.get(key.encode("ascii")) if self.allowed is not None else ""

    def _refuse(self, key: str | None) -> None:
        self._stats.refused += 1
        tag = _digest(key or "")
        if tag not in self._refused_logged:  # one line per key and allow-list, not one per message
            self._refused_logged.add(tag)
            log.warning("messages from CURVE key %s dropped: the key is not on the allow-list (any more)", tag)

    def _accept(self, sock: zmq.Socket, frames: list) -> tuple[bytes, Incoming] | None:
        """Check one message; answer heartbeats; return a record to store, or None.

        Every message ends in exactly one bucket of the stats: stored/duplicate (later), rejected,
        malformed, oversized, refused, heartbeats (or failed, by the caller).
        """
        if isinstance(frames[0], bytes):
            identity, parts, key = frames[0], frames[1:], None
        else:
            identity, parts = frames[0].bytes, [f.bytes for f in frames[1:]]
            key = _user_id(frames[1]) if self._auth is not None and len(frames) > 1 else None
        if self._auth is not None and self._key_name(key) is None:
            self._refuse(key)  # revoked since the connection was made: silence, as for an unknown key
            return None
        who = _name(identity)
        size = message_size(parts)
        if size > self.max_bytes:
            self._stats.oversized += 1
            err = str(MessageTooLarge(size, self.max_bytes))
            log.warning("oversized message from %s dropped: %s", who, err)
            header = peek_header(parts)
            if header is not None and parts[1] == b"record":
                self._reject(sock, identity, header, f"refused by central: {err}", count=False)  # counted oversized
            return None
        try:
            msg = decode(parts, max_bytes=None, lazy_record_body=True)
        except ProtocolError as exc:
            if len(parts) > 1 and parts[1] == b"record" and _answerable(exc.header):
                log.warning("record from %s rejected: %s", who, exc)
                self._reject(sock, identity, exc.header, f"refused by central: {exc}")
            else:
                self._stats.malformed += 1
                log.warning("malformed message from %s dropped: %s", who, exc)
            return None
        station = msg.header.get("station")
        station_ok = isinstance(station, str) and station.encode("utf-8") == identity
        if msg.kind == "heartbeat":
            self._stats.heartbeats += 1
            interval = msg.header.get("interval")
            interval = float(interval) if isinstance(interval, (int, float)) and 0 < interval < 1e6 else 2.0
            self._last_seen[station if station_ok or _generated(identity) and isinstance(station, str) else who] = \
                (time.monotonic(), interval)
            answer = {"server": "qcedge-receive", "boot": self.boot, "sent_at": utc_now_iso(), "feed": FEED_LEVEL}
            if self.kb is not None and station_ok:
                self._kb_heartbeat(station, msg.header, answer)
            self._reply(sock, identity, "heartbeat", answer)
            return None
        if msg.kind == "kb_get":
            if self.kb is not None and station_ok:
                self._kb_get(sock, identity, msg.header)
            else:
                self._stats.malformed += 1
                log.warning("kb_get from %s dropped (%s)", who, "no knowledge base here" if self.kb is None
                            else "station does not match the connection")
            return None
        if msg.kind == "feedback_ack":
            self._feedback_ack(station if station_ok else None, who, msg)
            return None
        if msg.kind != "record":
            self._stats.malformed += 1
            log.warning("unexpected %s message from %s dropped", msg.kind, who)
            return None
        header = msg.header
        if not station_ok:
            if not _generated(identity):
                log.warning("record from connection %s claims station %s: rejected", who, _digest(station))
                self._reject(sock, identity, header, "station in header does not match the connection's identity")
                return None
            # an identity ZeroMQ made up: the station's old connection, handed over to its new one
            # (ROUTER_HANDOVER) with records still queued on it. Not a mismatch: checked as usual below.
        self._last_seen[station] = (time.monotonic(), self._last_seen.get(station, (0, 2.0))[1])
        if self._auth is not None:
            user = self._key_name(key)
            if user and user != station:
                log.warning("record from the key of %s claims station %s: rejected", user, who)
                self._reject(sock, identity, header, f"station {who!r} does not match its CURVE key, which the "
                                                     f"allow-list names {user!r} (name the key file after the station)")
                return None
        try:
            record = Record.model_validate_json(msg.raw_body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])[:60]}: {e['type']}" for e in exc.errors()[:5])
            log.warning("invalid record %s (seq %s) from %s: %s", header["record_id"], header["seq"], who, problems)
            self._reject(sock, identity, header, f"record does not follow qcedge.record/1: {problems}")
            return None
        if record.id != header["record_id"] or record.station != station:
            log.warning("record %s (seq %s) from %s: body and header differ", header["record_id"], header["seq"], who)
            self._reject(sock, identity, header, "record id or station in the body differ from the header")
            return None
        return identity, Incoming(station=station, seq=header["seq"], record_id=record.id, header=header,
                                  body=msg.raw_body.decode("utf-8"),
                                  record=record, attachments=msg.attachments, key=key)

    def _feedback_ack(self, station: str | None, who: str, msg: Message) -> None:
        """Store that a station's technologist acknowledged a feedback (no answer is sent)."""
        acknowledge = getattr(self.store, "acknowledge", None)
        if station is None or acknowledge is None:
            self._stats.malformed += 1
            log.warning("feedback_ack from %s dropped (%s)", who, "station does not match the connection"
                        if station is None else "this store keeps no acknowledgements")
            return
        body = msg.body
        acknowledge(station, msg.header["record_id"], rule=body.get("rule"), level=body.get("level"),
                    by=body.get("by"), at=body.get("at"))
        self._stats.feedback_acks += 1

    def _kb_heartbeat(self, station: str, header: dict[str, Any], answer: dict[str, Any]) -> None:
        """Note what the station runs (or refused) and offer it the release it should run."""
        try:
            if "kb_version" in header:
                self.kb.note(station, header)
            offer = self.kb.offer(station, header)
            if offer:
                answer.update(offer)
        except Exception:  # noqa: BLE001 - the knowledge base never stops the feed
            log.exception("knowledge-base offer for %s failed", station)

    def _kb_get(self, sock: zmq.Socket, identity: bytes, header: dict[str, Any]) -> None:
        """Serve one bounded chunk of a published release (empty and total=0 when it is unknown)."""
        try:
            got = self.kb.chunk(header["version"], header["sha256"], header["offset"], min(header["length"], CHUNK_MAX))
        except Exception:  # noqa: BLE001
            log.exception("knowledge-base chunk failed")
            got = None
        data, total = got if got is not None else (b"", 0)
        try:
            sock.send_multipart([identity, *encode("kb_chunk", {"version": header["version"], "sha256": header["sha256"],
                                                                "offset": header["offset"], "total": total,
                                                                "boot": self.boot}, None, [data], max_bytes=None)],
                                flags=zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            log.warning("kb chunk to %s dropped (%s)", _name(identity), exc)

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


def summarize(record: Record, max_values: int = 6) -> dict[str, Any]:
    """A record's non-personal gist: ids, template, status and a few scalar values."""
    values: dict[str, Any] = {}
    for name, fv in record.fields.items():
        if len(values) >= max_values:
            break
        if fv.personal or fv.rows is not None or fv.value is None or isinstance(fv.value, (dict, list)):
            continue
        values[name] = fv.value
    return {"station": record.station, "site": record.site, "record_id": record.id,
            "template": f"{record.template.id}@{record.template.version}" if record.template else None,
            "modality": record.modality, "status": record.status, "values": values}


def _user_id(frame: zmq.Frame) -> str:
    try:
        return frame.get("User-Id") or ""
    except (zmq.ZMQError, KeyError, UnicodeDecodeError):
        return ""


def _answerable(header: dict[str, Any] | None) -> bool:
    """A bad record message can be acked `rejected` when its header names the record."""
    rid = header.get("record_id") if header is not None else None
    return isinstance(rid, str) and 0 < len(rid) <= MAX_RECORD_ID


def _generated(identity: bytes) -> bool:
    """An identity ZeroMQ made up (a peer without one, or a connection handed over): starts with NUL."""
    return identity[:1] == b"\0"


def _digest(value: object) -> str:
    """A short hash for logging a value that came from outside and may not be shown."""
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else repr(value).encode()
    return "#" + hashlib.sha256(raw).hexdigest()[:10]


def _name(identity: bytes) -> str:
    """A connection identity for logs: a plain station id as it is, anything else as a hash."""
    try:
        text = identity.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if text and len(text) <= 128 and all(c.isalnum() or c in "_.:-" for c in text):
        return text
    return "conn" + _digest(identity.hex())


def _safe(fn: Callable, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("receiver callback %s failed", getattr(fn, "__name__", fn))
