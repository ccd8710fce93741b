"""Seeded fuzz of feed messages against a real receiver on 127.0.0.1.

Each malformed message is answered or dropped and counted in exactly one bucket of the receiver's
stats (never an internal error), the receiver keeps serving, and the valid record sent after each
one is stored and acked: none is lost. Hypothesis with derandomize=True: the same cases every run.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcedge.qc_client.protocol import KINDS, PROTOCOL, decode, encode
from qcedge.qc_client.receiver import Receiver
from qcedge.qc_client.record import FieldValue, Record, TemplateRef

RULES = Path(__file__).resolve().parents[2] / "samples" / "rules" / "rules.yaml"
STATION = "fz-1"
MAX_BYTES = 8 * 1024

# -- strategies -------------------------------------------------------------------------------------
surrogates = st.sampled_from(["\ud800", "a\udc00b", "\udfff" * 3])
texts = st.one_of(st.text(max_size=40), surrogates, st.just(STATION), st.just(""), st.text(min_size=300, max_size=400))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False), texts)
nested = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                      st.dictionaries(st.text(max_size=5), kids, max_size=3)),
                      max_leaves=12)
deep = st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)
seqs = st.one_of(st.integers(min_value=-5, max_value=2**64 + 5), st.sampled_from([2**63 - 1, 2**63, 10**40]),
                 scalars, nested)


def _json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=True).encode()  # ASCII escapes carry lone surrogates


@st.composite
def headers(draw) -> bytes:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(max_size=60))
    if choice == 1:
        return ('{"station":"%s","x":%s}' % (STATION, draw(deep))).encode()
    header = {}
    if draw(st.booleans()):
        header["station"] = draw(st.one_of(texts, scalars))
    if draw(st.integers(0, 4)):
        header["seq"] = draw(seqs)
    if draw(st.integers(0, 4)):
        header["record_id"] = draw(st.one_of(texts, scalars, st.just(str(uuid.uuid4()))))
    if draw(st.booleans()):
        header[draw(st.one_of(st.text(max_size=8), surrogates))] = draw(st.one_of(scalars, nested))
    if draw(st.booleans()):
        header["status"] = draw(st.one_of(st.sampled_from(["stored", "duplicate", "rejected"]), texts))
    return _json(header)


@st.composite
def bodies(draw, record_id: str | None = None) -> bytes:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(st.binary(max_size=60))
    if choice == 1:
        return b'{"fields":' + draw(deep).encode() + b"}"
    if choice == 2:
        return b'{"x":"' + b"y" * (MAX_BYTES + 10) + b'"}'  # oversized
    if choice == 3:
        return _json(draw(nested))
    rec = json.loads(make(0).to_json())
    rec[draw(st.sampled_from(["station", "id", "site", "status", "fields", "captured_at"]))] = draw(
        st.one_of(scalars, nested))
    return _json(rec)


@st.composite
def messages(draw) -> list[bytes]:
    proto = draw(st.one_of(st.just(PROTOCOL), st.binary(max_size=20)))
    kind = draw(st.one_of(st.sampled_from([k.encode() for k in KINDS]), st.binary(max_size=12)))
    frames = [proto, kind, draw(headers()), draw(bodies())]
    frames += draw(st.lists(st.binary(max_size=30), max_size=2))
    return frames[:draw(st.integers(1, len(frames)))]


def make(i: int) -> Record:
    return Record(id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"fuzz/{i}")), station=STATION, site="hospital-a",
                  source="fuzz", modality="CT", template=TemplateRef(id="ct-dose", version="1"),
                  fields={"CTDIvol": FieldValue(value=10.0 + i % 60, text="x")})


# -- the test ---------------------------------------------------------------------------------------
class Peer:
    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, STATION.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def ack_for(self, record_id: str, timeout_ms: int = 10_000) -> dict | None:
        while self.sock.poll(timeout_ms):
            frames = self.sock.recv_multipart()
            try:
                msg = decode(frames)
            except Exception:  # a reply echoing a bad record id is not ours to decode
                continue
            if msg.kind == "ack" and msg.header["record_id"] == record_id:
                return msg.header
        return None

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    rx = Receiver("tcp://127.0.0.1:*", tmp_path_factory.mktemp("fuzz") / "central.sqlite", rules=RULES,
                  max_bytes=MAX_BYTES, synchronous="OFF", commit_delay=0.0).start()
    peer = Peer(rx.endpoint)
    yield rx, peer, []
    peer.close()
    rx.close()


def total(stats) -> int:
    s = vars(stats)
    return sum(s[k] for k in ("stored", "duplicates", "rejected", "malformed", "oversized", "heartbeats",
                              "refused", "failed"))


@settings(derandomize=True, max_examples=250, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(frames=messages())
def test_malformed_feed_messages_are_answered_or_counted_and_no_valid_record_is_lost(central, frames):
    rx, peer, sent = central
    before = total(rx.stats())
    peer.sock.send_multipart(frames)
    rec = make(len(sent) + 1)
    sent.append(rec.id)
    peer.sock.send_multipart(encode("record", {"station": STATION, "seq": len(sent), "record_id": rec.id},
                                    rec.to_json()))
    ack = peer.ack_for(rec.id)
    assert ack is not None and ack["status"] in ("stored", "duplicate"), "the valid record got no ack"
    after = rx.stats()
    assert after.failed == 0, "an internal error in the receiver"
    assert total(after) - before == 2, "a message in no bucket (or in two)"
    stored = {rid for _, _, rid, _ in rx.store.records(STATION)}
    assert set(sent) <= stored
