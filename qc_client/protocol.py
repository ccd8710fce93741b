"""Wire format of the feed, protocol `qcedge-feed/1`.

A message is one ZeroMQ multipart message:

    [b"qcedge-feed/1", kind, header JSON, body JSON, *attachments]

`kind` is one of record, ack, feedback, heartbeat, kb_get, kb_chunk (the last two only
between peers whose heartbeats say `feed: 2`, knowledge-base releases), feedback_ack (station
to central: the technologist acknowledged a feedback; an older receiver drops it as malformed). Header and body are JSON
objects (UTF-8). Parsing is strict: anything else raises `ProtocolError` with a
message that says what is wrong (never the content, which may hold patient data).
See docs/feed.md for the fields of each kind.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from qcedge.qc_client.errors import QcClientError

PROTOCOL = b"qcedge-feed/1"
KINDS = ("record", "ack", "feedback", "heartbeat", "kb_get", "kb_chunk", "feedback_ack")
FEED_LEVEL = 2  # in heartbeats (`feed`): 2 = knows kb_get/kb_chunk; absent = 1
DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB, the whole message (all frames)
FEEDBACK_LEVELS = ("ok", "info", "warn", "alert")
ACK_STATUSES = ("stored", "duplicate", "rejected")
MAX_SEQ = 2**63 - 1  # a 64-bit signed integer: what SQLite (and most stores) keep
MAX_STATION_BYTES = 255  # a ZeroMQ identity is 1-255 bytes
MAX_RECORD_ID = 256  # characters

# Header fields each kind must carry, with their JSON types.
REQUIRED_HEADER: dict[str, dict[str, type | tuple[type, ...]]] = {
    "record": {"station": str, "seq": int, "record_id": str},
    "ack": {"record_id": str, "status": str},
    "feedback": {"record_id": str},
    "heartbeat": {},
    "kb_get": {"station": str, "version": int, "sha256": str, "offset": int, "length": int},
    "kb_chunk": {"version": int, "sha256": str, "offset": int, "total": int},
    "feedback_ack": {"station": str, "record_id": str},
}
MAX_ACK_TEXT = 256  # characters of a feedback_ack's rule, level, by and at


class ProtocolError(QcClientError, ValueError):
    """A message that does not follow qcedge-feed/1.

    `header` is the message's header when it was a readable JSON object (so a receiver can
    still answer a bad `record` by its record_id), else None. The text never quotes content.
    """

    def __init__(self, message: str, header: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.header = header


class MessageTooLarge(ProtocolError):
    """A message over the size limit."""

    def __init__(self, size: int, limit: int, what: str = "message") -> None:
        super().__init__(f"{what} of {size} bytes exceeds the size limit of {limit} bytes")
        self.size = size
        self.limit = limit


@dataclass
class Message:
    kind: str
    header: dict[str, Any]
    body: dict[str, Any] = field(default_factory=dict)
    attachments: list[bytes] = field(default_factory=list)
    raw_body: bytes = b"{}"

    @property
    def record_id(self) -> str | None:
        return self.header.get("record_id")


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _dumps(obj: Any) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (echoed from a bad header): JSON escapes carry it
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def fingerprint(data: bytes | str) -> str:
    """What a log may say about content that did not parse: its length and a short hash, never the bytes."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return f"{len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:12]}"


def station_id_problem(station: str) -> str | None:
    """Why `station` cannot be a station id on the wire (its ZeroMQ identity), or None.

    ZeroMQ carries an identity of 1-255 bytes that does not start with a NUL byte; the
    receiver compares those bytes exactly with the header's station.
    """
    if not isinstance(station, str) or not station:
        return "a station id must be a non-empty string"
    try:
        raw = station.encode("utf-8")
    except UnicodeEncodeError:
        return "a station id must be valid Unicode (it holds a lone surrogate)"
    if len(raw) > MAX_STATION_BYTES:
        return f"a station id is at most {MAX_STATION_BYTES} bytes in UTF-8 (the ZeroMQ identity), got {len(raw)}"
    if raw[0] == 0:
        return "a station id must not start with a NUL byte (ZeroMQ reserves such identities)"
    if any(not c.isprintable() for c in station):
        return "a station id must hold printable characters only"
    return None


def encode(
    kind: str,
    header: dict[str, Any],
    body: dict[str, Any] | bytes | str | None = None,
    attachments: Sequence[bytes] = (),
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> list[bytes]:
    """Frames for one message. `body` may be a dict or JSON already serialised.

    Raises MessageTooLarge when the frames together exceed `max_bytes`.
    """
    if kind not in KINDS:
        raise ProtocolError(f"unknown message kind {kind!r} (expected one of {', '.join(KINDS)})")
    if body is None:
        body_bytes = b"{}"
    elif isinstance(body, bytes):
        body_bytes = body
    elif isinstance(body, str):
        body_bytes = body.encode("utf-8")
    else:
        body_bytes = _dumps(body)
    frames = [PROTOCOL, kind.encode("ascii"), _dumps(header), body_bytes, *[bytes(a) for a in attachments]]
    if max_bytes is not None:
        size = sum(len(f) for f in frames)
        if size > max_bytes:
            raise MessageTooLarge(size, max_bytes, f"{kind} message")
    return frames


def message_size(frames: Sequence[bytes | memoryview]) -> int:
    return sum(len(f) for f in frames)


def _load_object(frame: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(bytes(frame).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} frame is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"{what} frame is not JSON ({exc.msg} at char {exc.pos})") from None
    except RecursionError:
        raise ProtocolError(f"{what} frame is nested too deeply ({fingerprint(frame)})") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} frame must be a JSON object, got {type(obj).__name__}")
    return obj


