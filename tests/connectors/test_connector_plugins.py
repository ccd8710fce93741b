"""Vendor parsers through the real entry-point mechanism: the sample plugin in samples/plugin is
installed as a distribution (a dist-info built from its own pyproject.toml) on a path of its own."""
from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from conn_helpers import ROOT, run_cli
from qcedge.connectors import plugins
from qcedge.connectors.dicom_files import read_dicom
from qcedge.connectors.errors import UnknownSopClassError

PLUGIN = ROOT / "samples" / "plugin"


def install_dist(target: Path, name: str, version: str, entry_points: dict[str, dict[str, str]],
                 packages: list[Path] = ()) -> Path:
    """Install like pip does for a pure-Python wheel: packages plus a .dist-info with entry_points.txt."""
    target.mkdir(parents=True, exist_ok=True)
    for package in packages:
        shutil.copytree(package, target / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (info / "RECORD").write_text("")
    return target


@pytest.fixture
def acme_site(tmp_path) -> Path:
    """The sample plugin, installed from what its pyproject.toml declares."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    return install_dist(tmp_path / "site", project["name"], project["version"], project["entry-points"],
                        [PLUGIN / p for p in tomllib.loads((PLUGIN / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]])


@pytest.fixture
def acme_file(tmp_path, acme_site) -> Path:
    sys.path.insert(0, str(acme_site))
    try:
        from qcedge_acme_dose.example import example_dataset

        path = tmp_path / "acme_dose.dcm"
        example_dataset().save_as(path, enforce_file_format=True)
    finally:
        sys.path.remove(str(acme_site))
        for mod in [m for m in sys.modules if m.startswith("qcedge_acme_dose")]:
            del sys.modules[mod]
    return path


@pytest.fixture
def plugin_path(monkeypatch, acme_site):
    monkeypatch.syspath_prepend(str(acme_site))
    plugins.load_plugins(refresh=True)
    yield acme_site
    monkeypatch.undo()
    for mod in [m for m in sys.modules if m.startswith("qcedge_acme_dose")]:
        del sys.modules[mod]
    plugins.load_plugins(refresh=True)


def test_without_the_plugin_the_vendor_object_is_unknown(acme_file):
    plugins.load_plugins(refresh=True)
    with pytest.raises(UnknownSopClassError, match="no plugin accepts it"):
        read_dicom(acme_file, "st", "site")


def test_entry_point_plugin_parses_the_vendor_object(plugin_path, acme_file):
    loaded = plugins.load_plugins()
    acme = [p for p in loaded if p.name == "acme_dose"]
    assert len(acme) == 1 and acme[0].error is None and acme[0].is_dicom_parser
    assert (acme[0].distribution, acme[0].version) == ("qcedge-acme-dose", "0.1.0")
    reading = read_dicom(acme_file, "st", "site")
    rec = reading.record
    assert reading.plugins == ["acme_dose"] and rec.modality == "CT"
    assert rec.fields["total_dlp"].value == 412.6
    assert [(r["protocol"], r["kv"], r["mas"], r["ctdivol"], r["dlp"], r["phantom"]) for r in rec.fields["series"].value] == [
        ("Scout", 120.0, 20.0, 0.1, 2.6, "32"), ("Abdomen routine", 100.0, 180.0, 9.8, 410.0, "32")]
    assert rec.fields["manufacturer"].value == "ACME Medical"  # the kit's header fields are still there


def test_a_record_from_the_plugin_feeds_the_rdsr_builder(plugin_path, acme_file):
    from qcedge.connectors.rdsr import build_ct_rdsr

    rec = read_dicom(acme_file, "st", "site").record
    ds = build_ct_rdsr(rec)
    assert len([i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113819"]) == 2


def test_cli_lists_and_uses_the_plugin_and_survives_a_broken_one(tmp_path, acme_site, acme_file):
    broken = install_dist(tmp_path / "broken", "qcedge-broken", "9.9",
                          {"qcedge.connectors": {"broken": "qcedge_module_that_is_not_there:Parser"}})
    env = {"PYTHONPATH": f"{acme_site}:{broken}"}
    listed = run_cli("dicom", "plugins", env=dict(env))
    assert listed.returncode == 1
    assert "acme_dose: qcedge_acme_dose:AcmeDoseParser (qcedge-acme-dose 0.1.0) DICOM parser" in listed.stdout
    assert "broken: qcedge_module_that_is_not_there:Parser (qcedge-broken 9.9) FAILED TO LOAD: ModuleNotFoundError" in listed.stdout
    read = run_cli("dicom", "read", str(acme_file), env=dict(env))
    assert read.returncode == 0, read.stderr
    assert "total_dlp=412.6" in read.stdout and "protocol=Abdomen routine" in read.stdout
    assert "failed to load" in read.stderr  # logged, not fatal
