"""What arrives at the reference receiver: each message checked and sorted into one bucket.

`ReceiverIntake` is the half of `qc_client.receiver.Receiver` that reads one message: a record
that passed every check goes on to be stored; a heartbeat is answered (with a knowledge-base
offer), a `kb_get` gets its chunk, a `feedback_ack` is stored; anything else is rejected (with an
ack that says why, when the header names the record), refused (a key off the allow-list),
dropped as malformed or oversized. It works on the receiver's own state (the attributes below).
Logs name a connection as a plain station id or a hash, never with content from outside.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import zmq
from pydantic import ValidationError

from qcedge.qc_client.curve_auth import NamedAuthenticator, user_id
from qcedge.qc_client.kb_agent import KbSource
from qcedge.qc_client.kb_release import CHUNK_MAX
from qcedge.qc_client.protocol import (FEED_LEVEL, MAX_RECORD_ID, Message, MessageTooLarge, ProtocolError, decode,
                                       encode, message_size, peek_header, utc_now_iso)
from qcedge.qc_client.record import Record
from qcedge.qc_client.store import Incoming, Store

log = logging.getLogger("qcedge.qc_client.receiver")  # one logger for the receiver, as before the split


@dataclass
class ReceiverStats:
    """What the receiver did since it started; every message lands in exactly one bucket."""

    stored: int = 0         # new records, committed and acked `stored`
    duplicates: int = 0     # records it held already, acked again `duplicate`
    rejected: int = 0       # records acked `rejected` with the reason
    malformed: int = 0      # messages that do not follow qcedge-feed/1, or could not be taken (dropped)
    oversized: int = 0      # messages over max_bytes (a record among them is acked `rejected` too)
    feedback_sent: int = 0  # feedback bodies sent back with the acks
    heartbeats: int = 0     # heartbeats answered
    feedback_acks: int = 0  # acknowledgements of feedback by a station's technologist, stored
    gaps: int = 0           # records that arrived after a gap in their station's sequence
    refused: int = 0        # from a CURVE key no longer on the allow-list (dropped, no answer)
    failed: int = 0         # messages that met an error in the receiver itself (logged, dropped)


class Heard(NamedTuple):
    """When a station was last heard from (monotonic) and the heartbeat interval it announced."""

    at: float
    interval: float


class ReceiverIntake:
    """Checks one message at a time for the Receiver (see module docstring)."""

    # the receiver's state this works on (set in Receiver.__init__ and Receiver.open)
    boot: str
    kb: KbSource | None
    max_bytes: int
    allowed: dict[bytes, str] | None
    store: Store
    _stats: ReceiverStats
    _auth: NamedAuthenticator | None
    _last_seen: dict[str, Heard]
    _refused_logged: set[str]

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
            key = user_id(frames[1]) if self._auth is not None and len(frames) > 1 else None
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
                Heard(time.monotonic(), interval)
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
        self._last_seen[station] = Heard(time.monotonic(), self._last_seen.get(station, Heard(0.0, 2.0)).interval)
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
