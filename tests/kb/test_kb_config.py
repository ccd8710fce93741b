"""[kb] in the station config, and [feed] endpoint as one, a list, or a comma-separated string."""
from __future__ import annotations


import pytest

from qcedge.config import ConfigError, parse_config


def _data(endpoint, kb=None):
    data = {"station": {"id": "ct-1", "site": "north"}, "source": {"kind": "screen"},
            "templates": {"folder": "tpl"}, "feed": {"endpoint": endpoint, "outbox": "var/outbox.sqlite"},
            "status": {"file": "var/status.json"}}
    if kb is not None:
        data["kb"] = kb
    return data


@pytest.mark.parametrize("endpoint,expected", [
    ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"),
    (["tcp://a:1", "tcp://b:2"], "tcp://a:1,tcp://b:2"),
    ("tcp://a:1, tcp://b:2", "tcp://a:1,tcp://b:2"),
])
def test_feed_endpoints(tmp_path, endpoint, expected):
    cfg = parse_config(_data(endpoint), base=tmp_path, check_secret=False)
    assert cfg.feed.endpoint == expected
    from qcedge.qc_client.client import endpoint_list
    assert endpoint_list(cfg.feed.endpoint) == expected.split(",")


@pytest.mark.parametrize("endpoint", ["", [], ["tcp://a:1", "http://b"], "tcp://a:1,,tcp://b:2", [1], "tcp://a"])
def test_bad_feed_endpoints_name_the_problem(tmp_path, endpoint):
    with pytest.raises(ConfigError, match="endpoint"):
        parse_config(_data(endpoint), base=tmp_path, check_secret=False)


def test_kb_section_paths_resolve(tmp_path):
    cfg = parse_config(_data("tcp://a:1", {"public_key": "keys/kb.pub", "folder": "var/kb"}), base=tmp_path,
                       check_secret=False)
    assert cfg.kb.public_key == tmp_path / "keys" / "kb.pub" and cfg.kb.folder == tmp_path / "var" / "kb"
    assert parse_config(_data("tcp://a:1"), base=tmp_path, check_secret=False).kb is None
    with pytest.raises(ConfigError, match="kb"):
        parse_config(_data("tcp://a:1", {"folder": "x"}), base=tmp_path, check_secret=False)
