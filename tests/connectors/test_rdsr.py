"""A CT Radiation Dose SR from a dose-screen record: validated by dicom3tools, read back by dcmtk
and by our own reader, sent to dcmtk's storescp."""
from __future__ import annotations

import re
import subprocess

import pydicom
import pytest

from conn_helpers import CT_SERIES, ct_dose_record, fv
from qcedge.connectors.dicom_files import read_dicom
from qcedge.connectors.dicom_net import send
from qcedge.connectors.errors import RdsrError
from qcedge.connectors.peer import Peer
from qcedge.connectors.rdsr import DoseFieldMap, StudyContext, build_ct_rdsr, write_rdsr
from qcedge.qc_client.record import FieldValue


def dciodvfy(path) -> tuple[list[str], list[str]]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=30)
    lines = (out.stdout + out.stderr).splitlines()
    return [l for l in lines if l.startswith("Error")], [l for l in lines if l.startswith("Warning")]


def dsrdump(path) -> str:
    out = subprocess.run(["dsrdump", "+U8", "+Pl", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def rdsr_file(tmp_path):
    ds = build_ct_rdsr(ct_dose_record())
    return write_rdsr(ds, tmp_path / "rdsr.dcm")


def test_rdsr_passes_dciodvfy_without_errors_or_warnings(rdsr_file):
    errors, warnings = dciodvfy(rdsr_file)
    assert errors == []
    assert warnings == []


def test_dciodvfy_does_catch_a_broken_sr(tmp_path):
    """The validator is real: break the SR and it complains."""
    ds = build_ct_rdsr(ct_dose_record())
    ds.ContentSequence[8].ContentSequence[0].ValueType = "NUM"  # a CODE item claiming to be NUM
    del ds.CompletionFlag
    errors, _ = dciodvfy(write_rdsr(ds, tmp_path / "broken.dcm"))
    assert any("Completion Flag" in e or "CompletionFlag" in e for e in errors)
    assert any("MeasuredValueSequence" in e for e in errors)


def _num(dump: str, label: str) -> list[str]:
    return re.findall(rf'NUM:\(,,"{re.escape(label)}"\)="([^"]+)"', dump)


def test_dsrdump_reads_the_dose_values_back(rdsr_file):
    dump = dsrdump(rdsr_file)
    assert "X-Ray Radiation Dose SR Document" in dump
    assert '(113701,DCM,"X-Ray Radiation Dose Report")' in dump or '"X-Ray Radiation Dose Report"' in dump
    assert _num(dump, "CT Dose Length Product Total") == ["991.7"]
    assert _num(dump, "Total Number of Irradiation Events") == ["3"]
    assert _num(dump, "Mean CTDIvol") == ["0.13", "7.45", "45.2"]
    assert _num(dump, "DLP") == ["3.2", "268.4", "720.1"]
    assert _num(dump, "KVP") == ["120", "120", "100"]
    assert _num(dump, "Exposure") == ["35000", "110000", "250000"]  # mAs as uA.s
    assert dump.count('(113690,DCM,"IEC Head Dosimetry Phantom")') == 1
    assert dump.count('(113691,DCM,"IEC Body Dosimetry Phantom")') == 2
    assert '(113805,DCM,"Constant Angle Acquisition")' in dump  # the topogram
    assert '(116152004,SCT,"Spiral Acquisition")' in dump
    assert '(113804,DCM,"Sequenced Acquisition")' in dump
    assert '(113868,DCM,"Derived From Human-Readable Reports")' in dump
    assert 'TEXT:(,,"Device Observer Name")="ct-console-3"' in dump
    assert "Completion Flag     : COMPLETE" in dump


def test_our_reader_round_trips_every_dose_value(rdsr_file):
    reading = read_dicom(rdsr_file, "central", "site", parsers=[])
    rec = reading.record
    assert reading.kind == "dose_sr" and rec.modality == "CT" and rec.status == "complete"
    assert rec.fields["total_dlp"].value == 991.7
    rows = rec.fields["series"].value
    assert [(r["kv"], r["mas"], r["ctdivol"], r["dlp"]) for r in rows] == [(s[2], s[3], s[4], s[5]) for s in CT_SERIES]
    assert [r["phantom"] for r in rows] == ["body 32 cm", "body 32 cm", "head 16 cm"]
    assert rec.checks[0].name == "total_dlp_is_sum" and rec.checks[0].ok
    assert rec.fields["patient_id"].value == "0012345678" and rec.fields["patient_id"].personal
    assert rec.fields["accession_number"].value == "CT0000000101"
    assert rec.fields["study_datetime"].value == "2026-11-27T09:41:00"


def test_same_record_same_uids_new_record_new_sop_instance():
    rec = ct_dose_record()
    a, b = build_ct_rdsr(rec), build_ct_rdsr(rec)
    assert a.SOPInstanceUID == b.SOPInstanceUID  # resending the same screen is idempotent at the PACS
    event_uid = lambda ds: [i.UID for i in ds.ContentSequence[8].ContentSequence if i.ValueType == "UIDREF"]
    assert event_uid(a) == event_uid(b) and len(event_uid(a)) == 1
    c = build_ct_rdsr(ct_dose_record())
    assert c.SOPInstanceUID != a.SOPInstanceUID


def test_record_needing_review_is_refused_unless_allowed(tmp_path):
    rec = ct_dose_record(bad_cell=(1, "ctdivol"))
    assert rec.status == "needs_review"
    with pytest.raises(RdsrError, match=r"needs review.*series\[1\]\.ctdivol: confidence 0.41"):
        build_ct_rdsr(rec)
    ds = build_ct_rdsr(rec, allow_review=True)
    assert ds.CompletionFlag == "PARTIAL"
    path = write_rdsr(ds, tmp_path / "partial.dcm")
    assert dciodvfy(path)[0] == []
    assert "NEEDS REVIEW: series[1].ctdivol" in dsrdump(path)


def test_failed_screen_check_is_refused():
    rec = ct_dose_record()
    rec.checks[0].ok, rec.checks[0].message = False, "total 991.70 != sum 1000.00"
    with pytest.raises(RdsrError, match="check total_dlp_is_sum"):
        build_ct_rdsr(rec)


def test_no_acquisitions_is_a_clear_error():
    rec = ct_dose_record()
    del rec.fields["series"]
    with pytest.raises(RdsrError, match="no acquisitions with dose values"):
        build_ct_rdsr(rec)


def test_total_dlp_missing_is_computed_only_when_every_series_has_a_dlp():
    ds = build_ct_rdsr(ct_dose_record(total_dlp=None))
    acc = ds.ContentSequence[7]
    assert float(acc.ContentSequence[1].MeasuredValueSequence[0].NumericValue) == pytest.approx(991.7)
    rec = ct_dose_record(total_dlp=None)
    rec.fields["series"].rows[2].pop("dlp")
    with pytest.raises(RdsrError, match="no total DLP"):
        build_ct_rdsr(rec)


def test_field_names_follow_a_configurable_mapping(tmp_path):
    rec = ct_dose_record()
    rows = rec.fields.pop("series").rows
    renamed = [{{"kv": "spannung", "ctdivol": "ctdi_w_vol"}.get(k, k): c for k, c in row.items()} for row in rows]
    rec.fields["dosis_tabelle"] = FieldValue(value=None, rows=renamed)
    rec.fields["dlp_gesamt"] = rec.fields.pop("total_dlp")
    with pytest.raises(RdsrError):
        build_ct_rdsr(rec)
    mapping = DoseFieldMap.from_mapping({"series": "dosis_tabelle", "total_dlp": ["dlp_gesamt"],
                                         "kv": ["spannung"], "ctdivol": ["ctdi_w_vol"]})
    path = write_rdsr(build_ct_rdsr(rec, mapping=mapping), tmp_path / "mapped.dcm")
    dump = dsrdump(path)
    assert _num(dump, "Mean CTDIvol") == ["0.13", "7.45", "45.2"] and _num(dump, "KVP") == ["120", "120", "100"]
    assert _num(dump, "CT Dose Length Product Total") == ["991.7"]
    with pytest.raises(ValueError, match="unknown dose field mapping keys: kvp"):
        DoseFieldMap.from_mapping({"kvp": ["x"]})


def test_study_context_from_a_worklist_wins_and_chinese_names_are_valid(tmp_path):
    rec = ct_dose_record()
    rec.fields["patient_name"] = fv("张三", personal=True)
    ds = build_ct_rdsr(rec, study=StudyContext(study_instance_uid="1.2.826.0.1.3680043.10.1.77",
                                               accession_number="CT0000000999", patient_sex="M"))
    assert (ds.StudyInstanceUID, ds.AccessionNumber, ds.PatientSex) == ("1.2.826.0.1.3680043.10.1.77", "CT0000000999", "M")
    path = write_rdsr(ds, tmp_path / "zh.dcm")
    assert dciodvfy(path) == ([], [])
    assert str(pydicom.dcmread(path).PatientName) == "张三^"


def test_rdsr_is_sent_to_a_dcmtk_storescp(storescp):
    peer_proc, out = storescp
    ds = build_ct_rdsr(ct_dose_record())
    results = send(Peer("DEST", "127.0.0.1", peer_proc.port), [ds])
    assert [r.ok for r in results] == [True]
    received = list(out.iterdir())
    assert len(received) == 1
    back = pydicom.dcmread(received[0])
    assert back.SOPInstanceUID == ds.SOPInstanceUID and back.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.67"
    assert "991.7" in dsrdump(received[0])
