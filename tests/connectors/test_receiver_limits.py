"""The receiver refuses what it cannot answer and cannot be locked out by idle connections."""
from __future__ import annotations

import logging
import socket
import subprocess
import time

import pytest
from pydicom.data import get_testdata_file

from conn_helpers import PYTHON, ROOT
from qcedge.connectors.receiver import Receiver, ReceiverConfig


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def test_worklist_and_query_contexts_are_refused_not_accepted_and_failed(tmp_store, caplog):
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store)).start()
    try:
        with caplog.at_level(logging.INFO):
            worklist = run("findscu", "-W", "-aec", "QCEDGE", "-k", "PatientName=A*", "127.0.0.1", str(rx.port))
            study = run("findscu", "-S", "-aec", "QCEDGE", "-k", "QueryRetrieveLevel=STUDY", "127.0.0.1", str(rx.port))
        for out in (worklist, study):
            assert out.returncode != 0 and "No Acceptable Presentation Contexts" in out.stderr
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no traceback or error in the log"
        # private and standard storage classes are still accepted
        assert run("storescu", "-aec", "QCEDGE", "127.0.0.1", str(rx.port),
                   get_testdata_file("CT_small.dcm")).returncode == 0
        assert rx.stats["stored"] == 1
    finally:
        rx.stop()


def _closed_by_peer(sock: socket.socket, deadline: float) -> bool:
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except OSError:
        return False


def test_idle_connections_are_closed_and_modalities_get_in_again(tmp_store):
    """More idle TCP connections than the association limit: the receiver closes each after the
    ACSE timeout, and a modality that comes afterwards is served."""
    rx = Receiver(ReceiverConfig(port=0, store_dir=tmp_store, max_associations=3, acse_timeout=1.0)).start()
    idle = []
    try:
        for _ in range(6):
            idle.append(socket.create_connection(("127.0.0.1", rx.port)))
        deadline = time.monotonic() + 30
        assert all(_closed_by_peer(s, deadline) for s in idle), "idle connections must be closed by the receiver"
        out = run("echoscu", "-aec", "QCEDGE", "127.0.0.1", str(rx.port))
        assert out.returncode == 0, out.stderr
    finally:
        for s in idle:
            s.close()
        rx.stop()


@pytest.mark.parametrize("option, value, words", [
    ("--max-associations", "0", "max associations 0 must be between 1 and 1000"),
    ("--acse-timeout", "nan", "acse timeout nan must be a number of seconds above 0"),
    ("--network-timeout", "-1", "network timeout -1.0 must be a number of seconds above 0"),
])
def test_bad_limits_are_one_line_and_exit_2(tmp_path, option, value, words):
    out = subprocess.run([PYTHON, "-m", "qcedge", "dicom", "receive", "--store", str(tmp_path / "s"), "--port", "0",
                          option, value], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and words in out.stderr, out.stderr
