"""No acknowledged object is ever lost by the receiver: concurrent senders storing the same
SOP Instance UIDs (pynetdicom and dcmtk's storescu at once), changed objects sent again, and
kill -9 of the receiving process in the middle of a stream."""
from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, _config

from conn_helpers import PYTHON, ROOT, free_port, wait_port
from qcedge.connectors.receiver import Receiver, ReceiverConfig, variant_path
from qcedge.intake import make_store_handler

CT = "1.2.840.10008.5.1.4.1.1.2"


def make_objects(folder: Path, count: int, tag: str, *, prefix: str = "1.2.826.0.1.3680043.10.777") -> list[Path]:
    """`count` CT objects with the UIDs prefix.1 .. prefix.count; `tag` changes their content."""
    folder.mkdir(parents=True, exist_ok=True)
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    out = []
    for i in range(1, count + 1):
        ds = copy.deepcopy(base)
        ds.SOPInstanceUID = f"{prefix}.{i}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.StationName = tag
        path = folder / f"{tag}-{i}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out


def pynetdicom_sender(port: int, files: list[Path], acked: list[Path], pause: float = 0.0) -> None:
    """Send `files` one by one; note each one the receiver answered Success."""
    ae = AE("MODALITY")
    ae.add_requested_context(CT, [ExplicitVRLittleEndian])
    assoc = ae.associate("127.0.0.1", port, ae_title="QCEDGE")
    if not assoc.is_established:
        return
    try:
        for path in files:
            if not assoc.is_established:  # the receiver went away: the rest is not acknowledged
                return
            status = assoc.send_c_store(path)
            if status and status.get("Status") == 0x0000:
                acked.append(path)
            if pause:
                time.sleep(pause)
    finally:
        if assoc.is_established:
            assoc.release()


def storescu(port: int, files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(["storescu", "-aet", "STORESCU", "-aec", "QCEDGE", "127.0.0.1", str(port),
                           *map(str, files)], capture_output=True, text=True, timeout=120)


def stored_by_uid(store: Path) -> dict[str, list[bytes]]:
    """The stored datasets' bytes (without the file meta) grouped by SOP Instance UID."""
    out: dict[str, list[bytes]] = {}
    for path in store.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        out.setdefault(str(ds.SOPInstanceUID), []).append(ds.StationName)
    return out


@pytest.fixture
def chunked(monkeypatch):
    """pynetdicom sends each file's bytes as they are (as storescu sends what it read)."""
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)


def test_identical_and_changed_objects_sent_concurrently_nothing_lost_nothing_doubled(tmp_path, tmp_store, chunked):
    count = 20
    first = make_objects(tmp_path / "a", count, "FIRST")
    changed = make_objects(tmp_path / "b", count, "CHANGED")  # the same UIDs, other content
    records: list = []
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store, max_associations=8),
                  make_store_handler("st", "site", records.append)).start()
    try:
        acked: list[list[Path]] = [[] for _ in range(4)]
        outs: list[subprocess.CompletedProcess] = []
        threads = [
            threading.Thread(target=pynetdicom_sender, args=(rx.port, first, acked[0])),
            threading.Thread(target=pynetdicom_sender, args=(rx.port, first, acked[1])),
            threading.Thread(target=pynetdicom_sender, args=(rx.port, changed, acked[2])),
            threading.Thread(target=pynetdicom_sender, args=(rx.port, changed, acked[3])),
            threading.Thread(target=lambda: outs.append(storescu(rx.port, first))),
            threading.Thread(target=lambda: outs.append(storescu(rx.port, changed))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(len(a) == count for a in acked)
        assert all(o.returncode == 0 for o in outs), [o.stderr[-500:] for o in outs]
        assert rx.wait_idle(60)
        # every acknowledged object is on disk: for each UID its first and its changed content
        on_disk = stored_by_uid(tmp_store)
        assert len(on_disk) == count
        assert all(sorted(v) == ["CHANGED", "FIRST"] for v in on_disk.values())
        # six senders, 40 distinct objects: stored once each, one record each
        assert rx.stats["stored"] == 2 * count and rx.stats["duplicates"] == 4 * count
        assert len(records) == 2 * count
        assert sorted({r.fields["station_name"].value for r in records}) == ["CHANGED", "FIRST"]
    finally:
        rx.stop()
    # a file's name always carries its own UID (a changed object is never "<uid>.1.dcm", which
    # is the name of the real UID "<uid>.1"); a variant's name is "<uid>_<hash of its bytes>.dcm"
    for path in tmp_store.rglob("*.dcm"):
        uid = str(pydicom.dcmread(path).SOPInstanceUID)
        assert path.name in (f"{uid}.dcm", variant_path(path.with_name(f"{uid}.dcm"), path.read_bytes()).name)
    assert not list(tmp_store.rglob("*.part"))


def test_a_real_uid_ending_in_dot_one_does_not_collide_with_a_changed_object(tmp_path, tmp_store, chunked):
    """`X` changed and `X.1` (a real, different UID) are both kept."""
    x = make_objects(tmp_path / "x", 1, "ONE", prefix="1.2.826.0.1.3680043.10.778")  # UID ...778.1
    x_changed = make_objects(tmp_path / "y", 1, "TWO", prefix="1.2.826.0.1.3680043.10.778")
    x_dot_1 = make_objects(tmp_path / "z", 1, "THREE", prefix="1.2.826.0.1.3680043.10.778.1")  # UID ...778.1.1
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store)).start()
    try:
        acked: list[Path] = []
        pynetdicom_sender(rx.port, x + x_changed + x_dot_1, acked)
        assert len(acked) == 3
    finally:
        rx.stop()
    on_disk = stored_by_uid(tmp_store)
    assert sorted(on_disk["1.2.826.0.1.3680043.10.778.1"]) == ["ONE", "TWO"]
    assert on_disk["1.2.826.0.1.3680043.10.778.1.1"] == ["THREE"]


