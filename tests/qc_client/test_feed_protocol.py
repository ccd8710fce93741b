import pytest

from qcedge.qc_client.protocol import (PROTOCOL, MessageTooLarge, ProtocolError, decode, encode)


def test_record_message_round_trip_keeps_header_body_and_attachments():
    frames = encode("record", {"station": "st1", "seq": 7, "record_id": "r-7", "template": "ct"},
                    {"a": 1}, [b"\x89PNG..."])
    assert frames[0] == PROTOCOL and frames[1] == b"record"
    msg = decode(frames)
    assert msg.kind == "record" and msg.header["seq"] == 7 and msg.body == {"a": 1}
    assert msg.attachments == [b"\x89PNG..."]


@pytest.mark.parametrize("frames, problem", [
    ([PROTOCOL, b"record", b"{}"], "at least 4 frames"),
    ([b"other/1", b"record", b"{}", b"{}"], "unknown protocol"),
    ([PROTOCOL, b"shout", b"{}", b"{}"], "unknown message kind"),
    ([PROTOCOL, b"heartbeat", b"{not json", b"{}"], "header frame is not JSON"),
    ([PROTOCOL, b"heartbeat", b"\xff\xfe", b"{}"], "not UTF-8"),
    ([PROTOCOL, b"heartbeat", b"[1, 2]", b"{}"], "must be a JSON object"),
    ([PROTOCOL, b"record", b'{"station": "s", "record_id": "r"}', b"{}"], "lacks 'seq'"),
    ([PROTOCOL, b"record", b'{"station": "s", "seq": "1", "record_id": "r"}', b"{}"], "wrong type"),
    ([PROTOCOL, b"record", b'{"station": "s", "seq": 0, "record_id": "r"}', b"{}"], "seq must be >= 1"),
    ([PROTOCOL, b"ack", b'{"record_id": "r", "status": "maybe"}', b"{}"], "ack status"),
    ([PROTOCOL, b"feedback", b'{"record_id": "r"}', b'{"level": "panic", "message": "x"}'], "feedback level"),
])
def test_malformed_messages_raise_clear_errors(frames, problem):
    with pytest.raises(ProtocolError, match=problem):
        decode(frames)


def test_size_limit_is_refused_on_encode_and_on_decode():
    with pytest.raises(MessageTooLarge, match="exceeds the size limit of 1000 bytes"):
        encode("record", {"station": "s", "seq": 1, "record_id": "r"}, {"x": "y" * 2000}, max_bytes=1000)
    frames = encode("record", {"station": "s", "seq": 1, "record_id": "r"}, {"x": "y" * 2000}, max_bytes=None)
    with pytest.raises(MessageTooLarge):
        decode(frames, max_bytes=1000)
    assert decode(frames, max_bytes=10_000).body["x"] == "y" * 2000
