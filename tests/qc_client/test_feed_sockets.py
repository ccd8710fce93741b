"""The feed over real ZeroMQ sockets on 127.0.0.1: delivery, feedback, dedupe, gaps, bad input, CURVE."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import zmq

from feedtools import FAST, RawStation, make_record, record_frames, rejection, wait_for
from qcedge.qc_client.client import FeedClient
from qcedge.qc_client.keys import ClientKeys, ServerKeys, generate_keypair
from qcedge.qc_client.outbox import Outbox
from qcedge.qc_client.protocol import decode, encode

SAMPLE_RULES = Path(__file__).resolve().parents[2] / "samples" / "rules" / "rules.yaml"


def test_records_arrive_stored_before_ack_and_feedback_reaches_the_station(tmp_path, receiver_factory):
    arrivals = []
    rx = receiver_factory(rules=SAMPLE_RULES, on_record=arrivals.append)
    feedback = []
    with Outbox(tmp_path / "outbox.sqlite") as ob:
        client = FeedClient(rx.endpoint, ob, "ct-9", on_feedback=feedback.append, **FAST).start()
        try:
            recs = [make_record(i, station="ct-9", site="hospital-a", CTDIvol=10.0 + i) for i in range(30)]
            recs.append(make_record(99, station="ct-9", site="hospital-a", CTDIvol=75.0))
            for rec in recs:
                client.submit(rec)
            assert client.flush(10), "outbox did not drain"
            assert wait_for(lambda: len(feedback) == 1)
            st = client.stats()
        finally:
            client.stop()
    assert st.acked == 31 and st.outbox_depth == 0 and st.connected and st.last_ack_at is not None
    stored = rx.store.records("ct-9")
    assert [seq for _, seq, _, _ in stored] == list(range(1, 32))
    assert {rid for _, _, rid, _ in stored} == {r.id for r in recs}
    assert json.loads(stored[-1][3])["fields"]["CTDIvol"]["value"] == 75.0
    fb = feedback[0]
    assert (fb.record_id, fb.level, fb.rule) == (recs[-1].id, "alert", "ct-ctdivol")
    assert fb.details["value"] == 75.0 and fb.details["limit"] == 70.0 and "70" in fb.message  # hospital-a's level
    assert "75" not in fb.message  # values travel in the body, not in the text stations log
    assert rx.store.feedback(recs[-1].id)[0]["level"] == "alert"
    assert len(arrivals) == 31 and not any(a.duplicate for a in arrivals)
    assert rx.gaps() == []


def test_a_record_sent_twice_is_stored_once_and_acked_twice(receiver_factory):
    rx = receiver_factory()
    st = RawStation(rx.endpoint)
    try:
        rec = make_record(1)
        st.send(record_frames(rec, 1))
        ack = st.recv_kind("ack").header
        assert (ack["record_id"], ack["seq"], ack["status"]) == (rec.id, 1, "stored")
        st.send(record_frames(rec, 1))
        assert st.recv_kind("ack").header["status"] == "duplicate"
    finally:
        st.close()
    assert rx.store.count("st1") == 1 and rx.stats().duplicates == 1


def test_gaps_in_a_station_sequence_are_reported_and_queryable(receiver_factory, caplog):
    rx = receiver_factory()
    st = RawStation(rx.endpoint)
    try:
        for seq in (1, 2, 5, 9):
            st.send(record_frames(make_record(seq), seq))
            assert st.recv_kind("ack").header["status"] == "stored"
        assert [(g.first, g.last) for g in rx.gaps("st1")] == [(3, 4), (6, 8)]
        assert "gap in station st1 sequence: 3..4 missing" in caplog.text
        st.send(record_frames(make_record(3), 3))  # a late record fills part of the gap
        st.recv_kind("ack")
        assert [(g.first, g.last) for g in rx.gaps()] == [(4, 4), (6, 8)]
        assert [(s, a, b) for s, a, b, _ in rx.store.gap_events("st1")] == [("st1", 3, 4), ("st1", 6, 8)]
    finally:
        st.close()


def test_malformed_and_oversized_messages_are_dropped_and_the_receiver_keeps_serving(receiver_factory, caplog):
    rx = receiver_factory(max_bytes=64 * 1024)
    st = RawStation(rx.endpoint)
    try:
        st.send([b"hello"])
        st.send([b"qcedge-feed/1", b"record", b"{broken", b"{}"])
        st.send([b"qcedge-feed/1", b"record", b'{"station": "st1", "seq": 1}', b"{}"])
        st.send([b"qcedge-feed/2", b"record", b"{}", b"{}"])
        # a valid header but a body that is not a record: refused with an error ack
        st.send(encode("record", {"station": "st1", "seq": 1, "record_id": "r1"}, {"hello": "world"}))
        rej = st.recv_kind("ack")
        assert rej.header["status"] == "rejected" and "qcedge.record/1" in rej.header["error"]
        big = make_record(2, note="x" * 100_000)
        st.send(record_frames(big, 2, max_bytes=None))
        rej = st.recv_kind("ack")
        assert rej.header["status"] == "rejected" and "exceeds the size limit of 65536" in rej.header["error"]
        # a frame far above the limit: libzmq drops that connection; the receiver serves others
        st.send([b"qcedge-feed/1", b"record", b"{}", b"{}", b"z" * (rx.hard_limit + 1)])
        ok = make_record(3)
        good = RawStation(rx.endpoint, identity=b"st1")
        try:
            good.send(record_frames(ok, 3))
            assert good.recv_kind("ack").header["status"] == "stored"
        finally:
            good.close()
    finally:
        st.close()
    s = rx.stats()
    assert s.malformed == 4 and s.oversized == 1 and s.rejected == 1 and s.stored == 1
    assert rx.store.count() == 1
    assert "malformed message from st1 dropped: expected at least 4 frames" in caplog.text
    assert "oversized message from st1 dropped" in caplog.text
    assert "xxxx" not in caplog.text  # content never logged


def test_record_claiming_another_station_is_rejected(receiver_factory):
    rx = receiver_factory()
    assert "identity" in rejection(rx.endpoint, make_record(1, station="st2"), identity=b"st1")
    assert rx.store.count() == 0


def test_client_rejects_records_the_receiver_refuses_and_moves_on(tmp_path, receiver_factory):
    rx = receiver_factory(max_bytes=8 * 1024)
    rejected = []
    with Outbox(tmp_path / "o.sqlite", max_bytes=64 * 1024) as ob:
        client = FeedClient(rx.endpoint, ob, "st1", on_rejected=lambda rid, err: rejected.append(rid), **FAST)
        big, small = make_record(1, note="x" * 20_000), make_record(2)
        client.start()
        try:
            client.submit(big)
            client.submit(small)
            assert wait_for(lambda: ob.depth() == 0 and len(rejected) == 1)
        finally:
            client.stop()
        assert rejected == [big.id] and "size limit" in ob.rejected()[0].error
    assert rx.store.count() == 1


@pytest.fixture
def curve_keys(tmp_path):
    keys = tmp_path / "keys"
    allow = tmp_path / "allow"
    generate_keypair(keys, "server")
    pub, sec = generate_keypair(keys, "st1")
    generate_keypair(tmp_path / "stranger", "st1")  # same name, a key central does not know
    allow.mkdir()
    (allow / "st1.key").write_bytes(pub.read_bytes())
    return keys, allow, tmp_path / "stranger"


def test_curve_allowed_station_gets_in_encrypted(tmp_path, receiver_factory, curve_keys):
    keys, allow, _ = curve_keys
    rx = receiver_factory(keys=ServerKeys.from_dir(keys), allowed_station_keys=allow)
    ck = ClientKeys.from_files(keys / "st1.key_secret", keys / "server.key")
    assert "secret" not in repr(ck) and ck.secret.decode() not in repr(ck)
    with Outbox(tmp_path / "o.sqlite") as ob:
        with FeedClient(rx.endpoint, ob, "st1", keys=ck, **FAST) as client:
            client.submit(make_record(1))
            assert client.flush(10)
    assert rx.store.count("st1") == 1


@pytest.mark.parametrize("who", ["unknown station key", "wrong server key", "no CURVE at all"])
def test_curve_wrong_or_unknown_key_gets_nothing_in(tmp_path, receiver_factory, curve_keys, who):
    keys, allow, stranger = curve_keys
    rx = receiver_factory(keys=ServerKeys.from_dir(keys), allowed_station_keys=allow)
    if who == "unknown station key":
        ck = ClientKeys.from_files(stranger / "st1.key_secret", keys / "server.key")
    elif who == "wrong server key":
        ck = ClientKeys.from_files(keys / "st1.key_secret", keys / "st1.key")
    else:
        ck = None
    with Outbox(tmp_path / "o.sqlite") as ob:
        with FeedClient(rx.endpoint, ob, "st1", keys=ck, **FAST) as client:
            client.submit(make_record(1))
            assert not client.flush(1.5), "a record got through"
            st = client.stats()
        assert ob.depth() == 1, "the record must stay in the outbox"
    assert not st.connected and st.acked == 0 and st.reconnects >= 1
    assert rx.store.count() == 0 and rx.stats().heartbeats == 0


def test_heartbeats_keep_an_idle_connection_alive_and_silence_triggers_reconnect(tmp_path, receiver_factory):
    rx = receiver_factory()
    with Outbox(tmp_path / "o.sqlite") as ob:
        with FeedClient(rx.endpoint, ob, "st1", **{**FAST, "heartbeat": 0.3}) as client:
            assert wait_for(lambda: client.stats().connected, 5)
            time.sleep(1.2)  # four heartbeat intervals with nothing to send
            st = client.stats()
            assert st.connected and st.reconnects == 0
            assert rx.stations_alive() == {"st1": True}
            rx.stop()  # central falls silent
            assert wait_for(lambda: not client.stats().connected, 5)
            assert wait_for(lambda: client.stats().reconnects >= 1, 5)


def test_live_tap_publishes_new_records_without_personal_values(tmp_path, receiver_factory):
    rx = receiver_factory(pub_bind="tcp://127.0.0.1:*")
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"record")
    sub.connect(rx.pub_endpoint)
    time.sleep(0.2)  # slow joiner: PUB drops what is sent before the subscription arrives
    st = RawStation(rx.endpoint)
    try:
        rec = make_record(1, CTDIvol=12.0, patient_name="DOE^JOHN")
        rec.fields["patient_name"].personal = True
        st.send(record_frames(rec, 1))
        assert sub.poll(5000)
        topic, payload = sub.recv_multipart()
        summary = json.loads(payload)
        assert summary["record_id"] == rec.id and summary["values"]["CTDIvol"] == 12.0
        assert "DOE" not in payload.decode()
    finally:
        st.close()
        sub.close(0)
        ctx.term()


def test_curve_key_speaks_only_for_its_own_station(tmp_path, receiver_factory, curve_keys):
    keys, allow, _ = curve_keys
    rx = receiver_factory(keys=ServerKeys.from_dir(keys), allowed_station_keys=allow)
    ck = ClientKeys.from_files(keys / "st1.key_secret", keys / "server.key")
    # st1's key, claiming to be st2
    assert "allow-list names 'st1'" in rejection(rx.endpoint, make_record(1, station="st2"), identity=b"st2", keys=ck)
    assert rx.store.count() == 0


def test_unacked_records_are_resent_with_backoff_until_acked(tmp_path):
    """A central that answers heartbeats but loses acks: the station resends, waiting longer each time."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    arrivals: list[float] = []
    rec = make_record(1)
    with Outbox(tmp_path / "o.sqlite") as ob:
        client = FeedClient(f"tcp://127.0.0.1:{port}", ob, "st1", **{**FAST, "ack_timeout": 0.2, "resend_max": 5.0})
        client.start()
        try:
            client.submit(rec)
            deadline = time.monotonic() + 5
            while len(arrivals) < 3 and time.monotonic() < deadline:
                if not router.poll(100):
                    continue
                ident, *frames = router.recv_multipart()
                msg = decode(frames)
                if msg.kind == "heartbeat":
                    router.send_multipart([ident, *encode("heartbeat", {})])
                elif msg.kind == "record":
                    assert msg.record_id == rec.id and msg.header["attempt"] == len(arrivals) + 1
                    arrivals.append(time.monotonic())
            assert len(arrivals) == 3, "the record was not resent"
            assert wait_for(lambda: ob.pending()[0].attempts == 3, 2)  # noted just after the send
            pending = ob.pending()
            assert [p.record_id for p in pending] == [rec.id]
            assert pending[0].next_attempt - pending[0].last_sent == pytest.approx(0.8)  # third wait: 0.2 * 2**2
            gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
            assert gaps[0] >= 0.19 and gaps[1] >= 0.39, f"resent before its backoff ran out: {gaps}"
            router.send_multipart([ident, *encode("ack", {"record_id": rec.id, "seq": 1, "status": "stored"})])
            assert wait_for(lambda: ob.depth() == 0, 5)
            assert client.stats().resent == 2 and client.stats().acked == 1
        finally:
            client.stop()
            router.close(0)
            ctx.term()


