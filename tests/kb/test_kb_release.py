"""Releases: built and signed at central, verified and validated as a station does; every kind of bad
release is refused with a reason a person can act on."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from qcedge.central.kb import build_release, generate_signing_key
from kbtools import rewrite_bundle
from qcedge.qc_client.kb import KbError, ReleaseStore, load_public_key
from qcedge.cli import main
from qcedge.kb import validate_release


def _build(source, keys, out, version=1, **kw):
    return build_release(source, out, keys[0], version=version, who="tester", **kw)


def _check(bundle: Path, public: Path, tmp: Path):
    """What a station does with a fetched bundle: stage (unpack + verify), then validate."""
    store = ReleaseStore(tmp / "station")
    manifest, staging = store.stage(bundle, load_public_key(public))
    validate_release(staging, manifest)
    return manifest


def test_build_verify_and_cli(tmp_path, keys, source, capsys):
    out = tmp_path / "kb-3.tar"
    assert main(["kb", "build", str(source), "--key", str(keys[0]), "--version", "3", "--who", "qa",
                 "--target", "site=north-*", "--out", str(out)]) == 0
    assert main(["kb", "verify", str(out), "--public-key", str(keys[1])]) == 0
    assert "release 3" in capsys.readouterr().out
    m = _check(out, keys[1], tmp_path)
    assert m.version == 3 and m.who == "qa" and m.targets == {"sites": ["north-*"]}
    assert "rules.yaml" in m.files and "templates/ct_dose_report.png" in m.files
    assert m.targets_station("ct-1", "north-2") and not m.targets_station("ct-1", "south")


def test_kb_cli_says_what_is_wrong_in_one_line_with_exit_2(tmp_path, keys, source, capsys):
    """Our errors (KbError) reach the command line as they are: one line, bad input."""
    central = tmp_path / "central-kb"
    central.mkdir()
    assert main(["kb", "rollback", "--kb", str(central)]) == 2
    assert "nothing published yet" in capsys.readouterr().err
    good = _build(source, keys, tmp_path / "kb-1.tar")
    bad = rewrite_bundle(good, tmp_path / "bad.tar", lambda name, data: None if name == "manifest.sig" else data)
    assert main(["kb", "verify", str(bad), "--public-key", str(keys[1])]) == 2
    err = capsys.readouterr().err
    assert "refused: release is unsigned" in err and err.count("\n") == 1
    assert main(["kb", "keys", str(keys[0].parent)]) == 2  # a signing key is there already
    assert "exists" in capsys.readouterr().err


def test_signing_key_is_owner_only(tmp_path, keys, source, capsys):
    assert keys[0].stat().st_mode & 0o777 == 0o600
    assert keys[0].parent.stat().st_mode & 0o777 == 0o700
    os.chmod(keys[0], 0o644)
    assert main(["kb", "build", str(source), "--key", str(keys[0]), "--version", "1",
                 "--out", str(tmp_path / "x.tar")]) == 2
    assert "readable by others" in capsys.readouterr().err
    assert not (tmp_path / "x.tar").exists()


@pytest.mark.parametrize("case,reason", [
    ("changed_byte", "does not match its SHA-256"),
    ("missing_file", "is missing"),
    ("extra_file", "not listed in the manifest"),
    ("unsigned", "unsigned"),
    ("manifest_edited", "signature does not verify"),
    ("truncated", "not a readable bundle"),
    ("escape", "unsafe file name"),
])
def test_tampered_bundles_are_refused(tmp_path, keys, source, case, reason):
    good = _build(source, keys, tmp_path / "good.tar")
    bad = tmp_path / "bad.tar"
    if case == "truncated":
        bad.write_bytes(good.read_bytes()[:5000])
    else:
        def change(name, data):
            if case == "changed_byte" and name == "rules.yaml":
                return data[:10] + bytes([data[10] ^ 1]) + data[11:]
            if case == "missing_file" and name == "templates/dr_exposure_panel.png":
                return None
            if case == "unsigned" and name == "manifest.sig":
                return None
            if case == "manifest_edited" and name == "manifest.json":
                return data.replace(b'"who": "tester"', b'"who": "mallory"')
            return data
        rewrite_bundle(good, bad, change)
        if case == "extra_file":
            import io, tarfile
            with tarfile.open(bad, "a") as t:
                info = tarfile.TarInfo("templates/evil.yaml"); info.size = 3
                t.addfile(info, io.BytesIO(b"x: 1"[:3]))
        if case == "escape":
            import io, tarfile
            with tarfile.open(bad, "a") as t:
                info = tarfile.TarInfo("../outside.txt"); info.size = 2
                t.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(KbError, match=reason):
        _check(bad, keys[1], tmp_path)
    assert not (tmp_path / "outside.txt").exists()
    assert not list((tmp_path / "station" / "releases").iterdir())  # nothing staged is kept


def test_wrong_key_is_refused(tmp_path, keys, source):
    other = generate_signing_key(tmp_path / "other")
    bundle = build_release(source, tmp_path / "b.tar", other[0], version=1, who="mallory")
    with pytest.raises(KbError, match="signature does not verify"):
        _check(bundle, keys[1], tmp_path)


def test_template_that_no_longer_matches_its_reference(tmp_path, keys, source, capsys):
    # the CT template's reference replaced by the DR panel's picture: signed fine, but it cannot read that console
    shutil.copyfile(source / "templates" / "dr_exposure_panel.png", source / "templates" / "ct_dose_report.png")
    assert main(["kb", "build", str(source), "--key", str(keys[0]), "--version", "2",
                 "--out", str(tmp_path / "refused.tar")]) == 2
    assert "ct_dose_report" in capsys.readouterr().err
    bundle = _build(source, keys, tmp_path / "b.tar", version=2)  # built without the check
    with pytest.raises(KbError, match="ct_dose_report"):
        _check(bundle, keys[1], tmp_path)


def test_rules_that_do_not_parse_are_refused_at_build(tmp_path, keys, source):
    (source / "rules.yaml").write_text("schema: qcedge.rules/1\nnational: {oops: 1}\n", encoding="utf-8")
    with pytest.raises(KbError):
        _build(source, keys, tmp_path / "b.tar")
