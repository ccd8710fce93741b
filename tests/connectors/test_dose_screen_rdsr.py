"""End to end, as a dose reporting station: a generated CT dose screen -> real OCR with the
sample template -> CT Radiation Dose SR -> C-STORE to dcmtk's storescp. Every dose value in the
SR must equal the screen's ground truth; whatever the OCR could not vouch for must show as
review (PARTIAL with --allow-review; refused without), never as a clean value."""
from __future__ import annotations

import json
import subprocess

import pydicom
import pytest

from connectors.dicom_files import read_dicom
from qcedge.cli import main

TEMPLATE = "samples/templates/ct_dose_report.yaml"


@pytest.mark.slow
def test_dose_screen_becomes_a_valid_rdsr_with_the_true_values(samples_dir, storescp, capsys):
    manifest = json.loads((samples_dir / "manifest.json").read_text())
    frame = next(f for f in manifest["frames"] if f["kind"] == "ct_dose" and f["variant"] == "clean")
    image = samples_dir / frame["path"]
    dest, received = storescp

    capsys.readouterr()
    code = main(["dicom", "rdsr", "--template", TEMPLATE, str(image), "--allow-review",
                 "--send", f"DEST@127.0.0.1:{dest.port}", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["sent"] is True

    files = list(received.iterdir())
    assert len(files) == 1
    check = subprocess.run(["dciodvfy", str(files[0])], capture_output=True, text=True, timeout=30)
    assert not [l for l in (check.stdout + check.stderr).splitlines() if l.startswith("Error")]

    rec = read_dicom(files[0], "central", "site", parsers=[]).record
    truth = frame["tables"]["series"]
    got = rec.fields["series"].value
    assert len(got) == len(truth)
    for row, want in zip(got, truth):
        assert row["kv"] == float(want["kv"])
        assert row["mas"] == pytest.approx(float(want["mas"]))
        assert row["ctdivol"] == pytest.approx(float(want["ctdivol"]))
        assert row["dlp"] == pytest.approx(float(want["dlp"]))
        assert row["phantom"] == {"16": "head 16 cm", "32": "body 32 cm"}[want["phantom"]]
    assert rec.fields["total_dlp"].value == pytest.approx(float(frame["fields"]["total_dlp"]))
    assert rec.fields["patient_id"].value == frame["fields"]["patient_id"]

    sr = pydicom.dcmread(files[0])
    comment = next(i.TextValue for i in sr.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121106")
    # what the OCR could not vouch for is said (without --allow-review nothing would be sent: test_rdsr.py)
    if summary["record_status"] == "needs_review":
        assert sr.CompletionFlag == "PARTIAL" and comment.startswith("NEEDS REVIEW")
    else:
        assert sr.CompletionFlag == "COMPLETE" and "NEEDS REVIEW" not in comment
