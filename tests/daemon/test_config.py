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