def _start_receiver(port: int, store: Path, records: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([PYTHON, "-m", "qcedge", "dicom", "receive", "--host", "127.0.0.1",
                             "--port", str(port), "--store", str(store), "--records", str(records),
                             "--station", "st-1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_port(port, proc, timeout=60)
    return proc


def test_kill_9_of_the_receiver_loses_no_acknowledged_object(tmp_path, tmp_store, chunked):
    """Three senders stream objects; the receiving process is killed with SIGKILL mid-stream.
    Every object that got Success is on disk, intact, and (after a restart) has its record."""
    files = [make_objects(tmp_path / f"s{k}", 25, f"S{k}", prefix=f"1.2.826.0.1.3680043.10.779.{k}")
             for k in range(3)]
    records_file = tmp_path / "records.jsonl"
    port = free_port()
    proc = _start_receiver(port, tmp_store, records_file)
    acked: list[list[Path]] = [[] for _ in files]
    threads = [threading.Thread(target=pynetdicom_sender, args=(port, f, a, 0.02)) for f, a in zip(files, acked)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(list(tmp_store.rglob("*.dcm"))) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        for t in threads:
            t.join(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    all_acked = [p for a in acked for p in a]
    # 10 or more were on disk at the kill; up to one per sender may not have had its Success yet
    assert 10 - len(files) <= len(all_acked) < 75, "the kill should land in the middle of the stream"
    stored = {str(pydicom.dcmread(p).SOPInstanceUID): p for p in tmp_store.rglob("*.dcm")}
    for path in all_acked:
        uid = str(pydicom.dcmread(path).SOPInstanceUID)
        assert uid in stored, f"{path.name} was acknowledged but is not on disk"
        assert pydicom.dcmread(stored[uid]).PixelData == pydicom.dcmread(path).PixelData
    # the restart removes half-written temporary files and processes what was never processed
    proc = _start_receiver(port, tmp_store, records_file)
    try:
        assert subprocess.run(["echoscu", "-aec", "QCEDGE", "127.0.0.1", str(port)], timeout=30).returncode == 0
        deadline = time.monotonic() + 60
        wanted = {str(pydicom.dcmread(p).SOPInstanceUID) for p in all_acked}
        seen: set[str] = set()
        while time.monotonic() < deadline:
            lines = records_file.read_text(encoding="utf-8").splitlines() if records_file.exists() else []
            seen = {json.loads(line)["fields"]["sop_instance_uid"]["value"] for line in lines if line.strip()}
            if wanted <= seen:
                break
            time.sleep(0.1)
        assert wanted <= seen, f"{len(wanted - seen)} acknowledged objects have no record"
        assert not list(tmp_store.rglob("*.part"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
