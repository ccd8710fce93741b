import threading

import pytest

from feedtools import make_record
from qcedge.qc_client.outbox import Outbox
from qcedge.qc_client.protocol import MessageTooLarge


def test_sequence_numbers_stay_monotonic_across_restarts_and_acks(tmp_path):
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as ob:
        seqs = [ob.put(make_record(i)) for i in range(3)]
        assert seqs == [1, 2, 3]
        assert ob.ack_many([make_record(i).id for i in range(3)]) == 3
        assert ob.depth() == 0
    with Outbox(path) as ob:  # a restart: numbers go on, never reused
        assert ob.last_seq("st1") == 3
        assert ob.put(make_record(3)) == 4
        assert ob.put(make_record(0, station="st2")) == 1  # per station


def test_put_is_committed_and_visible_to_another_connection(tmp_path):
    path = tmp_path / "outbox.sqlite"
    ob = Outbox(path)
    rec = make_record(1, CTDIvol=12.5)
    ob.put(rec, attachments=[b"crop-bytes"])
    other = Outbox(path)  # e.g. the process after a crash
    item = other.get(rec.id)
    assert item is not None and item.seq == 1 and item.attachments == [b"crop-bytes"]
    assert item.header["template"] == "ct-dose"
    assert '"CTDIvol"' in item.body
    assert ob.put(rec) == 1, "putting the same record again gives its number, not a second row"
    assert other.depth() == 1
    ob.close()
    other.close()


def test_due_backoff_ack_and_reject(tmp_path):
    with Outbox(tmp_path / "o.sqlite") as ob:
        ids = [make_record(i).id for i in range(4)]
        for i in range(4):
            ob.put(make_record(i))
        due = ob.due(limit=10, now=100.0)
        assert [d.seq for d in due] == [1, 2, 3, 4]
        ob.mark_sent([(ids[0], 105.0), (ids[1], 110.0)], sent_at=100.0)
        assert [d.seq for d in ob.due(now=101.0)] == [3, 4]
        assert [d.seq for d in ob.due(now=106.0)] == [3, 4, 1]  # never sent first, then backoff ran out
        listed = {p.record_id: p for p in ob.pending()}
        assert listed[ids[1]].attempts == 1 and listed[ids[1]].next_attempt == 110.0
        assert ob.ack(ids[0]) and not ob.ack(ids[0])
        assert ob.reject(ids[2], "bad record")
        assert ob.depth() == 2 and [r.error for r in ob.rejected()] == ["bad record"]
        assert all(d.record_id != ids[2] for d in ob.due(now=1e12))
        ob.reschedule_all(0)
        assert [d.seq for d in ob.due(now=1.0)] == [2, 4]


def test_too_large_record_is_refused_before_commit(tmp_path):
    with Outbox(tmp_path / "o.sqlite", max_bytes=4096) as ob:
        with pytest.raises(MessageTooLarge, match="size limit of 4096"):
            ob.put(make_record(1, note="x" * 5000))
        assert ob.depth() == 0 and ob.last_seq("st1") == 0


def test_two_threads_putting_and_acking_at_once(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite", synchronous="NORMAL")
    errors: list[Exception] = []

    def producer(offset: int) -> None:
        try:
            for i in range(100):
                ob.put(make_record(offset + i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def acker() -> None:
        try:
            for _ in range(50):
                ob.ack_many([d.record_id for d in ob.due(limit=5)])
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=producer, args=(0,)), threading.Thread(target=producer, args=(1000,)),
               threading.Thread(target=acker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ob.last_seq("st1") == 200
    seqs = [p.seq for p in ob.pending()]
    assert len(seqs) == len(set(seqs)) == ob.depth()
    ob.close()


def test_put_many_is_one_all_or_nothing_commit(tmp_path):
    with Outbox(tmp_path / "o.sqlite", max_bytes=4096) as ob:
        assert ob.put_many([make_record(i) for i in range(5)]) == [1, 2, 3, 4, 5]
        with pytest.raises(MessageTooLarge):
            ob.put_many([make_record(10), make_record(11, note="x" * 5000)])
        assert ob.depth() == 5 and ob.last_seq("st1") == 5
        assert ob.put_many([make_record(4), (make_record(20), [b"att"])]) == [5, 6]
        assert ob.get(make_record(20).id).attachments == [b"att"]
