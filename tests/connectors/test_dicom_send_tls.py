"""Sending as the file is (compressed stays compressed, the SOP Instance UID never changes; big
endian files go too), DICOM over TLS with dcmtk's TLS tools on both sides, and Storage
Commitment against a real commitment SCP (pynetdicom)."""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]

from conn_helpers import Peer as PeerProcess, ct_dose_record, free_port, run_cli
from qcedge.connectors.dicom_net import send
from qcedge.connectors.peer import Peer
from qcedge.connectors.receiver import Receiver, ReceiverConfig
from qcedge.connectors.tls import server_context

JPEG = "SC_rgb_jpeg_dcmtk.dcm"
BIG_ENDIAN = "MR_small_bigendian.dcm"


def uid_of(path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


# ----------------------------------------------------------------------------- as the file is

def test_compressed_file_is_sent_as_it_is_with_its_uid(tmp_store):
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store)).start()  # accepts every transfer syntax
    try:
        results = send(Peer("QCEDGE", "127.0.0.1", rx.port), [get_testdata_file(JPEG), get_testdata_file(BIG_ENDIAN)])
    finally:
        rx.stop()
    assert [r.ok for r in results] == [True, True] and all(r.message == "" for r in results)
    for name in (JPEG, BIG_ENDIAN):
        original = pydicom.dcmread(get_testdata_file(name))
        (kept,) = list(tmp_store.rglob(f"{original.SOPInstanceUID}.dcm"))
        kept_ds = pydicom.dcmread(kept)
        assert kept_ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        assert kept_ds.PixelData == original.PixelData


def test_a_peer_that_takes_only_uncompressed_little_endian_gets_the_same_uids(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    # +xi: storescp accepts Implicit VR Little Endian only (no compression, no big endian)
    scp = PeerProcess(["storescp", "+xi", "--aetitle", "DEST", "--output-directory", str(out), str(port)], port)
    try:
        result = run_cli("dicom", "send", f"DEST@127.0.0.1:{port}", get_testdata_file(JPEG), get_testdata_file(BIG_ENDIAN))
    finally:
        scp.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sent decompressed: DEST does not accept JPEG Baseline (Process 1); SOP Instance UID kept" in result.stdout
    assert "sent as Explicit VR Little Endian: DEST does not accept Explicit VR Big Endian" in result.stdout
    received = {uid_of(p): p for p in out.iterdir()}
    assert set(received) == {uid_of(get_testdata_file(JPEG)), uid_of(get_testdata_file(BIG_ENDIAN))}
    mr = pydicom.dcmread(received[uid_of(get_testdata_file(BIG_ENDIAN))])
    assert (mr.pixel_array == pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array).all()
    assert mr.PatientName == pydicom.dcmread(get_testdata_file(BIG_ENDIAN)).PatientName


# ----------------------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A test CA, a server and a client certificate it signed, and a stranger's CA."""
    d = tmp_path_factory.mktemp("pki")

    def ossl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    for ca in ("ca", "stranger"):
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{ca}.key"), "-out",
             str(d / f"{ca}.pem"), "-days", "2", "-subj", f"/CN=qcedge test {ca}")
    for who in ("server", "client"):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{who}.key"), "-out", str(d / f"{who}.csr"),
             "-subj", f"/CN=qcedge {who}")
        ossl("x509", "-req", "-in", str(d / f"{who}.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
             "-CAcreateserial", "-out", str(d / f"{who}.pem"), "-days", "2")
    return {p.stem if p.suffix == ".pem" else p.name: p for p in d.iterdir()}


def dcmtk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def test_tls_receiver_with_dcmtk_clients(pki, tmp_store):
    ctx = server_context(cert=pki["server"], key=pki["server.key"], ca=pki["ca"])
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store, ssl_context=ctx)).start()
    tls = ["+tls", str(pki["client.key"]), str(pki["client"]), "+cf", str(pki["ca"])]
    try:
        assert dcmtk("echoscu", *tls, "-aec", "QCEDGE", "127.0.0.1", str(rx.port)).returncode == 0
        out = dcmtk("storescu", *tls, "-aec", "QCEDGE", "127.0.0.1", str(rx.port), get_testdata_file("CT_small.dcm"))
        assert out.returncode == 0, out.stderr
        # no TLS, or TLS without a client certificate: refused; the receiver goes on
        assert dcmtk("echoscu", "-to", "5", "-aec", "QCEDGE", "127.0.0.1", str(rx.port)).returncode != 0
        assert dcmtk("echoscu", "+tla", "+cf", str(pki["ca"]), "-aec", "QCEDGE", "127.0.0.1",
                     str(rx.port)).returncode != 0
        assert dcmtk("echoscu", *tls, "-aec", "QCEDGE", "127.0.0.1", str(rx.port)).returncode == 0
        assert rx.stats["stored"] == 1 and rx.stats["echo"] == 2
    finally:
        rx.stop()


