"""Bad input and odd timing at the feed's edges: every record message is answered or counted, one poison
record costs nobody else anything, identities compare exactly, revoked keys store nothing, feedback
travels with the ack, a restarted central gets unacked records at once."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import zmq

from feedtools import FAST, RawStation, make_record, record_frames, rejection, wait_for
from qcedge.qc_client.client import FeedClient
from qcedge.qc_client.keys import ClientKeys, ServerKeys, generate_keypair
from qcedge.qc_client.outbox import Outbox
from qcedge.qc_client.protocol import PROTOCOL, decode, encode
from qcedge.qc_client.receiver import Receiver
from qcedge.qc_client.store import CentralStore, Incoming

RULES = Path(__file__).resolve().parents[2] / "samples" / "rules" / "rules.yaml"


def raw_reply(st: RawStation, timeout: float = 5.0) -> dict | None:
    """The next reply's header as plain JSON (a reply may echo text our own decoder refuses)."""
    if not st.sock.poll(timeout * 1000):
        return None
    frames = st.sock.recv_multipart()
    return json.loads(frames[2])


def no_tracebacks(caplog) -> bool:
    return not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


BAD_HEADERS = {
    "seq 2**63": (b'{"station":"st1","seq":9223372036854775808,"record_id":"r-big"}', "r-big", "seq"),
    "seq 10**30": (b'{"station":"st1","seq":1000000000000000000000000000000,"record_id":"r-huge"}', "r-huge", "seq"),
    "surrogate station": (b'{"station":"st\\ud800","seq":1,"record_id":"r-sur"}', "r-sur", "station"),
    "surrogate record_id": (b'{"station":"st1","seq":1,"record_id":"r-\\udc00"}', "r-\udc00", "record_id"),
    "nested field": (b'{"station":"st1","seq":1,"record_id":"r-nest","x":' + b"[" * 40 + b"]" * 40 + b"}",
                     "r-nest", "'x'"),
}


@pytest.mark.parametrize("name", list(BAD_HEADERS))
def test_a_bad_record_header_is_answered_rejected_with_the_reason(receiver_factory, caplog, name):
    header, rid, reason = BAD_HEADERS[name]
    rx = receiver_factory()
    st = RawStation(rx.endpoint, identity=b"st1")
    try:
        st.send([PROTOCOL, b"record", header, make_record(1).to_json().encode()])
        reply = raw_reply(st)
        assert reply is not None, "no answer"
        assert reply["status"] == "rejected" and reply["record_id"] == rid and reason in reply["error"]
        st.send(record_frames(make_record(2), 2))  # and the receiver serves on
        assert st.recv_kind("ack").header["status"] == "stored"
    finally:
        st.close()
    s = rx.stats()
    assert (s.rejected, s.stored, s.malformed, s.failed) == (1, 1, 0, 0)
    assert no_tracebacks(caplog)
    assert "ud800" not in caplog.text and "udc00" not in caplog.text


def test_a_header_nested_1000_deep_is_one_malformed_line(receiver_factory, caplog):
    rx = receiver_factory()
    st = RawStation(rx.endpoint, identity=b"st1")
    try:
        st.send([PROTOCOL, b"record", b'{"station":"st1","x":' + b"[" * 1000 + b"]" * 1000 + b"}", b"{}"])
        st.send([PROTOCOL, b"heartbeat", b"[" * 100_000, b"{}"])
        st.send(record_frames(make_record(1), 1))
        assert st.recv_kind("ack").header["status"] == "stored"
    finally:
        st.close()
    assert rx.stats().malformed == 2 and no_tracebacks(caplog)
    assert len([r for r in caplog.records if "nested too deeply" in r.getMessage()]) == 2


def test_central_logs_never_echo_content_of_malformed_frames(receiver_factory, caplog):
    rx = receiver_factory()
    st = RawStation(rx.endpoint, identity=b"st1")
    try:
        st.send([b"PATIENT-ZHANG/1", b"record", b"{}", b"{}"])
        st.send([PROTOCOL, b"WANG-WU-NAME", b"{}", b"{}"])
        st.send(encode("record", {"station": "LI-SI-CLAIMED", "seq": 1, "record_id": "r1"}, "{}"))
        assert st.recv_kind("ack").header["status"] == "rejected"
        st.send(encode("ack", {"record_id": "r", "status": "CHEN-STATUS"}, {}))
        st.send(record_frames(make_record(1), 1))
        assert st.recv_kind("ack").header["status"] == "stored"
    finally:
        st.close()
    for secret in ("ZHANG", "WANG", "LI-SI", "CHEN"):
        assert secret not in caplog.text
    assert "sha256" in caplog.text  # what it says instead: lengths and a hash


