"""The receiver against dcmtk's echoscu and storescu, and our C-ECHO / C-STORE user against
dcmtk's storescp and Orthanc. Bad peers and bad data never stop the receiver or lose data."""
from __future__ import annotations

import io
import logging
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pynetdicom import AE

from qcedge.connectors.dicom_net import echo, send
from qcedge.connectors.errors import DicomNetworkError
from qcedge.connectors.peer import Peer, parse_peer
from qcedge.connectors.receiver import Receiver, ReceiverConfig
from qcedge.intake import make_store_handler

PLAIN = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "SC_rgb_small_odd.dcm", "waveform_ecg.dcm"]


@pytest.fixture
def receiver(tmp_store):
    """A receiver on a free loopback port that makes records of what it stores."""
    records, stored = [], []

    def on_stored(obj):
        stored.append(obj)
        handler(obj)

    handler = make_store_handler("station-1", "site-a", records.append)
    rx = Receiver(ReceiverConfig(ae_title="QCEDGE", port=0, store_dir=tmp_store,
                                 allowed_aets=["STORESCU", "ECHOSCU", "MODALITY"]), on_stored).start()
    rx.records, rx.stored = records, stored
    yield rx
    rx.stop()


def dcmtk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def test_echoscu_gets_an_answer(receiver):
    out = dcmtk("echoscu", "-aec", "QCEDGE", "127.0.0.1", str(receiver.port))
    assert out.returncode == 0, out.stderr
    assert receiver.stats["echo"] == 1


def test_storescu_objects_are_stored_intact_and_become_records(receiver, tmp_store):
    files = [get_testdata_file(n) for n in PLAIN]
    out = dcmtk("storescu", "-R", "-aec", "QCEDGE", "127.0.0.1", str(receiver.port), *files)
    assert out.returncode == 0, out.stderr
    jpeg = dcmtk("storescu", "-xy", "-aec", "QCEDGE", "127.0.0.1", str(receiver.port),
                 get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
    assert jpeg.returncode == 0, jpeg.stderr
    assert receiver.wait_idle()
    assert receiver.stats["stored"] == 6
    on_disk = sorted(tmp_store.rglob("*.dcm"))
    assert len(on_disk) == 6
    for name in PLAIN + ["SC_rgb_jpeg_dcmtk.dcm"]:
        original = pydicom.dcmread(get_testdata_file(name))
        kept = pydicom.dcmread(tmp_store / datetime.now(timezone.utc).strftime("%Y%m%d") / f"{original.SOPInstanceUID}.dcm")
        assert kept.SOPClassUID == original.SOPClassUID
        if "PixelData" in original:
            assert kept.PixelData == original.PixelData
    # a record for each, except the screen saves: no templates were configured, they wait on disk for OCR
    modalities = sorted(r.modality for r in receiver.records)
    assert modalities == ["CT", "ECG", "MR", "RTPLAN"]
    ct = next(r for r in receiver.records if r.modality == "CT")
    assert ct.fields["kvp"].value == 120.0 and ct.source == "dicom:STORESCU" and ct.station == "station-1"


def test_unknown_calling_ae_is_rejected_and_logged(receiver, caplog):
    with caplog.at_level(logging.WARNING, logger="qcedge.connectors.receiver"):
        out = dcmtk("echoscu", "-aet", "INTRUDER", "-aec", "QCEDGE", "127.0.0.1", str(receiver.port))
    assert out.returncode != 0 and "Calling AE Title Not Recognized" in out.stderr
    assert receiver.stats["rejected"] == 1
    assert any("rejected association from AE 'INTRUDER'" in r.getMessage() for r in caplog.records)
    with pytest.raises(DicomNetworkError, match=r"rejected the association from NOBODY \(.*Calling AE title not recognised\)"):
        echo(Peer("QCEDGE", "127.0.0.1", receiver.port), calling_aet="NOBODY")
    # and it keeps serving the allowed ones
    assert dcmtk("echoscu", "-aec", "QCEDGE", "127.0.0.1", str(receiver.port)).returncode == 0


def test_wrong_called_ae_title_is_rejected(receiver):
    out = dcmtk("echoscu", "-aec", "SOMEONE", "127.0.0.1", str(receiver.port))
    assert out.returncode != 0 and "Called AE Title Not Recognized" in out.stderr


def test_callers_from_other_addresses_are_refused(tmp_store, caplog):
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store, allowed_hosts=["10.20.30.0/24"])).start()
    try:
        with caplog.at_level(logging.WARNING, logger="qcedge.connectors.receiver"):
            out = dcmtk("echoscu", "-aec", "QCEDGE", "127.0.0.1", str(rx.port))
        assert out.returncode != 0
        assert rx.stats["refused"] == 1 and rx.stats["echo"] == 0
        assert any("refused connection from 127.0.0.1" in r.getMessage() for r in caplog.records)
    finally:
        rx.stop()
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store, allowed_hosts=["127.0.0.1"])).start()
    try:
        assert dcmtk("echoscu", "-aec", "QCEDGE", "127.0.0.1", str(rx.port)).returncode == 0
    finally:
        rx.stop()