def test_tls_send_and_echo_to_dcmtk_storescp(pki, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    scp = PeerProcess(["storescp", "+tls", str(pki["server.key"]), str(pki["server"]), "+cf", str(pki["ca"]),
                       "--aetitle", "DEST", "--output-directory", str(out), str(port)], port)
    tls = ["--tls-ca", str(pki["ca"]), "--tls-cert", str(pki["client"]), "--tls-key", str(pki["client.key"])]
    try:
        echo = run_cli("dicom", "echo", f"DEST@127.0.0.1:{port}", *tls)
        assert echo.returncode == 0, echo.stderr
        sent = run_cli("dicom", "send", f"DEST@127.0.0.1:{port}", get_testdata_file("CT_small.dcm"), *tls)
        assert sent.returncode == 0, sent.stderr
        # a peer whose certificate our CA did not sign: one line, exit 1
        wrong = run_cli("dicom", "echo", f"DEST@127.0.0.1:{port}", "--tls-ca", str(pki["stranger"]),
                        "--tls-cert", str(pki["client"]), "--tls-key", str(pki["client.key"]))
        assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1 and "TLS" in wrong.stderr, wrong.stderr
        bad = run_cli("dicom", "echo", f"DEST@127.0.0.1:{port}", "--tls-ca", str(tmp_path / "missing.pem"))
        assert bad.returncode == 2 and "missing.pem: no such file" in bad.stderr
    finally:
        scp.stop()
    assert [uid_of(p) for p in out.iterdir()] == [uid_of(get_testdata_file("CT_small.dcm"))]


def test_tls_find(pki):
    """C-FIND over TLS (pynetdicom worklist SCP with Python's ssl)."""
    from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]

    def on_find(event):
        ds = Dataset()
        ds.PatientName, ds.PatientID, ds.AccessionNumber = "TLS^ONLY", "T1", "TLS1"
        yield 0xFF00, ds

    ae = AE("TLSWL")
    ae.add_supported_context(ModalityWorklistInformationFind)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)],
                             ssl_context=server_context(cert=pki["server"], key=pki["server.key"], ca=pki["ca"]))
    try:
        port = server.server_address[1]
        out = run_cli("dicom", "find", f"TLSWL@127.0.0.1:{port}", "--worklist", "--tls-ca", str(pki["ca"]),
                      "--tls-cert", str(pki["client"]), "--tls-key", str(pki["client.key"]), "--json")
        assert out.returncode == 0 and '"accession_number": "TLS1"' in out.stdout, out.stderr
    finally:
        server.shutdown()


# ----------------------------------------------------------------------------- storage commitment

