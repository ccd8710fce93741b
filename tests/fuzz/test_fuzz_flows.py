"""Seeded fuzz of flow files: `qcedge flow check` either accepts the file or says why in one line naming
the file, with exit 2; never a traceback or an internal error (exit 3). Hypothesis, derandomize=True.

Cases: the sample flow mutated value by value (wrong types, NaN, huge numbers, long names, screens that
name each other, deep nesting), raw byte flips, truncation and other encodings.
"""
from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcedge.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "flows" / "ris_enter_exams.yaml"
OUTCOMES: Counter = Counter()

HOSTILE = [
    None, "", " ", "\x00", "nan", float("nan"), float("inf"), -1, 0, 10**30, True, [], {}, "x" * 300, "é" * 200,
    "image:" + "a" * 300 + ".png", "image:/", "image:..", "image:nope.png + region:0,0,-5,5", "text:",
    "image:a.png + scales:nan", "image:a.png + threshold:2", "popup", "form", "${nope}", "$${x}", [[[[[]]]]],
    {"all": ["form"]}, {"none": ["popup"]}, {"image": []}, {"image": ["ris/anchors/popup_ok.png", 5]},
    "ctrl+alt+nosuchkey", ["end", "shift+home"], "+", {"for_each": [1], "steps": [{"pause": 0}]},
]


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="fuzz-flows-"))
    shutil.copytree(SAMPLE.parent / "ris", d / "ris")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def check(path: Path, capsys) -> tuple[int, str, str]:
    rc = main(["flow", "check", str(path)])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clean(path: Path, capsys) -> None:
    rc, out, err = check(path, capsys)
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("qcedge flow: "), err
        assert path.name in lines[0], err  # the file is named
        OUTCOMES["refused"] += 1
    else:
        assert out.startswith(f"{path}: flow "), out
        OUTCOMES["accepted"] += 1


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


BASE = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
PATHS = list(_paths(BASE))


def _set(data, path, value):
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


@settings(max_examples=120, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(HOSTILE)), min_size=1, max_size=3))
def test_mutated_values_give_one_line_or_ok(workdir, capsys, edits):
    import copy

    data = copy.deepcopy(BASE)
    for path, value in edits:
        try:
            _set(data, path, copy.deepcopy(value))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit replaced the parent
    f = workdir / "mutated.yaml"
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert_clean(f, capsys)


@settings(max_examples=80, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 7)), min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_flipped_bits_and_truncation_give_one_line_or_ok(workdir, capsys, flips, cut):
    raw = bytearray(SAMPLE.read_bytes())
    for pos, bit in flips:
        raw[pos % len(raw)] ^= 1 << bit
    if cut is not None:
        raw = raw[:cut % len(raw)]
    f = workdir / "flipped.yaml"
    f.write_bytes(bytes(raw))
    assert_clean(f, capsys)


SPECIAL = {
    "latin1": SAMPLE.read_text(encoding="utf-8").replace("RIS", "RÏS").encode("latin-1", "replace"),
    "utf16": SAMPLE.read_text(encoding="utf-8").encode("utf-16"),
    "junk": bytes(range(256)) * 4,
    "deep_list": b"[" * 2000,
    "deep_map": b"a: " + b"{b: " * 1000 + b"1" + b"}" * 1000,
    "for_each_300": ("id: x\nsteps:\n" + "".join("  " * (2 * i + 1) + "- for_each: [1]\n" + "  " * (2 * i + 2)
                                                 + "steps:\n" for i in range(300))
                     + "  " * 601 + "- {pause: 0}\n").encode(),
    "for_each_45": ("id: x\nsteps: " + "[{for_each: [1], steps: " * 45 + "[{pause: 0}]" + "}]" * 45 + "\n").encode(),
    "aliases": b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [".encode() + b", ".join([f"*{chr(97 + i)}".encode()] * 9) + b"]\n"
        for i in range(8)) + b"id: x\nsteps: [{pause: 0}]\nvars: {v: *i}\n",
    "long_image": ("id: x\nsteps:\n  - {expect: \"image:" + "a" * 300 + ".png\", click: \"point:1,1\"}\n").encode(),
    "self_screen": b"id: x\nscreens:\n  p: {all: ['text:a'], none: [p]}\nsteps: [{pause: 0}]\n",
    "mutual_screens": b"id: x\nscreens:\n  a: {all: ['text:a'], none: [b]}\n  b: {all: ['text:b'], none: [a]}\n"
                      b"steps: [{pause: 0}]\n",
    "nan_settings": b"id: x\nsettings: {timeout: .nan, threshold: .nan, poll: .inf}\nsteps: [{pause: 0}]\n",
    "nul": b"id: x\x00\nsteps: [{pause: 0}]\n",
    "empty": b"",
    "a_list": b"- 1\n- 2\n",
    "directory": None,
}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_known_hostile_files_are_refused_in_one_line(workdir, capsys, name):
    f = workdir / f"{name}.yaml"
    if SPECIAL[name] is None:
        f.mkdir(exist_ok=True)
    else:
        f.write_bytes(SPECIAL[name])
    rc, out, err = check(f, capsys)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f.name in lines[0], err
    if name in ("nan_settings",):
        assert "finite number" in lines[0] and "greater than" not in lines[0]
    if name in ("self_screen", "mutual_screens"):
        assert "loop" in lines[0]
    if name in ("latin1", "utf16", "junk"):
        assert "not UTF-8" in lines[0]


def test_both_outcomes_were_seen():
    """The generators reach both answers (run after the fuzz tests in this module)."""
    if not OUTCOMES:
        pytest.skip("run with the fuzz tests above")
    assert OUTCOMES["refused"] > 10 and OUTCOMES["accepted"] > 0, OUTCOMES