def _corrupt_file(tmp_path: Path) -> Path:
    """A file whose header is fine but whose dataset turns to garbage after the SOP UIDs."""
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    head = Dataset()
    head.SOPClassUID, head.SOPInstanceUID = ct.SOPClassUID, "1.2.826.0.1.3680043.10.99.1"
    head.file_meta = ct.file_meta
    head.file_meta.MediaStorageSOPInstanceUID = head.SOPInstanceUID
    buf = io.BytesIO()
    head.save_as(buf, enforce_file_format=True)
    path = tmp_path / "corrupt.dcm"
    path.write_bytes(buf.getvalue() + b"\x10\x00\x10\x00PN\xf0\x00" + b"\xff\xfe garbage" * 30)
    return path


def test_corrupt_dataset_is_kept_logged_and_the_receiver_goes_on(receiver, tmp_path, tmp_store, caplog, monkeypatch):
    from pynetdicom import _config

    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # send the file's bytes as they are
    bad = _corrupt_file(tmp_path)
    ae = AE("MODALITY")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2.1"])
    with caplog.at_level(logging.ERROR, logger="qcedge.dicom"):
        assoc = ae.associate("127.0.0.1", receiver.port, ae_title="QCEDGE")
        assert assoc.is_established
        assert assoc.send_c_store(bad).Status == 0x0000
        assert assoc.send_c_store(get_testdata_file("CT_small.dcm")).Status == 0x0000
        assoc.release()
        assert receiver.wait_idle()
    kept = list(tmp_store.rglob("1.2.826.0.1.3680043.10.99.1.dcm"))
    assert len(kept) == 1 and kept[0].read_bytes().endswith(b"\xff\xfe garbage" * 30)
    assert any("kept on disk, but it gives no record" in r.getMessage() and "truncated" in r.getMessage()
               for r in caplog.records)
    assert [r.modality for r in receiver.records] == ["CT"]  # the good one after it still became a record


def test_a_failing_callback_keeps_the_file_and_the_receiver(tmp_store):
    calls = []

    def explode(obj):
        calls.append(obj)
        raise RuntimeError("disk of the OCR box is full")

    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store), explode).start()
    try:
        for _ in range(2):
            out = dcmtk("storescu", "-aec", "QCEDGE", "127.0.0.1", str(rx.port), get_testdata_file("MR_small.dcm"))
            assert out.returncode == 0
        assert rx.wait_idle()
        # the same object sent twice is stored and processed once
        assert rx.stats["callback_failed"] == 1 and rx.stats["stored"] == 1 and rx.stats["duplicates"] == 1
        assert all(c.path.is_file() for c in calls)
    finally:
        rx.stop()


def test_store_failure_answers_out_of_resources_so_the_sender_keeps_its_copy(tmp_store):
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store)).start()
    try:
        (tmp_store / datetime.now(timezone.utc).strftime("%Y%m%d")).write_text("a file where the day folder should be")
        out = dcmtk("storescu", "-v", "-aec", "QCEDGE", "127.0.0.1", str(rx.port), get_testdata_file("CT_small.dcm"))
        assert out.returncode != 0 and "Refused: OutOfResources" in out.stderr
        assert rx.stats["store_failed"] == 1 and rx.stats["stored"] == 0
        assert dcmtk("echoscu", "-aec", "QCEDGE", "127.0.0.1", str(rx.port)).returncode == 0
    finally:
        rx.stop()


