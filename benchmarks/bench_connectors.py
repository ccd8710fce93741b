"""Connector speed: DICOM files into records, the receiver's fsync'd C-STORE rate, RDSR building,
and a QIDO-RS search against Orthanc.

    python -m benchmarks.run connectors      (or: python -m benchmarks.bench_connectors [--objects N])
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from pynetdicom import AE

from benchmarks.run import RESULTS, header
from qcedge.connectors.dicom_files import read_dicom
from qcedge.connectors.dicomweb import DicomWebClient
from qcedge.connectors.dicom_net import send
from qcedge.connectors.http_client import HttpClient, make_auth
from qcedge.connectors.peer import Peer
from qcedge.connectors.rdsr import build_ct_rdsr, write_rdsr
from qcedge.connectors.receiver import Receiver, ReceiverConfig
from qcedge.qc_client.record import FieldValue, Record, TemplateRef

# Targets from what a station needs: a CT room's 300-image series stored in under 30 s (10/s),
# each stored object turned into a record faster than objects arrive (< 50 ms keeps up with 20/s),
# one RDSR per exam (human time scale), a worklist/PACS lookup well inside a screen's settle time.
TARGETS = {
    "read": 50.0,      # ms per file (CT image header into a record), median
    "store": 10.0,     # objects/s through the receiver, each fsync'd before Success
    "rdsr": 500.0,     # ms to build and write (fsync'd) a 3-series RDSR, median
    "qido": 200.0,     # ms per QIDO-RS study search against Orthanc on loopback, median
}


def _ms(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1000, s[int(0.95 * (len(s) - 1))] * 1000


def bench_read(n: int) -> tuple[float, float]:
    path = get_testdata_file("CT_small.dcm")
    read_dicom(path, "b", "b", parsers=[])
    times = []
    for _ in range(n):
        t = time.perf_counter()
        read_dicom(path, "b", "b", parsers=[])
        times.append(time.perf_counter() - t)
    return _ms(times)


def _distinct_cts(n: int) -> tuple[pydicom.Dataset, list[pydicom.Dataset]]:
    """CT_small and n copies of it, each with its own SOP Instance UID."""
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    datasets = []
    for _ in range(n):
        ds = copy.deepcopy(base)  # Dataset.copy() is shallow: setting a UID would change every copy
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        datasets.append(ds)
    return base, datasets


def bench_store(n: int, workdir: Path) -> tuple[float, int]:
    """n distinct CT objects in one association from a pynetdicom SCU to our receiver."""
    base, datasets = _distinct_cts(n)
    done = []
    rx = Receiver(ReceiverConfig(port=0, store_dir=workdir / "store"), done.append).start()
    try:
        ae = AE("BENCH")
        ae.add_requested_context(base.SOPClassUID, [str(base.file_meta.TransferSyntaxUID)])
        assoc = ae.associate("127.0.0.1", rx.port, ae_title="QCEDGE")
        t = time.perf_counter()
        ok = sum(assoc.send_c_store(ds).Status == 0 for ds in datasets)
        elapsed = time.perf_counter() - t
        assoc.release()
        rx.wait_idle(60)
    finally:
        rx.stop()
    if rx.stats["stored"] != ok:
        raise RuntimeError(f"{ok} acknowledged but {rx.stats['stored']} stored: the objects were not distinct")
    return ok / elapsed, ok


def bench_store_concurrent(n: int, senders: int, workdir: Path) -> tuple[float, int, int, int]:
    """`senders` pynetdicom SCUs at once, each sending the same n objects (the duplicate path: one
    writer per UID, compare, keep one). (acknowledged objects/s, acknowledged, stored, records)."""
    import threading

    base, datasets = _distinct_cts(n)
    done: list = []
    acked = [0] * senders
    rx = Receiver(ReceiverConfig(port=0, store_dir=workdir / "store-concurrent"), done.append).start()

    def sender(k: int) -> None:
        ae = AE(f"BENCH{k}")
        ae.add_requested_context(base.SOPClassUID, [str(base.file_meta.TransferSyntaxUID)])
        assoc = ae.associate("127.0.0.1", rx.port, ae_title="QCEDGE")
        acked[k] = sum(assoc.send_c_store(ds).Status == 0 for ds in datasets)
        assoc.release()

    try:
        threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t
        rx.wait_idle(60)
        stored = rx.stats["stored"]
    finally:
        rx.stop()
    return sum(acked) / elapsed, sum(acked), stored, len(done)


def disk_rate(n: int, size: int, workdir: Path) -> float:
    """Files/s for the receiver's write pattern without DICOM: temp file, fsync, link to the final
    name (never replacing), unlink the temp file, fsync folder."""
    import os

    folder = workdir / "bare"
    folder.mkdir()
    data = os.urandom(size)
    t = time.perf_counter()
    for i in range(n):
        tmp, final = folder / f".{i}.part", folder / f"{i}.dcm"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, final)
        os.unlink(tmp)
        fd = os.open(folder, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    return n / (time.perf_counter() - t)


def _dose_record() -> Record:
    rows = [{"series_no": FieldValue(value=i + 1), "scan_type": FieldValue(value=t), "kv": FieldValue(value=120),
             "mas": FieldValue(value=m), "ctdivol": FieldValue(value=c), "dlp": FieldValue(value=d),
             "phantom": FieldValue(value="32")}
            for i, (t, m, c, d) in enumerate([("Topogram", 35.0, 0.13, 3.2), ("Spiral", 110.0, 7.45, 268.4),
                                              ("Spiral", 180.0, 12.1, 520.0)])]
    return Record(station="bench", site="b", source="screen:0", template=TemplateRef(id="ct_dose_report", version="1"),
                  fields={"series": FieldValue(rows=rows), "total_dlp": FieldValue(value=791.6),
                          "patient_id": FieldValue(value="0012345678", personal=True),
                          "accession": FieldValue(value="CT0000000101"),
                          "exam_time": FieldValue(value="2026-11-27T09:41:00")})


def bench_rdsr(n: int, workdir: Path) -> tuple[float, float, bool]:
    times = []
    path = workdir / "rdsr.dcm"
    for _ in range(n):
        rec = _dose_record()
        t = time.perf_counter()
        write_rdsr(build_ct_rdsr(rec), path)
        times.append(time.perf_counter() - t)
    check = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    clean = not [l for l in (check.stdout + check.stderr).splitlines() if l.startswith(("Error", "Warning"))]
    return (*_ms(times), clean)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_qido(n: int, workdir: Path) -> tuple[float, float] | None:
    if not shutil.which("Orthanc"):
        return None
    http_port, dicom_port = _free_port(), _free_port()
    plugin = next((p for p in ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so",) if Path(p).exists()), None)
    if plugin is None:
        return None
    cfg = workdir / "orthanc.json"
    cfg.write_text(json.dumps({
        "Name": "bench", "StorageDirectory": str(workdir / "db"), "IndexDirectory": str(workdir / "db"),
        "HttpPort": http_port, "DicomPort": dicom_port, "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {"bench": "bench-pw"}, "Plugins": [plugin], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "DicomAlwaysAllowStore": True, "SaveJobs": False}))
    proc = subprocess.Popen(["Orthanc", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", dicom_port), 0.2).close()
                socket.create_connection(("127.0.0.1", http_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        send(Peer("ORTHANC", "127.0.0.1", dicom_port), [get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")])
        client = DicomWebClient(HttpClient(f"http://127.0.0.1:{http_port}/dicom-web",
                                           auth=make_auth(username="bench", password="bench-pw")))
        client.search_studies(PatientID="1CT1")
        times = []
        for _ in range(n):
            t = time.perf_counter()
            assert len(client.search_studies(PatientID="1CT1")) == 1
            times.append(time.perf_counter() - t)
        client.http.close()
        return _ms(times)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_connectors")
    parser.add_argument("--objects", type=int, default=100, help="objects sent to the receiver (default 100)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        read_med, read_p95 = bench_read(200)
        bare = disk_rate(args.objects, Path(get_testdata_file("CT_small.dcm")).stat().st_size, work)
        cpu0 = time.process_time()
        store_rate, stored = bench_store(args.objects, work)
        store_cpu_ms = (time.process_time() - cpu0) / max(stored, 1) * 1000
        load = os.getloadavg()[0]
        conc_rate, conc_acked, conc_stored, conc_records = bench_store_concurrent(args.objects, 3, work)
        rdsr_med, rdsr_p95, rdsr_clean = bench_rdsr(50, work)
        qido = bench_qido(50, work)

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    rows = [
        f"| DICOM file -> record (CT_small, header) | median < {TARGETS['read']:g} ms | median {read_med:.1f} ms, p95 {read_p95:.1f} ms | {verdict(read_med < TARGETS['read'])} |",
        f"| receiver C-STORE, fsync'd before Success ({stored} CT objects of 39 kB, one association, pynetdicom sender in the same process) | >= {TARGETS['store']:g} objects/s | {store_rate:.0f} objects/s ({store_cpu_ms:.0f} ms CPU per object for sender and receiver together; the bare disk does {bare:.0f} such fsync'd writes/s; load average {load:.1f} on {os.cpu_count()} cores) | {verdict(store_rate >= TARGETS['store'])} |",
        f"| receiver, 3 senders at once sending the same {args.objects} CT objects (duplicates) | >= {TARGETS['store']:g} acknowledged objects/s, each object stored and recorded once | {conc_rate:.0f} acknowledged objects/s; {conc_acked} acknowledged, {conc_stored} stored, {conc_records} records | {verdict(conc_rate >= TARGETS['store'] and conc_stored == conc_records == args.objects and conc_acked == 3 * args.objects)} |",
        f"| build + write a 3-series CT RDSR | median < {TARGETS['rdsr']:g} ms | median {rdsr_med:.1f} ms, p95 {rdsr_p95:.1f} ms; dciodvfy {'clean' if rdsr_clean else 'NOT clean'} | {verdict(rdsr_med < TARGETS['rdsr'] and rdsr_clean)} |",
    ]
    if qido is not None:
        rows.append(f"| QIDO-RS study search, Orthanc on loopback | median < {TARGETS['qido']:g} ms | median {qido[0]:.1f} ms, p95 {qido[1]:.1f} ms | {verdict(qido[0] < TARGETS['qido'])} |")
    else:
        rows.append("| QIDO-RS study search | - | Orthanc or its DICOMweb plugin not installed: not measured | MISS |")
    text = header("Connectors (DICOM, RDSR, DICOMweb)") + "\n" + "\n".join([
        "| what | target | measured | |", "|---|---|---|---|", *rows]) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "connectors.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(r.endswith("PASS |") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
