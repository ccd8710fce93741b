"""Wire format of the feed, protocol `qcedge-feed/1`.

A message is one ZeroMQ multipart message:

    [b"qcedge-feed/1", kind, header JSON, body JSON, *attachments]

`kind` is one of record, ack, feedback, heartbeat. Header and body are JSON
objects (UTF-8). Parsing is strict: anything else raises `ProtocolError` with a
message that says what is wrong (never the content, which may hold patient data).
See docs/feed.md for the fields of each kind.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

PROTOCOL = b"qcedge-feed/1"
KINDS = ("record", "ack", "feedback", "heartbeat")
DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB, the whole message (all frames)
FEEDBACK_LEVELS = ("ok", "info", "warn", "alert")
ACK_STATUSES = ("stored", "duplicate", "rejected")

# Header fields each kind must carry, with their JSON types.
REQUIRED_HEADER: dict[str, dict[str, type | tuple[type, ...]]] = {
    "record": {"station": str, "seq": int, "record_id": str},
    "ack": {"record_id": str, "status": str},
    "feedback": {"record_id": str},
    "heartbeat": {},
}


class ProtocolError(ValueError):
    """A message that does not follow qcedge-feed/1."""


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
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} frame must be a JSON object, got {type(obj).__name__}")
    return obj


def peek_header(frames: Sequence[bytes]) -> dict[str, Any] | None:
    """The header of a message that may be otherwise invalid (e.g. too large), or None."""
    if len(frames) >= 3 and bytes(frames[0]) == PROTOCOL and len(frames[2]) <= 64 * 1024:
        try:
            return _load_object(frames[2], "header")
        except ProtocolError:
            return None
    return None


def decode(frames: Sequence[bytes], *, max_bytes: int | None = DEFAULT_MAX_BYTES,
           lazy_record_body: bool = False) -> Message:
    """Parse and check one message (without any routing frames).

    With `lazy_record_body` the body of a `record` message is left unparsed in
    `raw_body` (for the caller's schema validation to parse once).
    Raises MessageTooLarge or ProtocolError naming the problem.
    """
    frames = [bytes(f) for f in frames]
    if max_bytes is not None:
        size = message_size(frames)
        if size > max_bytes:
            raise MessageTooLarge(size, max_bytes)
    if len(frames) < 4:
        raise ProtocolError(f"expected at least 4 frames (protocol, kind, header, body), got {len(frames)}")
    if frames[0] != PROTOCOL:
        shown = frames[0][:32].decode("ascii", "replace")
        raise ProtocolError(f"unknown protocol {shown!r} (expected {PROTOCOL.decode()!r})")
    kind = frames[1].decode("ascii", "replace")
    if kind not in KINDS:
        raise ProtocolError(f"unknown message kind {kind[:32]!r} (expected one of {', '.join(KINDS)})")
    header = _load_object(frames[2], "header")
    body = {} if (lazy_record_body and kind == "record") else _load_object(frames[3], "body")
    for name, typ in REQUIRED_HEADER[kind].items():
        if name not in header:
            raise ProtocolError(f"{kind} header lacks {name!r}")
        value = header[name]
        if not isinstance(value, typ) or isinstance(value, bool):
            raise ProtocolError(f"{kind} header field {name!r} has the wrong type ({type(value).__name__})")
    if kind == "record":
        if header["seq"] < 1:
            raise ProtocolError(f"record header seq must be >= 1, got {header['seq']}")
        if not header["station"] or not header["record_id"]:
            raise ProtocolError("record header station and record_id must not be empty")
    if kind == "ack" and header["status"] not in ACK_STATUSES:
        raise ProtocolError(f"ack status {header['status'][:32]!r} is not one of {', '.join(ACK_STATUSES)}")
    if kind == "feedback":
        level = body.get("level")
        if level not in FEEDBACK_LEVELS:
            raise ProtocolError(f"feedback level {str(level)[:32]!r} is not one of {', '.join(FEEDBACK_LEVELS)}")
        if not isinstance(body.get("message"), str):
            raise ProtocolError("feedback body lacks a text 'message'")
    return Message(kind=kind, header=header, body=body, attachments=frames[4:], raw_body=frames[3])
