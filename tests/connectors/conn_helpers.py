"""Helpers for the connector tests: free ports, peer processes (dcmtk, Orthanc), tiny HTTP
servers, CLI runs."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian


from qcedge.qc_client.record import CheckValue, FieldValue, Record, TemplateRef

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {out[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


class Peer:
    """A peer process we started; `stop()` ends it by its pid."""

    def __init__(self, args: list[str], port: int, cwd: Path | None = None, env: dict | None = None) -> None:
        missing = shutil.which(args[0]) is None
        if missing:
            pytest.fail(f"{args[0]} is not installed (scripts/setup.sh installs it)")
        self.port = port
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_port(port, self.proc)

    def stop(self, grace: float = 5.0) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.stdout.read() if self.proc.stdout else ""


ORTHANC_USER, ORTHANC_PASSWORD = "qc", "orthanc-test-password"
def dicomweb_plugin() -> str:
    for candidate in ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "/usr/lib/orthanc/libOrthancDicomWeb.so.1.7"):
        if Path(candidate).exists():
            return candidate
    found = sorted(Path("/usr").rglob("libOrthancDicomWeb.so*"))
    if not found:
        pytest.fail("the Orthanc DICOMweb plugin is not installed (Debian package orthanc-dicomweb)")
    return str(found[0])


@dataclass
class OrthancPeer:
    http_port: int
    dicom_port: int
    aet: str
    peer: Peer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"


def write_worklist_item(folder: Path, *, name: str, patient_id: str, accession: str, date: str, time_: str,
                        modality: str = "CT", station: str = "CT1", study_uid: str | None = None) -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = name, patient_id, "19600101", "M"
    ds.AccessionNumber = accession
    ds.StudyInstanceUID = study_uid or f"1.2.826.0.1.3680043.10.1.{abs(hash(accession)) % 10**9}"
    ds.RequestedProcedureID = f"RP{accession}"
    ds.RequestedProcedureDescription = "CT chest"
    ds.ReferringPhysicianName = ""
    sps = Dataset()
    sps.Modality, sps.ScheduledStationAETitle = modality, station
    sps.ScheduledProcedureStepStartDate, sps.ScheduledProcedureStepStartTime = date, time_
    sps.ScheduledProcedureStepID, sps.ScheduledProcedureStepDescription = f"SPS{accession}", "chest"
    sps.ScheduledPerformingPhysicianName = ""
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.31"
    meta.MediaStorageSOPInstanceUID = ds.StudyInstanceUID + ".1"
    ds.file_meta = meta
    ds.save_as(folder / f"{accession}.wl", enforce_file_format=True)


WORKLIST = [
    dict(name="ZHANG^SAN", patient_id="0012345678", accession="CT0000000101", date="20261127", time_="093000"),
    dict(name="ZHANG^SAN", patient_id="0012345678", accession="CT0000000102", date="20261127", time_="150000"),
    dict(name="LI^SI", patient_id="0087654321", accession="CT0000000103", date="20261127", time_="094500"),
]


class TinyServer:
    """A raw socket server on loopback whose behaviour the test chooses per connection."""

    def __init__(self, behaviour) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            conn.settimeout(5)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                reply = self.behaviour(len(self.requests), data)
                if reply is None:  # hang: keep the connection open, say nothing
                    continue
                conn.sendall(reply)
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()


def http_reply(status: str, body: bytes, ctype: str = "application/json", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n{extra}\r\n").encode() + body


def run_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env.pop("PYTHONPATH")] if env and "PYTHONPATH" in env else []))
    if env:
        full_env.update(env)
    return subprocess.run([PYTHON, "-m", "qcedge", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


# ----------------------------------------------------------------------------- records

CT_SERIES = [
    # series_no, scan_type, kv, mas, ctdivol, dlp, phantom: as the CT dose-screen template reads them
    (1, "Topogram", 120, 35.0, 0.13, 3.20, "32"),
    (2, "Spiral", 120, 110.0, 7.45, 268.40, "32"),
    (3, "Sequence", 100, 250.0, 45.20, 720.10, "16"),
]


def fv(value: Any, valid: bool = True, personal: bool = False, reasons: list[str] | None = None) -> FieldValue:
    return FieldValue(value=value, text=str(value), confidence=0.97, valid=valid, personal=personal,
                      reasons=reasons or [])


def ct_dose_record(series=CT_SERIES, total_dlp: float | None = 991.70, *, bad_cell: tuple[int, str] | None = None,
                   patient_id: str = "0012345678", exam_time: str = "2026-11-27T09:41:00") -> Record:
    """A record as `qcedge.records.record_from_reading` makes it from the sample CT dose screen."""
    rows = []
    for no, scan, kv, mas, ctdi, dlp, phantom in series:
        row = {"series_no": fv(no), "scan_type": fv(scan), "kv": fv(kv), "mas": fv(mas), "ctdivol": fv(ctdi),
               "dlp": fv(dlp), "phantom": fv(phantom)}
        rows.append(row)
    if bad_cell is not None:
        i, col = bad_cell
        rows[i][col] = fv(rows[i][col].value, valid=False, reasons=["confidence 0.41 under floor 0.8"])
    fields = {
        "patient_name": fv("ZHANG^SAN", personal=True), "patient_id": fv(patient_id, personal=True),
        "accession": fv("CT0000000101"), "exam_time": fv(exam_time),
        "series": FieldValue(value=[{k: c.value for k, c in r.items()} for r in rows], rows=rows,
                             valid=all(c.valid for r in rows for c in r.values())),
    }
    if total_dlp is not None:
        fields["total_dlp"] = fv(total_dlp)
    checks = [CheckValue(name="total_dlp_is_sum", ok=True, message="ok")]
    status = "complete" if all(f.valid for f in fields.values()) else "needs_review"
    return Record(station="ct-console-3", site="hospital-a", source="screen:hdmi0", kind="screen", modality="CT",
                  template=TemplateRef(id="ct_dose_report", version="1.0"), fields=fields, checks=checks, status=status)


def secondary_capture(image_bgr, *, patient_id: str = "0000856885", name: str = "ZHAO^MIN") -> Dataset:
    """A CT console's screen saved to PACS: Secondary Capture Image Storage, RGB, uncompressed."""
    from pydicom.uid import generate_uid

    rgb = image_bgr[..., ::-1].copy()
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid(prefix=None)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(prefix=None), generate_uid(prefix=None)
    ds.Modality, ds.ConversionType = "CT", "WSD"
    ds.Manufacturer, ds.StationName = "Vistara", "CT128-1"
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    ds.PatientName, ds.PatientID = name, patient_id
    ds.SeriesDescription = "Dose Report"
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = rgb.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


@contextmanager
def worklist_scp(base: Path, items: Iterable[dict]) -> Iterator[Peer]:
    """dcmtk's worklist SCP (wlmscpfs) serving `items` (write_worklist_item keywords) under the AE
    title WLQ from a folder in `base`; stopped on exit."""
    folder = base / "WLQ"
    folder.mkdir()
    (folder / "lockfile").touch()
    for item in items:
        write_worklist_item(folder, **item)
    port = free_port()
    peer = Peer(["wlmscpfs", "-dfp", str(base), str(port)], port)
    try:
        yield peer
    finally:
        peer.stop()
