"""Feedback both ways on the feed: central's findings, handed on once per process (`Feedback`,
`FeedbackSeen`), and the technologist's acknowledgements of them, waiting for central (`FeedbackAcks`)."""
from __future__ import annotations

import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import zmq

from qcedge.qc_client.protocol import FEEDBACK_LEVELS, MAX_ACK_TEXT, MAX_RECORD_ID, Message, encode, utc_now_iso

log = logging.getLogger("qcedge.qc_client.client")  # the feed client's logger, as before the split

SEEN_MAX = 10000  # feedback remembered as shown; the oldest are forgotten beyond this
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
    def in_ack(cls, msg: Message) -> list["Feedback"]:
        """The feedback an ack carries (a `stored` or `duplicate` ack); malformed entries are logged and dropped."""
        feedback = msg.body.get("feedback")
        out = []
        for body in feedback if isinstance(feedback, list) else ():
            if isinstance(body, dict) and body.get("level") in FEEDBACK_LEVELS and isinstance(body.get("message"), str):
                out.append(cls.from_body(msg.header, body))
            else:
                log.warning("malformed feedback in an ack from central dropped")
        return out

    @classmethod
    def from_body(cls, header: dict[str, Any], body: dict[str, Any]) -> "Feedback":
        rule = body.get("rule")
        return cls(record_id=header["record_id"], level=body["level"], message=body["message"],
                   rule=rule if isinstance(rule, str) else None, seq=header.get("seq"),
                   station=header.get("station"),
                   details={k: v for k, v in body.items() if k not in ("level", "message", "rule")})


class FeedbackSeen:
    """The feedback already shown: central sends a record's feedback again with every ack of it."""

    def __init__(self, limit: int = SEEN_MAX) -> None:
        self.limit = limit
        self._seen: OrderedDict[tuple, None] = OrderedDict()

    def first(self, fb: Feedback) -> bool:
        """True the first time this feedback (record, rule, level, message) is seen."""
        key = (fb.record_id, fb.rule, fb.level, fb.message)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.limit:
            self._seen.popitem(last=False)
        return True


class FeedbackAcks:
    """Acknowledgements of feedback by the technologist, waiting for central in memory (not in the outbox)."""

    def __init__(self, station_id: str, limit: int = MAX_FEEDBACK_ACKS) -> None:
        self.station_id = station_id
        self._waiting: deque[tuple[dict[str, Any], dict[str, Any]]] = deque(maxlen=limit)

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, record_id: str, *, rule: str | None = None, level: str | None = None, by: str | None = None,
            at: str | None = None) -> None:
        """Queue one (texts cut to MAX_ACK_TEXT); ValueError for a record id the protocol cannot carry."""
        if not isinstance(record_id, str) or not 0 < len(record_id) <= MAX_RECORD_ID:
            raise ValueError(f"record_id must hold 1 to {MAX_RECORD_ID} characters")
        header = {"station": self.station_id, "record_id": record_id}
        body = {"rule": rule, "level": level, "by": by, "at": at or utc_now_iso()}
        body = {k: (v[:MAX_ACK_TEXT] if isinstance(v, str) else None) for k, v in body.items()}
        self._waiting.append((header, body))

    def send(self, sock: zmq.Socket) -> int:
        """Send what the socket takes now (the rest waits); how many went."""
        sent = 0
        while self._waiting:
            header, body = self._waiting[0]
            try:
                sock.send_multipart(encode("feedback_ack", {**header, "sent_at": utc_now_iso()}, body),
                                    flags=zmq.NOBLOCK)
            except zmq.Again:
                break
            self._waiting.popleft()
            sent += 1
        return sent
