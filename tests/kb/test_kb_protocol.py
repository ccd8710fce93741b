"""The kb_ message kinds: strict parsing, bounded chunks, old peers unharmed, hostile answers ignored."""
from __future__ import annotations

import hashlib
import random
import shutil
import time

import pytest
import zmq

from qcedge.central.kb import KbCentral, build_release
from kbtools import make_source
from qcedge.qc_client.kb import CHUNK_MAX, KbAgent, ReleaseStore, load_public_key
from qcedge.qc_client.protocol import PROTOCOL, ProtocolError, decode, encode
from qcedge.qc_client.receiver import Receiver

SHA = "ab" * 32


@pytest.mark.parametrize("kind,header,problem", [
    ("kb_get", {"station": "s", "version": 1, "sha256": SHA, "offset": -1, "length": 5}, "negative"),
    ("kb_get", {"station": "s", "version": 1, "sha256": SHA, "offset": 0, "length": -5}, "negative"),
    ("kb_get", {"station": "s", "version": 0, "sha256": SHA, "offset": 0, "length": 5}, "bad version"),
    ("kb_get", {"station": "s", "version": 1, "sha256": "abc", "offset": 0, "length": 5}, "sha256"),
    ("kb_get", {"station": "s", "version": "1", "sha256": SHA, "offset": 0, "length": 5}, "wrong type"),
    ("kb_get", {"station": "s", "version": 1, "sha256": SHA, "offset": 0}, "lacks 'length'"),
    ("kb_chunk", {"version": 1, "sha256": SHA, "offset": 0}, "lacks 'total'"),
    ("kb_chunk", {"version": True, "sha256": SHA, "offset": 0, "total": 1}, "wrong type"),
])
def test_bad_kb_headers_are_refused_by_name(kind, header, problem):
    frames = [PROTOCOL, kind.encode(), __import__("json").dumps(header).encode(), b"{}"]
    with pytest.raises(ProtocolError, match=problem):
        decode(frames)


def test_kb_headers_fuzz_never_crash():
    rng = random.Random(13)
    values = [0, -1, 1, 2**70, True, None, "x", SHA, 1.5, "\u00e9" * 3]
    for _ in range(2000):
        kind = rng.choice(["kb_get", "kb_chunk"])
        header = {k: rng.choice(values) for k in rng.sample(["station", "version", "sha256", "offset", "length",
                                                             "total"], rng.randint(0, 6))}
        try:
            msg = decode([PROTOCOL, kind.encode(), __import__("json").dumps(header).encode(), b"{}"])
        except ProtocolError:
            continue
        assert msg.header["offset"] >= 0 and len(msg.header["sha256"]) == 64


def _ask(sock, kind, header, timeout=5.0):
    sock.send_multipart(encode(kind, header))
    if not sock.poll(timeout * 1000):
        return None
    return decode(sock.recv_multipart(), max_bytes=None)