def _bad_text(value: str) -> bool:
    """A string that cannot be written as UTF-8 (a lone surrogate from a JSON escape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_header(kind: str, header: dict[str, Any]) -> None:
    """Header fields are flat scalars with valid text; required ones present, typed and in range."""
    for name, value in header.items():
        if _bad_text(name):
            raise ProtocolError(f"{kind} header has a field name that is not valid Unicode", header)
        if isinstance(value, (dict, list)):
            raise ProtocolError(f"{kind} header field {name[:40]!r} must be a string, number, boolean or null, "
                                f"not {'an object' if isinstance(value, dict) else 'a list'}", header)
        if isinstance(value, str) and _bad_text(value):
            raise ProtocolError(f"{kind} header field {name[:40]!r} is not valid Unicode (a lone surrogate)", header)
    for name, typ in REQUIRED_HEADER[kind].items():
        if name not in header:
            raise ProtocolError(f"{kind} header lacks {name!r}", header)
        value = header[name]
        if not isinstance(value, typ) or isinstance(value, bool):
            raise ProtocolError(f"{kind} header field {name!r} has the wrong type ({type(value).__name__})", header)
    if kind == "record":
        if not 1 <= header["seq"] <= MAX_SEQ:
            raise ProtocolError(f"record header seq must be between 1 and 2**63-1, got a number of "
                                f"{len(str(header['seq']))} digits" if header["seq"] > 0
                                else "record header seq must be >= 1", header)
        if not header["record_id"]:
            raise ProtocolError("record header record_id must not be empty", header)
        if len(header["record_id"]) > MAX_RECORD_ID:
            raise ProtocolError(f"record header record_id is longer than {MAX_RECORD_ID} characters", header)
        problem = station_id_problem(header["station"])
        if problem is not None:
            raise ProtocolError(f"record header station: {problem}", header)
    if kind in ("kb_get", "kb_chunk") and (header["offset"] < 0 or header.get("length", 0) < 0
                                           or header["version"] < 1 or len(header["sha256"]) != 64):
        raise ProtocolError(f"{kind} header has a negative offset or length, a bad version or sha256", header)
    if kind == "feedback_ack" and not 0 < len(header["record_id"]) <= MAX_RECORD_ID:
        raise ProtocolError(f"feedback_ack record_id must hold 1 to {MAX_RECORD_ID} characters", header)
    if kind == "ack" and header["status"] not in ACK_STATUSES:
        raise ProtocolError(f"ack status is not one of {', '.join(ACK_STATUSES)} "
                            f"({fingerprint(header['status'])})", header)


def _check_text_tree(obj: Any, what: str) -> None:
    """Every string (keys too) in a parsed JSON value is valid Unicode; iterative, no recursion."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _bad_text(item):
                raise ProtocolError(f"{what} holds text that is not valid Unicode (a lone surrogate)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def peek_header(frames: Sequence[bytes]) -> dict[str, Any] | None:
    """The header of a message that may be otherwise invalid (e.g. too large), or None."""
    if len(frames) >= 3 and bytes(frames[0]) == PROTOCOL and len(frames[2]) <= 64 * 1024:
        try:
            header = _load_object(frames[2], "header")
        except ProtocolError:
            return None
        return header
    return None


def decode(frames: Sequence[bytes], *, max_bytes: int | None = DEFAULT_MAX_BYTES,
           lazy_record_body: bool = False) -> Message:
    """Parse and check one message (without any routing frames).

    With `lazy_record_body` the body of a `record` message is left unparsed in
    `raw_body` (for the caller's schema validation to parse once).
    Raises MessageTooLarge or ProtocolError naming the problem (lengths and hashes of
    content that did not parse, never the content).
    """
    frames = [bytes(f) for f in frames]
    if max_bytes is not None:
        size = message_size(frames)
        if size > max_bytes:
            raise MessageTooLarge(size, max_bytes)
    if len(frames) < 4:
        raise ProtocolError(f"expected at least 4 frames (protocol, kind, header, body), got {len(frames)}")
    if frames[0] != PROTOCOL:
        raise ProtocolError(f"unknown protocol ({fingerprint(frames[0])}; expected {PROTOCOL.decode()!r})")
    kind = frames[1].decode("ascii", "replace")
    if kind not in KINDS:
        raise ProtocolError(f"unknown message kind ({fingerprint(frames[1])}; expected one of {', '.join(KINDS)})")
    header = _load_object(frames[2], "header")
    _check_header(kind, header)
    if lazy_record_body and kind == "record":
        body: dict[str, Any] = {}
    else:
        try:
            body = _load_object(frames[3], "body")
        except ProtocolError as exc:
            raise ProtocolError(str(exc), header) from None
        try:
            _check_text_tree(body, f"{kind} body")
        except ProtocolError as exc:
            raise ProtocolError(str(exc), header) from None
    if kind == "feedback":
        level = body.get("level")
        if level not in FEEDBACK_LEVELS:
            raise ProtocolError(f"feedback level is not one of {', '.join(FEEDBACK_LEVELS)}", header)
        if not isinstance(body.get("message"), str):
            raise ProtocolError("feedback body lacks a text 'message'", header)
    if kind == "feedback_ack":
        for name in ("rule", "level", "by", "at"):
            value = body.get(name)
            if value is not None and not (isinstance(value, str) and len(value) <= MAX_ACK_TEXT):
                raise ProtocolError(f"feedback_ack body field {name!r} must be text of at most {MAX_ACK_TEXT} "
                                    "characters, or null", header)
    return Message(kind=kind, header=header, body=body, attachments=frames[4:], raw_body=frames[3])
