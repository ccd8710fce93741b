"""C-FIND against dcmtk's worklist SCP (wlmscpfs) and Orthanc, cross-checked with dcmtk's findscu."""
from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta

import pytest
from pydicom.data import get_testdata_file

from qcedge.connectors.dicom_net import send
from qcedge.connectors.errors import DicomNetworkError
from qcedge.connectors.peer import Peer
from qcedge.connectors.query import accession_for, find_studies, find_worklist


@pytest.fixture
def mwl(worklist) -> Peer:
    return Peer("WLQ", "127.0.0.1", worklist.port)


def findscu(*args: str) -> str:
    out = subprocess.run(["findscu", "-v", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stderr + out.stdout


def test_worklist_query_matches_findscu(mwl):
    ours = find_worklist(mwl, patient_id="0012345678")
    assert sorted(i.accession_number for i in ours) == ["CT0000000101", "CT0000000102"]
    first = next(i for i in ours if i.accession_number == "CT0000000101")
    assert first.scheduled_start == datetime(2026, 11, 27, 9, 30)
    assert (first.patient_name, first.modality, first.station_aet) == ("ZHANG^SAN", "CT", "CT1")
    dump = findscu("-W", "-aec", "WLQ", "-k", "PatientID=0012345678", "-k", "AccessionNumber",
                   "-k", "ScheduledProcedureStepSequence[0].Modality", "127.0.0.1", str(mwl.port))
    theirs = sorted(re.findall(r"\(0008,0050\) SH \[([^\]]+)\]", dump))
    assert theirs == sorted(i.accession_number for i in ours)


def test_accession_for_picks_the_procedure_nearest_the_exam_time(mwl):
    morning = accession_for(mwl, "0012345678", datetime(2026, 11, 27, 9, 41))
    assert morning.accession_number == "CT0000000101" and morning.alternatives == 1
    assert morning.study_instance_uid
    afternoon = accession_for(mwl, "0012345678", datetime(2026, 11, 27, 14, 20), window=timedelta(hours=2))
    assert afternoon.accession_number == "CT0000000102" and afternoon.alternatives == 0
    assert accession_for(mwl, "0012345678", datetime(2026, 11, 28, 9, 0), window=timedelta(hours=2)) is None
    assert accession_for(mwl, "9999999999", datetime(2026, 11, 27, 9, 41)) is None


def test_worklist_date_and_modality_filters(mwl):
    assert len(find_worklist(mwl, scheduled="20261127")) == 3
    assert find_worklist(mwl, scheduled="20261128") == []
    assert find_worklist(mwl, modality="MR") == []


def test_unreachable_and_wrong_ae_give_clear_errors(mwl):
    with pytest.raises(DicomNetworkError, match="cannot connect"):
        find_worklist(Peer("WLQ", "127.0.0.1", 1))
    # wlmscpfs sends A-ASSOCIATE-RJ and closes at once; depending on which arrives first we see either
    with pytest.raises(DicomNetworkError, match="WRONG@127.0.0.1:.* (rejected|aborted) the association"):
        find_worklist(Peer("WRONG", "127.0.0.1", mwl.port))


def test_study_root_query_against_orthanc(orthanc):
    peer = Peer(orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    assert all(r.ok for r in send(peer, [get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")]))
    ct = find_studies(peer, patient_id="1CT1")
    assert len(ct) == 1
    assert ct[0].study_instance_uid == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
    assert ct[0].study_datetime == datetime(2004, 1, 19, 7, 27, 30)
    assert ct[0].modalities == ["CT"]
    dump = findscu("-S", "-aec", orthanc.aet, "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=1CT1",
                   "-k", "StudyInstanceUID", "127.0.0.1", str(orthanc.dicom_port))
    assert "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322" in dump
    assert find_studies(peer, patient_id="NOBODY") == []
    assert {s.study_instance_uid for s in find_studies(peer, study_date="20040119")} >= {ct[0].study_instance_uid}
