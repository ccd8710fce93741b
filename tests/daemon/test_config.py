"""Station config: the sample loads; malformed configs give one clear line naming the key and a non-zero exit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qcedge.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "stations" / "demo.toml"

GOOD = """
[station]
id = "st-1"
site = "site-1"
[source]
kind = "file"
path = "rec.mp4"
[templates]
folder = "templates"
[feed]
endpoint = "tcp://127.0.0.1:5555"
outbox = "var/outbox.sqlite"
[status]
file = "var/status.json"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "station.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_sample_config_loads_and_resolves_paths(monkeypatch):
    monkeypatch.setenv("QCEDGE_SITE_SECRET", "s3cret-for-test")
    cfg = load_config(DEMO)
    assert cfg.station.id and cfg.station.site
    assert cfg.templates.folder == (DEMO.parent / "../templates").resolve() or cfg.templates.folder.is_absolute()
    assert cfg.feed.outbox.is_absolute()
    assert cfg.privacy.policy_for("patient_id") == "hash"
    assert cfg.privacy.policy_for("some_other_personal_field") == "drop"


def test_minimal_config_defaults(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.detection.fps == 5
    assert cfg.templates.folder == tmp_path / "templates"
    assert cfg.privacy.default == "drop"
    assert cfg.logging.json_lines is True


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: s.replace('[station]\nid = "st-1"\n', "[station]\n"), "[station] id: missing"),
    (lambda s: s.replace('endpoint = "tcp://127.0.0.1:5555"', 'endpoint = "127.0.0.1"'), "[feed] endpoint"),
    (lambda s: s + "[detection]\nfps = -1\n", "[detection] fps"),
    (lambda s: s + "[privacy]\ndefault = \"hash\"\n", "[privacy]: policy 'hash' needs a site secret"),
    (lambda s: s + "[privacy.fields]\npatient_id = \"encrypt\"\n", "[privacy] fields.patient_id"),
    (lambda s: s + "[logging]\ncolour = true\n", "[logging] colour: unknown key"),
    (lambda s: s + "[privacy]\ndefault = \"hash\"\nsecret_env = \"QCEDGE_TEST_UNSET_VAR\"\n", "QCEDGE_TEST_UNSET_VAR is not set"),
    (lambda s: s.replace("[status]", "[status\n"), "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path, monkeypatch, mutate, expected):
    monkeypatch.delenv("QCEDGE_TEST_UNSET_VAR", raising=False)
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, mutate(GOOD)))
    assert expected in str(err.value)
    assert "Traceback" not in str(err.value)


def test_cli_rejects_malformed_config_with_one_clear_line(tmp_path):
    bad = write(tmp_path, GOOD.replace('[station]\nid = "st-1"\n', "[station]\n").replace("fps", "x") + "[feed2]\na = 1\n")
    proc = subprocess.run([sys.executable, "-m", "qcedge", "run", "--config", str(bad)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "[station] id: missing (required)" in proc.stderr
    assert "feed2" in proc.stderr
    missing = subprocess.run([sys.executable, "-m", "qcedge", "run", "--config", str(tmp_path / "nope.toml")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "cannot read the config" in missing.stderr and "Traceback" not in missing.stderr


def run_cli(*argv: str, capsys) -> tuple[int, str]:
    from qcedge.cli import main

    rc = main(list(argv))
    err = capsys.readouterr().err
    return rc, err


def with_source(tmp_path: Path, text: str = GOOD) -> str:
    (tmp_path / "rec.mp4").write_bytes(b"not really a video")
    (tmp_path / "templates").mkdir(exist_ok=True)
    return text


@pytest.mark.parametrize("mutate, expected", [
    (lambda s, d: s + f'[logging]\nfile = "{d}"\n', "[logging] file: {d} is a folder, not a file"),
    (lambda s, d: s + '[logging]\nfile = "log\\u0000.txt"\n', "[logging] file: holds a NUL character"),
    (lambda s, d: s.replace('path = "rec.mp4"', 'path = "missing.mp4"'), "[source] path: {d}/missing.mp4 does not exist"),
    (lambda s, d: s.replace('path = "rec.mp4"', f'path = "{d}"'), "[source] path: {d} is not a file"),
    (lambda s, d: s.replace('file = "var/status.json"', 'file = "rec.mp4/status.json"'),
     "[status] file: cannot create {d}/rec.mp4/status.json: {d}/rec.mp4 is not a folder"),
    (lambda s, d: s.replace('outbox = "var/outbox.sqlite"', 'outbox = "rec.mp4/sub/outbox.sqlite"'),
     "[feed] outbox: cannot create {d}/rec.mp4/sub/outbox.sqlite: {d}/rec.mp4 is not a folder"),
    (lambda s, d: s.replace('outbox = "var/outbox.sqlite"', f'outbox = "{d}"'), "[feed] outbox: {d} is a folder"),
])
@pytest.mark.parametrize("check", [True, False])
def test_paths_the_daemon_cannot_use_stop_it_with_one_line_naming_the_key(tmp_path, capsys, mutate, expected, check):
    cfg = write(tmp_path, mutate(with_source(tmp_path), tmp_path))
    rc, err = run_cli("run", "--config", str(cfg), *(["--check"] if check else []), capsys=capsys)
    assert rc == 2, err
    assert expected.format(d=tmp_path) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("raw, expected", [
    (GOOD.encode("latin-1") + "# Müller\n".encode("latin-1"), "not UTF-8 text"),
    (GOOD.encode("utf-16"), "not UTF-8 text"),
    (GOOD.encode() + b"x = " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested too deeply"),
    (GOOD.encode() + b"[source.opts]\n" + b"a." * 40 + b"b = 1\n", "nested deeper than 16 levels"),
    (GOOD.encode() + b"x = " + b"{a = " * 500 + b"1" + b"}" * 500 + b"\n", "nested too deeply"),
])
def test_a_config_that_is_not_utf8_or_nested_too_deeply_gets_one_line_naming_the_file(tmp_path, capsys, raw, expected):
    cfg = tmp_path / "station.toml"
    cfg.write_bytes(raw)
    rc, err = run_cli("run", "--config", str(cfg), "--check", capsys=capsys)
    assert rc == 2 and f"{cfg}: " in err and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_station_with_a_writable_status_file_has_one_before_the_daemon_runs(tmp_path):
    from qcedge.commands.run import write_starting_status
    from qcedge.health import read_status

    cfg = load_config(write(tmp_path, GOOD))
    write_starting_status(cfg, cfg.path)
    assert read_status(cfg.status.file)["state"] == "starting"
