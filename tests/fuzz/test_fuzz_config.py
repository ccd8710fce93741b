"""Seeded fuzz of station configs: `qcedge run --check` either accepts the file or says why in one
line with exit 2; never a traceback or an internal error (exit 3). Hypothesis, derandomize=True.

Cases: a valid config mutated key by key (wrong types, NUL, nesting, huge numbers, lone
surrogates by escape, paths that are folders or missing), raw byte flips and other encodings.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcedge.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "templates"
OUTCOMES: Counter = Counter()

GOOD = {
    "station": {"id": "st-1", "site": "site-1"},
    "source": {"kind": "file", "path": "rec.mp4"},
    "templates": {"folder": "templates"},
    "feed": {"endpoint": "tcp://127.0.0.1:5555", "outbox": "var/outbox.sqlite"},
    "status": {"file": "var/status.json"},
    "logging": {"level": "INFO"},
}
KEYS = [(s, k) for s, table in GOOD.items() for k in table] + [
    ("detection", "fps"), ("detection", "settle_frames"), ("logging", "file"), ("privacy", "default"),
    ("privacy", "secret_file"), ("unknown", "save_folder"), ("unknown", "max_saved"), ("status", "interval"),
    ("feed", "server_key"), ("station", "colour")]

# TOML value texts, some of them hostile
values = st.one_of(
    st.sampled_from(['""', '"\\u0000x"', '"a\\u0000"', "nan", "inf", "-1", "0", "1e400", "99999999999999999999",
                     "true", "[]", "{}", '"."', '".."', '"/"', '"rec.mp4"', '"templates"', '"var"', '"rec.mp4/x"',
                     '"/proc/version"', '"nope/../nope"', '"' + "x" * 300 + '"', '"' + "é" * 200 + '"',
                     "[" * 50 + "]" * 50, "{a = " * 40 + "1" + "}" * 40, '"tcp://h:1"', '"ipc:///tmp/x"']),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20).map(
        lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'),
)


def render(config: dict) -> str:
    out = []
    for section, table in config.items():
        out.append(f"[{section}]")
        out.extend(f"{key} = {value}" for key, value in table.items())
    return "\n".join(out) + "\n"


def quoted(config: dict) -> dict:
    return {s: {k: f'"{v}"' for k, v in t.items()} for s, t in config.items()}


@st.composite
def configs(draw) -> bytes:
    cfg = quoted(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        section, key = draw(st.sampled_from(KEYS))
        if draw(st.integers(0, 5)) == 0:
            cfg.get(section, {}).pop(key, None)
        else:
            cfg.setdefault(section, {})[key] = draw(values)
    raw = render(cfg).encode("utf-8")
    how = draw(st.integers(0, 9))
    if how == 0:  # flip a few bytes
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        raw = bytes(data)
    elif how == 1:
        raw = render(cfg).encode(draw(st.sampled_from(["utf-16", "latin-1", "gb18030"])), errors="replace") + \
            "# é 中\n".encode(draw(st.sampled_from(["latin-1", "gb18030"])), errors="replace")
    elif how == 2:
        raw = draw(st.binary(max_size=200))
    return raw


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        (base / "rec.mp4").write_bytes(b"not a video")
        (base / "templates").mkdir()
        for name in ("ct_dose_report.yaml", "ct_dose_report.png"):
            shutil.copy(SAMPLE / name, base / "templates" / name)
        (base / "var").mkdir()
        yield base
    # the seeded cases reach both outcomes (a fuzz that never accepts checks nothing of the valid path)
    assert OUTCOMES[0] >= 5 and OUTCOMES[2] >= 50, OUTCOMES


@settings(derandomize=True, max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=configs())
def test_station_configs_are_accepted_or_refused_in_one_line(folder, capsys, raw):
    cfg = folder / "station.toml"
    cfg.write_bytes(raw)
    before = set(os.listdir(folder))
    rc = main(["run", "--config", str(cfg), "--check"])
    out, err = capsys.readouterr()
    assert rc in (0, 2), err
    OUTCOMES[rc] += 1
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("qcedge run: "), err
        assert "Traceback" not in err and "internal error" not in err
    else:
        assert "OK" in out and not err.strip()
    assert set(os.listdir(folder)) == before, "--check created files"