def test_one_poison_record_costs_another_stations_record_nothing(receiver_factory):
    # a long commit delay puts both messages in one batch (one transaction)
    rx = receiver_factory(commit_delay=0.3)
    bad, good = RawStation(rx.endpoint, identity=b"st1"), RawStation(rx.endpoint, identity=b"st2")
    try:
        for _ in range(3):
            rec = make_record(7, station="st2")
            bad.send([PROTOCOL, b"record", b'{"station":"st1","seq":9223372036854775808,"record_id":"p"}',
                      make_record(1).to_json().encode()])
            good.send(record_frames(rec, 7))
            assert good.recv_kind("ack").header["status"] in ("stored", "duplicate")
            assert raw_reply(bad)["status"] == "rejected"
    finally:
        bad.close()
        good.close()
    assert rx.store.count("st2") == 1 and rx.store.count("st1") == 0


def test_the_store_keeps_the_rest_of_a_batch_when_one_record_cannot_be_stored(tmp_path):
    store = CentralStore(tmp_path / "c.sqlite", synchronous="NORMAL")
    try:
        good, poison = make_record(1, station="st2"), make_record(2)
        batch = [Incoming("st1", 2**64, poison.id, {}, poison.to_json(), poison),  # SQLite cannot hold it
                 Incoming("st2", 1, good.id, {}, good.to_json(), good)]
        out = store.save(batch, None)
        assert out[0].error and "could not store" in out[0].error
        assert out[1].error is None and not out[1].duplicate
        assert store.count() == 1 and store.records("st2")[0][2] == good.id
        assert store.stations()[0]["station"] == "st2"
        again = store.save([Incoming("st1", 1, poison.id, {}, poison.to_json(), poison)], None)
        assert again[0].error is None and store.count() == 2
    finally:
        store.close()


def test_long_station_ids_compare_exactly(tmp_path, receiver_factory):
    rx = receiver_factory()
    long_id = "ct-" + "x" * 97  # 100 characters: the config allows 128
    with Outbox(tmp_path / "o.sqlite") as ob:
        client = FeedClient(rx.endpoint, ob, long_id, **FAST).start()
        try:
            for i in range(3):
                client.submit(make_record(i, station=long_id))
            assert client.flush(10), client.stats()
        finally:
            client.stop()
    assert rx.store.count(long_id) == 3 and rx.stats().rejected == 0
    base = "L" * 64
    assert "identity" in rejection(rx.endpoint, make_record(1, station=base), identity=(base + "-tail").encode())
    assert rx.store.count(base) == 0


def test_records_queued_on_a_connection_with_a_made_up_identity_are_not_rejected(receiver_factory):
    # ROUTER_HANDOVER gives a station's old connection an identity ZeroMQ makes up (NUL + 4 bytes);
    # records still queued on it are the station's own, not a claim to be refused
    rx = receiver_factory()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)  # no identity: the ROUTER makes one up the same way
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(rx.endpoint)
    try:
        sock.send_multipart(record_frames(make_record(1), 1))
        assert sock.poll(5000)
        assert decode(sock.recv_multipart()).header["status"] == "stored"
    finally:
        sock.close(0)
        ctx.term()
    assert rx.stats().rejected == 0 and rx.store.count("st1") == 1


def test_a_record_submitted_again_after_its_ack_leaves_no_permanent_gap(receiver_factory):
    rx = receiver_factory()
    st = RawStation(rx.endpoint)
    try:
        a, b, c = make_record(1), make_record(2), make_record(3)
        for rec, seq in ((a, 1), (b, 2), (a, 3), (c, 4)):  # a again, with the new seq its outbox gave it
            st.send(record_frames(rec, seq))
            st.recv_kind("ack")
    finally:
        st.close()
    assert rx.gaps("st1") == [] and rx.gaps() == []
    assert rx.store.gap_events("st1") == []
    assert rx.store.count("st1") == 3 and rx.stats().duplicates == 1


def test_feedback_travels_with_the_ack_and_again_with_a_duplicate_ack(receiver_factory):
    rx = receiver_factory(rules=RULES)
    st = RawStation(rx.endpoint)
    try:
        rec = make_record(1, CTDIvol=55.0)  # above hospital-a's warn level 50
        for status in ("stored", "duplicate"):
            st.send(record_frames(rec, 1))
            ack = st.recv_kind("ack")
            assert ack.header["status"] == status
            assert [f["level"] for f in ack.body["feedback"]] == ["warn"]
    finally:
        st.close()