def test_receiver_serves_bounded_chunks_and_old_receivers_drop_kb_get(tmp_path, keys):
    central_dir = tmp_path / "c"
    central_dir.mkdir()
    shutil.copyfile(keys[1], central_dir / "kb.pub")
    # a release larger than one chunk: the sample pack plus 1.5 MB of self-test noise
    src = make_source(tmp_path / "src")
    (src / "selftest").mkdir()
    (src / "selftest" / "noise.bin").write_bytes(random.Random(1).randbytes(1_500_000))
    bundle = build_release(src, tmp_path / "b.tar", keys[0], version=5, who="qa")
    kb = KbCentral(central_dir)
    kb.publish(bundle, "qa")
    sha = hashlib.sha256(bundle.read_bytes()).hexdigest()
    ctx = zmq.Context()
    with Receiver("tcp://127.0.0.1:*", tmp_path / "db.sqlite", kb=kb) as rx, \
            Receiver("tcp://127.0.0.1:*", tmp_path / "old.sqlite") as old:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.IDENTITY, b"st-1")
        s.connect(rx.endpoint)
        hb = _ask(s, "heartbeat", {"station": "st-1", "feed": 2, "kb_version": None})
        assert hb.header["feed"] == 2 and hb.header["kb_version"] == 5 and hb.header["kb_sha256"] == sha
        got = _ask(s, "kb_get", {"station": "st-1", "version": 5, "sha256": sha, "offset": 0, "length": 10**9})
        assert got.kind == "kb_chunk" and len(got.attachments[0]) == CHUNK_MAX
        assert got.header["total"] == bundle.stat().st_size
        assert got.attachments[0] == bundle.read_bytes()[:CHUNK_MAX]
        tail = _ask(s, "kb_get", {"station": "st-1", "version": 5, "sha256": sha, "offset": 10**12, "length": 10})
        assert tail.attachments[0] == b""
        unknown = _ask(s, "kb_get", {"station": "st-1", "version": 9, "sha256": sha, "offset": 0, "length": 10})
        assert unknown.header["total"] == 0 and unknown.attachments[0] == b""
        # a kb_get whose station is not the connection's identity gets nothing
        assert _ask(s, "kb_get", {"station": "st-2", "version": 5, "sha256": sha, "offset": 0, "length": 10},
                    timeout=0.5) is None
        # an older central (no KB): no offer, kb_get dropped as malformed, it keeps serving
        o = ctx.socket(zmq.DEALER)
        o.setsockopt(zmq.IDENTITY, b"st-1")
        o.connect(old.endpoint)
        hb = _ask(o, "heartbeat", {"station": "st-1", "feed": 2})
        assert "kb_version" not in hb.header
        assert _ask(o, "kb_get", {"station": "st-1", "version": 5, "sha256": sha, "offset": 0, "length": 10},
                    timeout=0.5) is None
        assert old.stats().malformed == 1
        assert _ask(o, "heartbeat", {"station": "st-1"}).kind == "heartbeat"
        s.close(0)
        o.close(0)
    ctx.term()
    kb.close()


def test_agent_ignores_chunks_it_did_not_ask_for(tmp_path, keys):
    agent = KbAgent(ReleaseStore(tmp_path / "st"), load_public_key(keys[1]), "st-1")
    try:
        assert agent.on_chunk({"version": 1, "sha256": SHA, "offset": 0, "total": 10}, b"x" * 10) is None
        ask = agent.on_offer({"kb_version": 1, "kb_size": 100, "kb_sha256": SHA})
        assert ask == {"station": "st-1", "version": 1, "sha256": SHA, "offset": 0, "length": 100}
        # another release's bytes, a wrong offset, more than offered: not written
        assert agent.on_chunk({"version": 2, "sha256": SHA, "offset": 0, "total": 100}, b"y" * 50) is None
        agent.on_chunk({"version": 1, "sha256": SHA, "offset": 7, "total": 100}, b"y" * 50)
        agent.on_chunk({"version": 1, "sha256": SHA, "offset": 0, "total": 100}, b"y" * 101)
        part = tmp_path / "st" / "incoming" / f"1-{SHA[:16]}.part"
        assert not part.exists() or part.stat().st_size == 0
        # central answers "unknown" (it moved on): no request loop, the next offer decides
        assert agent.on_chunk({"version": 1, "sha256": SHA, "offset": 0, "total": 0}, b"") is None
        assert agent.on_chunk({"version": 1, "sha256": SHA, "offset": 0, "total": 100}, b"z" * 100) is None
        assert agent.store.state().refused is None  # not asked for any more: ignored
        assert agent.on_offer({"kb_version": 1, "kb_size": 100, "kb_sha256": SHA})["offset"] == 0
        # the whole size arrives but it is not what was offered: refused, nothing kept
        assert agent.on_chunk({"version": 1, "sha256": SHA, "offset": 0, "total": 100}, b"z" * 100) is None
        deadline = time.monotonic() + 10
        while agent.store.state().refused != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        state = agent.store.state()
        assert state.refused == 1 and "SHA-256" in state.refused_reason and state.current is None
        assert not part.exists()
        # refused once: the same offer is not fetched again
        assert agent.on_offer({"kb_version": 1, "kb_size": 100, "kb_sha256": SHA}) is None
    finally:
        agent.close()
