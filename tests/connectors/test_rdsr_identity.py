"""The RDSR as a PACS and a dose registry see it: one exam, one report (UIDs from the record's
identity); the CT as device observer; an end of irradiation that is not silently the start;
refusals that say why; what IHE REM asks for, filled where the screen or worklist has it."""
from __future__ import annotations

import json
import subprocess

import pydicom
import pytest

from conn_helpers import ct_dose_record, fv, run_cli, write_worklist_item
from qcedge.connectors.errors import RdsrError
from qcedge.connectors.rdsr import DeviceObserver, StudyContext, age_at, build_ct_rdsr, same_person_name, write_rdsr


def items(ds) -> dict[str, object]:
    """Top-level content items by concept meaning -> their value."""
    out = {}
    for item in ds.ContentSequence:
        meaning = item.ConceptNameCodeSequence[0].CodeMeaning
        for key in ("TextValue", "UID", "DateTime"):
            if key in item:
                out[meaning] = str(item.get(key))
        if "ConceptCodeSequence" in item:
            out[meaning] = item.ConceptCodeSequence[0].CodeMeaning
    return out


def comment(ds) -> str:
    return str(items(ds).get("Comment", ""))


def test_the_same_screen_gives_the_same_uids_another_screen_others():
    a, b = ct_dose_record(), ct_dose_record()
    a.identity = b.identity = "screen-identity-1"
    assert a.id != b.id  # two readings of the same screen
    sa, sb = build_ct_rdsr(a), build_ct_rdsr(b)
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        assert sa.get(keyword) == sb.get(keyword), keyword
    events = lambda ds: [i.UID for i in ds.iterall() if getattr(i, "ValueType", "") == "UIDREF"
                         and i.ConceptNameCodeSequence[0].CodeValue == "113769"]
    assert events(sa) == events(sb)
    c = ct_dose_record()
    c.identity = "screen-identity-2"
    assert build_ct_rdsr(c).SOPInstanceUID != sa.SOPInstanceUID
    # a study UID given (worklist, screen save) wins over the derived one
    given = build_ct_rdsr(a, study=StudyContext(study_instance_uid="1.2.826.0.1.3680043.10.881.1"))
    assert given.StudyInstanceUID == "1.2.826.0.1.3680043.10.881.1" and given.SOPInstanceUID == sa.SOPInstanceUID


def test_device_observer_is_the_ct_from_the_config_not_the_host():
    rec = ct_dose_record()
    ds = build_ct_rdsr(rec, device=DeviceObserver(name="CT-ROOM-2", manufacturer="Vistara", model="CT 128",
                                                  serial="VS128-0042", location="Radiology 2"))
    got = items(ds)
    assert got["Device Observer Name"] == "CT-ROOM-2"
    assert got["Device Observer Manufacturer"] == "Vistara" and got["Device Observer Model Name"] == "CT 128"
    assert got["Device Observer Serial Number"] == "VS128-0042"
    assert "not known" not in comment(ds)
    bare = build_ct_rdsr(rec)
    assert items(bare)["Device Observer Name"] == rec.station  # the station id, not socket.gethostname()
    assert "Device observer manufacturer and model not known (set them in the station config)" in comment(bare)
    assert items(bare)["Device Observer UID"] != got["Device Observer UID"]


def test_end_of_irradiation_from_the_screen_or_said_to_be_assumed():
    rec = ct_dose_record()
    ds = build_ct_rdsr(rec)
    got = items(ds)
    assert got["End of X-Ray Irradiation"] == got["Start of X-Ray Irradiation"]
    assert "End of irradiation not shown on the screen: set to the start" in comment(ds)
    rec.fields["exam_end"] = fv("09:52:30")
    ds = build_ct_rdsr(rec)
    assert items(ds)["End of X-Ray Irradiation"].startswith("20261127095230")
    assert "End of irradiation" not in comment(ds)


