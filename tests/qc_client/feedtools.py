"""Helpers and fixtures for the feed tests: records, a receiver in a thread, fast client settings, CLI processes."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
import zmq

from qcedge.qc_client.record import CheckValue, FieldValue, Record, TemplateRef
from qcedge.qc_client.keys import ClientKeys
from qcedge.qc_client.protocol import decode, encode
from qcedge.qc_client.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

# heartbeat and backoff short enough that the whole area runs in well under a minute
FAST = dict(heartbeat=0.1, liveness=3, reconnect_min=0.1, reconnect_max=0.4, ack_timeout=0.5, resend_max=1.0)


def make_record(i: int = 0, station: str = "st1", *, site: str = "hospital-a", modality: str = "CT",
                template: str = "ct-dose", status: str = "complete", record_id: str | None = None,
                **values: object) -> Record:
    fields = {name: FieldValue(value=v, text=str(v)) for name, v in values.items()}
    fields.setdefault("accession", FieldValue(value=f"ACC{i:06d}", text=f"ACC{i:06d}"))
    return Record(id=record_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"qcedge-test/{station}/{i}")),
                  station=station, site=site, source="test", modality=modality,
                  template=TemplateRef(id=template, version="1"), fields=fields, status=status,
                  checks=[CheckValue(name="dlp_sum", ok=True)])


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(bind: str = "tcp://127.0.0.1:*", db: str | Path | None = None, **kw) -> Receiver:
        r = Receiver(bind, db or tmp_path / "central.sqlite", synchronous="NORMAL", **kw)
        made.append(r)
        return r.start()

    yield make
    for r in made:
        r.close()


class CliProcess:
    """A `python -m qcedge ...` child process with its stdout collected line by line."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen([PY, "-m", "qcedge", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})

    def readline(self, timeout: float = 20.0) -> str:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise TimeoutError("no output from child process")
        return self.proc.stdout.readline()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


@pytest.fixture
def cli() -> Iterator[Callable[..., CliProcess]]:
    procs: list[CliProcess] = []

    def start(*args: str) -> CliProcess:
        p = CliProcess(*args)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.communicate()


def record_frames(rec, seq, **kw):
    header = {"station": rec.station, "seq": seq, "record_id": rec.id, "template": "ct-dose"}
    return encode("record", header, rec.to_json(), **kw)


class RawStation:
    """A bare DEALER speaking the protocol by hand (to send what a FeedClient never would)."""

    def __init__(self, endpoint: str, identity: bytes = b"st1", keys: ClientKeys | None = None) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, identity)
        self.sock.setsockopt(zmq.LINGER, 0)
        if keys is not None:
            self.sock.curve_secretkey, self.sock.curve_publickey = keys.secret, keys.public
            self.sock.curve_serverkey = keys.server_public
        self.sock.connect(endpoint)

    def send(self, frames) -> None:
        self.sock.send_multipart(frames)

    def recv(self, timeout: float = 5.0):
        if not self.sock.poll(timeout * 1000):
            return None
        return decode(self.sock.recv_multipart())

    def recv_kind(self, kind: str, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.recv(left)
            if msg is not None and msg.kind == kind:
                return msg
        return None

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def rejection(endpoint: str, record: Record, *, identity: bytes = b"st1", keys: ClientKeys | None = None) -> str:
    """Send one record (seq 1) from a raw station; the error of the `rejected` ack it must get."""
    st = RawStation(endpoint, identity=identity, keys=keys)
    try:
        st.send(record_frames(record, 1))
        ack = st.recv_kind("ack")
    finally:
        st.close()
    assert ack is not None and ack.header["status"] == "rejected", ack and ack.header
    return ack.header["error"]