class CommitmentScp:
    """A PACS with Storage Commitment (pynetdicom): commits what it stored, reports on the same
    association; `lose` names UIDs it 'loses' (reported as failed)."""

    def __init__(self, lose: set[str] = frozenset()) -> None:
        self.stored: set[str] = set()
        self.lose = set(lose)
        self.requests: list[Dataset] = []
        ae = AE("PACS")
        for cx in StoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax)
        ae.add_supported_context(StorageCommitmentPushModel)
        self.server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[
            (evt.EVT_C_STORE, self.on_store), (evt.EVT_N_ACTION, self.on_action)])
        self.port = self.server.server_address[1]

    def on_store(self, event):
        self.stored.add(str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    def on_action(self, event):
        request = event.action_information
        self.requests.append(request)
        threading.Thread(target=self.report, args=(event.assoc, request), daemon=True).start()
        return 0x0000, None

    def report(self, assoc, request) -> None:
        time.sleep(0.2)  # after the N-ACTION response has gone
        done, failed = [], []
        for ref in request.ReferencedSOPSequence:
            item = Dataset()
            item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID
            if ref.ReferencedSOPInstanceUID in self.stored and ref.ReferencedSOPInstanceUID not in self.lose:
                done.append(item)
            else:
                item.FailureReason = 0x0112
                failed.append(item)
        info = Dataset()
        info.TransactionUID = request.TransactionUID
        if done:
            info.ReferencedSOPSequence = Sequence(done)
        if failed:
            info.FailedSOPSequence = Sequence(failed)
        assoc.send_n_event_report(info, 2 if failed else 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1")

    def stop(self) -> None:
        self.server.shutdown()


def test_rdsr_send_with_storage_commitment(tmp_path):
    rec = tmp_path / "rec.json"
    rec.write_text(ct_dose_record().to_json())
    scp = CommitmentScp()
    try:
        out = run_cli("dicom", "rdsr", "--record", str(rec), "--send", f"PACS@127.0.0.1:{scp.port}", "--commit", "20")
        assert out.returncode == 0, out.stderr
        assert "(committed)" in out.stdout
        assert len(scp.requests) == 1 and len(scp.requests[0].ReferencedSOPSequence) == 1
        assert scp.requests[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID in scp.stored
    finally:
        scp.stop()


def test_storage_commitment_failure_is_not_success(tmp_path):
    ct, mr = get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")
    scp = CommitmentScp(lose={uid_of(mr)})
    try:
        results = send(Peer("PACS", "127.0.0.1", scp.port), [ct, mr], commit=20)
        assert [(r.ok, r.committed) for r in results] == [(True, True), (True, False)]
        assert "NOT committed (no such object instance)" in results[1].message
        out = run_cli("dicom", "send", f"PACS@127.0.0.1:{scp.port}", ct, mr, "--commit", "20")
        assert out.returncode == 1 and "NOT committed" in out.stdout
    finally:
        scp.stop()
    # a peer without Storage Commitment: said so, and not counted as committed
    plain = Receiver(ReceiverConfig(port=0, store_dir=tmp_path / "s")).start()
    try:
        (r,) = send(Peer("QCEDGE", "127.0.0.1", plain.port), [ct], commit=5)
        assert r.ok and r.committed is None and "does not offer Storage Commitment" in r.message
    finally:
        plain.stop()


def test_receive_tls_options_are_checked_before_listening(tmp_path, pki):
    missing = run_cli("dicom", "receive", "--store", str(tmp_path / "s"), "--port", "0",
                      "--tls-cert", str(tmp_path / "nope.pem"))
    assert missing.returncode == 2 and "nope.pem: no such file" in missing.stderr and missing.stderr.count("\n") == 1
    wrong_key = run_cli("dicom", "receive", "--store", str(tmp_path / "s"), "--port", "0",
                        "--tls-cert", str(pki["server"]), "--tls-key", str(pki["client.key"]))
    assert wrong_key.returncode == 2 and "TLS certificate/key" in wrong_key.stderr, wrong_key.stderr
    no_cert = run_cli("dicom", "receive", "--store", str(tmp_path / "s"), "--port", "0", "--tls-ca", str(pki["ca"]))
    assert no_cert.returncode == 2 and "need --tls-cert" in no_cert.stderr