def test_a_client_shows_each_feedback_once_though_acked_twice(tmp_path, receiver_factory):
    rx = receiver_factory(rules=RULES)
    shown = []
    with Outbox(tmp_path / "o.sqlite") as ob:
        client = FeedClient(rx.endpoint, ob, "st1", on_feedback=shown.append, **FAST).start()
        try:
            rec = make_record(1, CTDIvol=55.0)
            client.submit(rec)
            assert client.flush(10)
            ob.put(rec)  # the daemon submits it again after a crash: acked duplicate, same feedback
            client.wake()
            assert client.flush(10) and wait_for(lambda: client.stats().duplicates == 1)
        finally:
            client.stop()
    assert [(f.record_id, f.level) for f in shown] == [(rec.id, "warn")]


@pytest.fixture
def curve(tmp_path):
    keys, allow = tmp_path / "keys", tmp_path / "allow"
    generate_keypair(keys, "server")
    pub, _ = generate_keypair(keys, "st1")
    allow.mkdir()
    (allow / "st1.key").write_bytes(pub.read_bytes())
    return keys, allow


def test_a_revoked_key_stores_nothing_from_the_reload_on_though_its_connection_stays_open(
        tmp_path, receiver_factory, curve, caplog):
    keys, allow = curve
    rx = receiver_factory(keys=ServerKeys.from_dir(keys), allowed_station_keys=allow)
    ck = ClientKeys.from_files(keys / "st1.key_secret", keys / "server.key")
    stop = threading.Event()
    with Outbox(tmp_path / "o.sqlite") as ob:
        # heartbeats slow enough that the connection stays open (it gets silence once revoked)
        client = FeedClient(rx.endpoint, ob, "st1", keys=ck, **{**FAST, "heartbeat": 5.0}).start()

        def submit_without_pause() -> None:
            i = 0
            while not stop.is_set():
                client.submit(make_record(i))
                i += 1
                stop.wait(0.005)

        feeder = threading.Thread(target=submit_without_pause)
        feeder.start()
        try:
            assert wait_for(lambda: rx.store.count("st1") >= 20)
            (allow / "st1.key").unlink()
            assert rx.reload_allowed() == 0
            at_reload = rx.store.count("st1")
            assert wait_for(lambda: rx.stats().refused >= 50)
            assert rx.store.count("st1") == at_reload
        finally:
            stop.set()
            feeder.join()
            client.stop()
    assert len([r for r in caplog.records if "not on the allow-list" in r.getMessage()]) == 1


def test_a_central_restarted_within_the_heartbeat_gets_unacked_records_at_once(tmp_path):
    """A central that took records and died before acking: its successor on the same port gets them
    again as soon as it answers, not after the ack timeout (here far beyond the test)."""
    ctx = zmq.Context()
    hole = ctx.socket(zmq.ROUTER)
    hole.setsockopt(zmq.LINGER, 0)
    hole.bind("tcp://127.0.0.1:*")
    endpoint = hole.getsockopt_string(zmq.LAST_ENDPOINT)
    settings = dict(heartbeat=2.0, liveness=3, ack_timeout=1000.0, resend_max=1000.0)
    rx = None
    with Outbox(tmp_path / "o.sqlite") as ob:
        client = FeedClient(endpoint, ob, "st1", **settings).start()
        try:
            for i in range(5):
                client.submit(make_record(i))
            swallowed = answered = 0
            while swallowed < 5 or not answered:  # take the records, answer as run "old", ack nothing
                assert hole.poll(10_000), "the client sent nothing"
                ident, *frames = hole.recv_multipart()
                msg = decode(frames)
                if msg.kind == "heartbeat":
                    hole.send_multipart([ident, *encode("heartbeat", {"server": "x", "boot": "old"}, {})])
                    answered += 1
                else:
                    swallowed += 1
            assert wait_for(lambda: client.stats().connected)
            hole.close(0)
            rx = Receiver(endpoint, tmp_path / "central.sqlite", synchronous="NORMAL").start()
            assert client.flush(30), client.stats()  # without the restart noticed: 1000 s
            assert client.stats().reconnects == 0  # the same connection: libzmq reconnected under it
        finally:
            client.stop()
            if rx is not None:
                rx.close()
            ctx.term()