def test_records_waiting_in_backoff_go_at_once_when_central_answers(tmp_path, receiver_factory):
    """After a restart, records a previous run sent (and scheduled far ahead) are not held back."""
    with Outbox(tmp_path / "o.sqlite") as ob:
        ob.put(make_record(1))
        ob.mark_sent([(make_record(1).id, time.time() + 3600)])
        assert ob.due() == []
        rx = receiver_factory()
        with FeedClient(rx.endpoint, ob, "st1", **FAST) as client:
            assert client.flush(5)
    assert rx.store.count() == 1


def test_on_acked_and_an_ack_many_override_both_learn_what_left_the_outbox(tmp_path, receiver_factory):
    seen_hook: list[str] = []

    class HookedOutbox(Outbox):  # how the capture daemon hooks acks
        def ack_many(self, record_ids):
            ids = list(record_ids)
            seen_hook.extend(ids)
            return super().ack_many(ids)

    rx = receiver_factory()
    acked: list[str] = []
    recs = [make_record(i) for i in range(5)]
    with HookedOutbox(tmp_path / "o.sqlite") as ob:
        with FeedClient(rx.endpoint, ob, "st1", on_acked=acked.extend, **FAST) as client:
            client.submit_many(recs[:2])
            for rec in recs[2:]:
                client.submit(rec)
            assert client.flush(5)
    assert sorted(acked) == sorted(seen_hook) == sorted(r.id for r in recs)


def test_a_station_added_to_the_allow_list_gets_in_after_reload(tmp_path, receiver_factory, curve_keys):
    keys, allow, _ = curve_keys
    (allow / "st1.key").unlink()
    rx = receiver_factory(keys=ServerKeys.from_dir(keys), allowed_station_keys=allow)
    ck = ClientKeys.from_files(keys / "st1.key_secret", keys / "server.key")
    with Outbox(tmp_path / "o.sqlite") as ob:
        with FeedClient(rx.endpoint, ob, "st1", keys=ck, **FAST) as client:
            client.submit(make_record(1))
            assert not client.flush(1.0)
            (allow / "st1.key").write_bytes((keys / "st1.key").read_bytes())
            assert rx.reload_allowed() == 1
            assert client.flush(5), "the station was not let in after the reload"
    assert rx.store.count("st1") == 1
