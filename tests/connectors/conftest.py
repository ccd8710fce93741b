"""Real DICOM and HTTP peers on loopback for the connector tests: dcmtk tools, Orthanc with
DICOMweb, and small misbehaving HTTP servers. Every process is stopped in teardown."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from conn_helpers import (
    ORTHANC_PASSWORD, ORTHANC_USER, WORKLIST, OrthancPeer, Peer, TinyServer, dicomweb_plugin, free_port,
    wait_port, worklist_scp,
)


@pytest.fixture
def tmp_store(tmp_path: Path) -> Path:
    d = tmp_path / "store"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancPeer]:
    """One Orthanc (PACS with DICOMweb) on loopback for the whole session."""
    if shutil.which("Orthanc") is None:
        pytest.fail("Orthanc is not installed (Debian package orthanc)")
    base = tmp_path_factory.mktemp("orthanc")
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "qcedge-test", "StorageDirectory": str(base / "db"), "IndexDirectory": str(base / "db"),
        "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "ORTHANC",
        "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {ORTHANC_USER: ORTHANC_PASSWORD},
        "Plugins": [dicomweb_plugin()], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowFind": True, "DicomAlwaysAllowStore": True,
        "DicomCheckCalledAet": True, "ConcurrentJobs": 1, "HttpThreadsCount": 4, "StorageCompression": False,
        "SaveJobs": False, "HttpDescribeErrors": True,
    }
    cfg = base / "orthanc.json"
    cfg.write_text(json.dumps(config))
    peer = Peer(["Orthanc", str(cfg)], http_port, cwd=base)
    wait_port(dicom_port, peer.proc)
    try:
        yield OrthancPeer(http_port, dicom_port, "ORTHANC", peer)
    finally:
        peer.stop(grace=1.0)  # its storage is a temporary folder: no need to wait for a clean shutdown


@pytest.fixture(scope="session")
def worklist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """dcmtk's worklist SCP (wlmscpfs) serving WORKLIST under the AE title WLQ."""
    with worklist_scp(tmp_path_factory.mktemp("wlm"), WORKLIST) as peer:
        yield peer


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[tuple[Peer, Path]]:
    """dcmtk's storescp as a C-STORE destination (AE title DEST), writing into a folder."""
    out = tmp_path / "storescp"
    out.mkdir()
    port = free_port()
    peer = Peer(["storescp", "--aetitle", "DEST", "--output-directory", str(out), str(port)], port)
    try:
        yield peer, out
    finally:
        peer.stop()


@pytest.fixture
def tiny_server():
    servers: list[TinyServer] = []

    def make(behaviour) -> TinyServer:
        s = TinyServer(behaviour)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