def test_a_refusal_names_every_reason():
    rec = ct_dose_record()
    rec.fields["operator"] = fv("J?hn", valid=False, reasons=["confidence 0.35 under floor 0.8"])
    rec.status = "needs_review"
    with pytest.raises(RdsrError) as err:
        build_ct_rdsr(rec)
    assert "operator: confidence 0.35 under floor 0.8" in str(err.value)
    assert "record marked needs_review" not in str(err.value)
    with pytest.raises(RdsrError, match="the patient name on the screen differs"):
        build_ct_rdsr(ct_dose_record(), flags=["the patient name on the screen differs from the worklist's"])
    partial = build_ct_rdsr(ct_dose_record(), flags=["the patient name on the screen differs"], allow_review=True)
    assert partial.CompletionFlag == "PARTIAL" and comment(partial).startswith("NEEDS REVIEW: the patient name")


def ihe_rem_errors(path) -> list[str]:
    out = subprocess.run(["dciodvfy", "-profile", "IHEREM", str(path)], capture_output=True, text=True, timeout=30)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def test_ihe_rem_profile_fields_filled_where_known(tmp_path):
    bare = ihe_rem_errors(write_rdsr(build_ct_rdsr(ct_dose_record()), tmp_path / "bare.dcm"))
    assert any("PatientWeight" in e for e in bare) and any("PatientAge" in e for e in bare)
    study = StudyContext(patient_birth_date="19600101", patient_sex="M", patient_weight=72.5, patient_size=1.78,
                         admitting_diagnoses="Suspected pneumonia",
                         admitting_codes=[("233604007", "SCT", "Pneumonia")],
                         procedure_codes=[("77477000", "SCT", "Computed Tomography X-Ray")])
    ds = build_ct_rdsr(ct_dose_record(), study=study)
    assert ds.PatientAge == "066Y" and ds.PatientWeight == 72.5 and ds.PatientSize == 1.78
    errors = ihe_rem_errors(write_rdsr(ds, tmp_path / "full.dcm"))
    # only the MPPS reference is left: it exists only where the modality ran MPPS (docs/connectors.md)
    assert len(errors) == 1 and "ReferencedPerformedProcedureStepSequence" in errors[0], errors


@pytest.mark.parametrize("born, on, age", [("19600101", "20261127", "066Y"), ("20260901", "20261127", "002M"),
                                           ("20261120", "20261127", "007D"), ("garbage", "20261127", None)])
def test_age_at(born, on, age):
    from datetime import date

    assert age_at(born, date(int(on[:4]), int(on[4:6]), int(on[6:]))) == age


def test_person_names_compare_as_written_differently():
    assert same_person_name("ZHANG^SAN", "Zhang San") and same_person_name("张三", "张^三")
    assert not same_person_name("ZHANG^SAN", "LI^SI")


@pytest.fixture
def name_worklist(tmp_path):
    from conn_helpers import Peer, free_port

    folder = tmp_path / "wl" / "WLQ"
    folder.mkdir(parents=True)
    (folder / "lockfile").touch()
    write_worklist_item(folder, name="WANG^WU", patient_id="0012345678", accession="CT0000000555",
                        date="20261127", time_="093000", study_uid="1.2.826.0.1.3680043.10.882.1")
    port = free_port()
    peer = Peer(["wlmscpfs", "-dfp", str(tmp_path / "wl"), str(port)], port)
    try:
        yield port
    finally:
        peer.stop()


def test_mwl_name_that_differs_from_the_screen_is_flagged(name_worklist, tmp_path):
    rec_file = tmp_path / "rec.json"
    rec_file.write_text(ct_dose_record().to_json())  # the screen says ZHANG^SAN
    out = run_cli("dicom", "rdsr", "--record", str(rec_file), "--mwl", f"WLQ@127.0.0.1:{name_worklist}",
                  "--out", str(tmp_path / "sr.dcm"))
    assert out.returncode == 1 and not (tmp_path / "sr.dcm").exists()
    assert "the patient name on the screen differs from the worklist's for accession CT0000000555" in out.stderr
    assert out.stderr.count("\n") == 1 and "ZHANG" not in out.stderr and "WANG" not in out.stderr
    out = run_cli("dicom", "rdsr", "--record", str(rec_file), "--mwl", f"WLQ@127.0.0.1:{name_worklist}",
                  "--out", str(tmp_path / "sr.dcm"), "--allow-review", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["completion"] == "PARTIAL" and summary["accession_number"] == "CT0000000555"
    sr = pydicom.dcmread(tmp_path / "sr.dcm")
    assert sr.StudyInstanceUID == "1.2.826.0.1.3680043.10.882.1"
    assert "Study and patient from the worklist" in comment(sr)
