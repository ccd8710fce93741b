"""Seeded fuzz of template files: loading either gives a template or a TemplateError naming the file, and the
CLI (`qcedge ocr`, `qcedge match --templates`) says why in one line with exit 2 — never a traceback or an
internal error (exit 3). Hypothesis, derandomize=True.

Cases: the sample template mutated value by value (wrong types, NaN and infinity, min above max, huge numbers,
long and multi-line names), raw byte flips, truncation, other encodings, deep nesting and alias bombs.
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

from qcedge.ocr_templates import TemplateError, load_template, load_templates
from qcedge.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "templates" / "dr_exposure_panel.yaml"
OUTCOMES: Counter = Counter()

HOSTILE = [None, "", "\x00", float("nan"), float("inf"), -1, 0, 10**30, True, [], {}, "x" * 300, "名\n字",
           [[[[[[]]]]]], {"x": 1}, [1, 2, 3], [0, 0, 0, 0], [1, 2, -3, 4], "0.9", 1e308]
KEYS = ["id", "version", "match", "anchors", "fields", "identity", "confidence_floor", "reference"]


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="fuzz-templates-"))
    shutil.copy(SAMPLE.with_suffix(".png"), d / SAMPLE.with_suffix(".png").name)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _load(path: Path) -> str:
    try:
        load_template(path)
        return "ok"
    except TemplateError as exc:
        message = str(exc)
        assert str(path) in message, message
        return "refused"


def _mutate(data: dict, draw_key: str, sub: int, value) -> dict:
    if draw_key in ("match", "reference") and isinstance(data.get(draw_key), dict):
        keys = sorted(data[draw_key])
        data[draw_key][keys[sub % len(keys)]] = value
    elif draw_key in ("anchors", "fields") and data.get(draw_key):
        item = data[draw_key][sub % len(data[draw_key])]
        keys = sorted(item)
        item[keys[(sub // 7) % len(keys)]] = value
    else:
        data[draw_key] = value
    return data


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.sampled_from(KEYS), sub=st.integers(0, 50), value=st.sampled_from(HOSTILE))
def test_mutated_values_load_or_are_refused_with_the_file_named(workdir, key, sub, value):
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    path = workdir / "dr_exposure_panel.yaml"
    path.write_text(yaml.safe_dump(_mutate(data, key, sub, value), allow_unicode=True), encoding="utf-8")
    OUTCOMES[_load(path)] += 1


@settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(pos=st.integers(0, 10**6), byte=st.integers(0, 255), cut=st.booleans(), enc=st.sampled_from(
    ["utf-8", "latin-1", "utf-16", "gb18030"]))
def test_damaged_bytes_load_or_are_refused(workdir, pos, byte, cut, enc):
    text = SAMPLE.read_text(encoding="utf-8")
    raw = bytearray(text.encode(enc, errors="replace"))
    p = pos % len(raw)
    if cut:
        raw = raw[:p]
    else:
        raw[p] = byte
    path = workdir / "dr_exposure_panel.yaml"
    path.write_bytes(bytes(raw))
    OUTCOMES[_load(path)] += 1


@pytest.mark.parametrize("text", [
    "[" * 3000, "{a: " * 2000, "a: &a [1, 2]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b]\n",
    "- " * 5000 + "x", "\ufeffid: x\n", "id: [unclosed\n", "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
])
def test_hostile_yaml_is_refused_in_one_line(workdir, text, capsys):
    path = workdir / "hostile.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert _load(path) == "refused"
    img = workdir / "dr_exposure_panel.png"
    code = main(["ocr", "--template", str(path), str(img)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "hostile.yaml" in err, err


def test_a_pack_with_two_templates_of_one_id_is_refused(workdir, tmp_path):
    for name in ("a.yaml", "b.yaml"):
        shutil.copy(SAMPLE, tmp_path / name)
    shutil.copy(SAMPLE.with_suffix(".png"), tmp_path / SAMPLE.with_suffix(".png").name)
    with pytest.raises(TemplateError, match="used by a.yaml too"):
        load_templates(tmp_path)


@pytest.mark.parametrize("change, words", [
    ({"match": {"min_scale": 1.5, "max_scale": 0.8}}, "min_scale 1.5 is above max_scale 0.8"),
    ({"match": {"threshold": float("nan")}}, "finite number"),
    ({"confidence_floor": float("inf")}, "finite number"),
])
def test_impossible_settings_are_refused(workdir, change, words):
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data.update(change)
    path = workdir / "dr_exposure_panel.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TemplateError, match=words):
        load_template(path)


def test_both_outcomes_occurred():
    """The fuzz is not vacuous: some mutations load, some are refused."""
    assert OUTCOMES["ok"] > 0 and OUTCOMES["refused"] > 0, OUTCOMES