def test_concurrent_senders_all_arrive(receiver, tmp_store):
    names = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "waveform_ecg.dcm"]
    outs = []
    threads = [threading.Thread(target=lambda n=n: outs.append(
        dcmtk("storescu", "-aec", "QCEDGE", "127.0.0.1", str(receiver.port), get_testdata_file(n)))) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o.returncode == 0 for o in outs)
    assert receiver.wait_idle() and len(list(tmp_store.rglob("*.dcm"))) == 4 and len(receiver.records) == 4


def test_send_to_storescp_and_clear_errors_for_bad_peers(storescp, tmp_path):
    proc, out_dir = storescp
    peer = Peer("DEST", "127.0.0.1", proc.port)
    echo(peer)
    bad = tmp_path / "not-dicom.dcm"
    bad.write_text("hello")
    results = send(peer, [get_testdata_file("CT_small.dcm"), get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"), bad])
    by_name = {Path(r.source).name: r for r in results}
    assert by_name["CT_small.dcm"].ok and by_name["SC_rgb_jpeg_dcmtk.dcm"].ok
    assert "sent decompressed: DEST does not accept JPEG Baseline" in by_name["SC_rgb_jpeg_dcmtk.dcm"].message
    assert not by_name["not-dicom.dcm"].ok and "not a DICOM file" in by_name["not-dicom.dcm"].message
    assert len(list(out_dir.iterdir())) == 2
    closed = Peer("DEST", "127.0.0.1", proc.port + 1 if proc.port < 65535 else 1)
    with pytest.raises(DicomNetworkError, match="cannot connect to DEST@127.0.0.1"):
        echo(closed)


def test_send_to_orthanc(orthanc):
    peer = Peer(orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    echo(peer)
    results = send(peer, [get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")])
    assert all(r.ok for r in results)
    with pytest.raises(DicomNetworkError, match="rejected the association"):
        echo(Peer("NOT-ORTHANC", "127.0.0.1", orthanc.dicom_port))


@pytest.mark.parametrize("text, ok", [("PACS@10.0.0.5:104", True), ("CT1@[::1]:11112", True),
                                       ("nohost", False), ("AE@host", False), ("AE@host:99999", False),
                                       ("A_TITLE_LONGER_THAN_16@h:1", False)])
def test_peer_parsing(text, ok):
    if ok:
        p = parse_peer(text)
        assert str(p).startswith(p.ae_title + "@")
    else:
        with pytest.raises(ValueError):
            parse_peer(text)


def test_private_sop_class_is_accepted_and_kept_though_no_record_can_be_made(receiver, tmp_store, caplog):
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "2.25.300000000000000000000000000000000001", "1.2.826.0.1.3680043.10.99.2"
    ds.Modality, ds.Manufacturer = "OT", "Some Vendor"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    with caplog.at_level(logging.ERROR, logger="qcedge.dicom"):
        results = send(Peer("QCEDGE", "127.0.0.1", receiver.port), [ds], calling_aet="MODALITY")
        assert [r.ok for r in results] == [True]
        assert receiver.wait_idle()
    assert len(list(tmp_store.rglob("1.2.826.0.1.3680043.10.99.2.dcm"))) == 1
    assert any("is not a standard storage class" in r.getMessage() for r in caplog.records)
    assert receiver.records == []


def test_objects_stored_but_never_processed_are_recovered_on_start(tmp_store):
    """The process died after answering Success and before the callback ran: the next start
    processes the file; a processed file is not processed again."""
    day = tmp_store / datetime.now(timezone.utc).strftime("%Y%m%d")
    day.mkdir()
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    (day / f"{ct.SOPInstanceUID}.dcm").write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    (day / ".x.dcm.1.2.part").write_bytes(b"half a file from the crash")
    records = []
    handler = make_store_handler("station-1", "site-a", records.append)
    for expected in (1, 0):
        rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store), handler).start()
        try:
            assert rx.wait_idle()
            assert rx.stats["recovered"] == expected
        finally:
            rx.stop()
    assert [r.modality for r in records] == ["CT"]
