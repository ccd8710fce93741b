"""`qcedge dicom ...` and `qcedge http ...` as a user runs them, against real peers.

Most run the CLI's `main()` in this process (a subprocess costs seconds of imports on a busy
2-core machine); the receiver runs as a real subprocess and is stopped with SIGTERM."""
from __future__ import annotations

from dataclasses import dataclass

import json
import os
import signal
import subprocess
import time

import pydicom
from pydicom.data import get_testdata_file

import pytest

from conn_helpers import (
    ORTHANC_PASSWORD, ORTHANC_USER, PYTHON, ROOT, ct_dose_record, free_port, http_reply, wait_port,
)
from qcedge.connectors.dicom_net import send
from qcedge.connectors.peer import Peer
from qcedge.qc_client.record import Record
from qcedge.cli import main


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    def run(*args: str, env: dict | None = None) -> Ran:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse
            code = exc.code
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def test_read_json_gives_records_and_bad_files_one_line_each(cli, tmp_path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"garbage")
    out = cli("dicom", "read", "--json", "--station", "st9", "--site", "s1",
                  get_testdata_file("CT_small.dcm"), str(bad), get_testdata_file("MR_truncated.dcm"))
    assert out.returncode == 2
    records = [Record.from_json(line) for line in out.stdout.splitlines()]
    assert len(records) == 1 and records[0].station == "st9" and records[0].fields["kvp"].value == 120.0
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("qcedge dicom read: ") for e in errors)
    assert "not a DICOM file" in errors[0] and "truncated" in errors[1]
    assert "Traceback" not in out.stderr


def test_summary_hides_personal_fields(cli):
    out = cli("dicom", "read", get_testdata_file("CT_small.dcm"))
    assert out.returncode == 0
    assert "1CT1" not in out.stdout and "personal fields hidden: patient_name, patient_id" in out.stdout


STATION_TOML = """
[station]
id = "ct-room-1"
site = "hospital-a"
[source]
kind = "folder"
path = "frames"
[templates]
folder = "templates"
[feed]
endpoint = "tcp://127.0.0.1:7700"
outbox = "outbox.sqlite"
[privacy]
default = "drop"
secret_env = "QCEDGE_TEST_SITE_SECRET"
[privacy.fields]
patient_id = "hash"
[status]
file = "status.json"
"""


def test_receive_command_stores_puts_private_records_in_the_outbox_and_stops_cleanly(tmp_path):
    """`qcedge dicom receive --config station.toml`: records go through the station's privacy
    policy into its durable outbox, where the feed client picks them up."""
    from qcedge.qc_client.outbox import Outbox

    port, store = free_port(), tmp_path / "in"
    (tmp_path / "templates").mkdir()
    (tmp_path / "station.toml").write_text(STATION_TOML)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QCEDGE_TEST_SITE_SECRET="site-secret-for-tests")
    proc = subprocess.Popen([PYTHON, "-m", "qcedge", "dicom", "receive", "--aet", "QCEDGE", "--host", "127.0.0.1",
                             "--port", str(port), "--store", str(store), "--allow", "STORESCU",
                             "--config", str(tmp_path / "station.toml")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    outbox_path = tmp_path / "outbox.sqlite"
    try:
        wait_port(port, proc)
        sent = subprocess.run(["storescu", "-aec", "QCEDGE", "127.0.0.1", str(port),
                               get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")],
                              capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        refused = subprocess.run(["echoscu", "-aet", "OTHER", "-aec", "QCEDGE", "127.0.0.1", str(port)],
                                 capture_output=True, text=True, timeout=30)
        assert refused.returncode != 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if outbox_path.exists():
                with Outbox(outbox_path) as box:
                    if box.depth() >= 2:
                        break
            time.sleep(0.1)
        with Outbox(outbox_path) as box:
            items = box.pending()
        records = [Record.from_json(i.body) for i in items]
        assert sorted(r.modality for r in records) == ["CT", "MR"]
        ct = next(r for r in records if r.modality == "CT")
        assert ct.station == "ct-room-1" and ct.site == "hospital-a" and ct.fields["kvp"].value == 120.0
        assert "patient_name" not in ct.fields  # policy: drop
        assert ct.fields["patient_id"].value.startswith("hmac-sha256:")  # policy: hash
        assert "1CT1" not in ct.to_json() and "CompressedSamples" not in ct.to_json()
        assert len(list(store.rglob("*.dcm"))) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped; stored 2" in err and "rejected 1" in err
    assert "rejected association from AE 'OTHER'" in err
    assert "1CT1" not in err  # no patient data in the logs


def test_rdsr_from_a_record_fills_the_worklist_study_and_sends_to_storescp(cli, tmp_path, worklist, storescp):
    dest, received = storescp
    rec_file = tmp_path / "dose.json"
    record = ct_dose_record()
    del record.fields["accession"]  # the screen lacks it: the worklist fills it in
    rec_file.write_text(record.to_json())
    out = cli("dicom", "rdsr", "--record", str(rec_file), "--mwl", f"WLQ@127.0.0.1:{worklist.port}",
                  "--send", f"DEST@127.0.0.1:{dest.port}", "--out", str(tmp_path / "sr.dcm"), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["accession_number"] == "CT0000000101" and summary["sent"] is True
    assert summary["completion"] == "COMPLETE"
    files = list(received.iterdir())
    assert len(files) == 1
    sr = pydicom.dcmread(files[0])
    assert sr.AccessionNumber == "CT0000000101" and sr.SOPInstanceUID == summary["sop_instance_uid"]
    assert sr.StudyInstanceUID == summary["study_instance_uid"]
    assert pydicom.dcmread(tmp_path / "sr.dcm").SOPInstanceUID == sr.SOPInstanceUID


def test_rdsr_refuses_a_record_that_needs_review(cli, tmp_path):
    rec_file = tmp_path / "dose.json"
    rec_file.write_text(ct_dose_record(bad_cell=(2, "dlp")).to_json())
    out = cli("dicom", "rdsr", "--record", str(rec_file), "--out", str(tmp_path / "sr.dcm"))
    assert out.returncode == 1 and "needs review" in out.stderr and "series[2].dlp" in out.stderr
    assert not (tmp_path / "sr.dcm").exists()


def test_find_at_prints_the_accession_number(cli, worklist):
    out = cli("dicom", "find", f"WLQ@127.0.0.1:{worklist.port}", "--worklist", "--patient-id", "0012345678",
                  "--at", "2026-11-27T15:10")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "CT0000000102"


def test_http_qido_with_password_from_the_environment(cli, orthanc):
    peer = Peer(orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    assert all(r.ok for r in send(peer, [get_testdata_file("CT_small.dcm")]))
    out = cli("http", "qido", orthanc.dicomweb, "-q", "PatientID=1CT1", "--user", ORTHANC_USER,
                  env={"QCEDGE_HTTP_PASSWORD": ORTHANC_PASSWORD})
    assert out.returncode == 0, out.stderr
    assert "study=1.3.6.1.4.1.5962.1.2.1.20040119072730.12322" in out.stdout and "modalities=CT" in out.stdout
    denied = cli("http", "qido", orthanc.dicomweb, "--user", ORTHANC_USER, env={"QCEDGE_HTTP_PASSWORD": "nope"})
    assert denied.returncode == 1 and "HTTP 401" in denied.stderr and "nope" not in denied.stderr


def test_usage_errors_are_one_line_exit_2(cli, tmp_path):
    for args in (["dicom", "echo", "not-a-peer"], ["dicom", "rdsr", "--record", str(tmp_path / "r.json")],
                 ["http", "qido", "ftp://x"], ["dicom", "find", "A@h:1", "--at", "yesterday", "--patient-id", "1"],
                 ["dicom", "find", "A@h:1", "--at", "2026-11-27T15:10", "--patient-id", "1", "--window-hours", "nan"],
                 ["dicom", "find", "A@h:1", "--at", "2026-11-27T15:10", "--patient-id", "1", "--window-hours", "1e20"],
                 ["dicom", "receive", "--store", str(tmp_path), "--port", "0", "--allow", "BAD\\AE"],
                 ["dicom", "receive", "--store", str(tmp_path), "--port", "0", "--allow-host", "not-an-address"]):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_echo_and_send_commands(cli, storescp, tmp_path):
    dest, received = storescp
    peer = f"DEST@127.0.0.1:{dest.port}"
    ok = cli("dicom", "echo", peer)
    assert ok.returncode == 0 and "C-ECHO ok" in ok.stdout
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"nope")
    sent = cli("dicom", "send", peer, get_testdata_file("MR_small.dcm"), str(bad))
    assert sent.returncode == 1
    assert "MR_small.dcm: sent" in sent.stdout and "bad.dcm: FAILED (" in sent.stdout
    assert len(list(received.iterdir())) == 1
    down = cli("dicom", "echo", f"DEST@127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "cannot connect to DEST@127.0.0.1" in down.stderr


def test_http_get_with_a_bearer_token_from_the_environment_and_wado_metadata(cli, tiny_server, orthanc):
    seen = []
    server = tiny_server(lambda n, req: (seen.append(req), http_reply("200 OK", b'{"orders": [{"accession": "CT1"}]}'))[1])
    out = cli("http", "get", f"{server.url}/api/orders", "-q", "patient=0012345678", "--token-env", "RIS_TOKEN",
              env={"RIS_TOKEN": "ris-bearer-token"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"orders": [{"accession": "CT1"}]}
    assert b"Bearer ris-bearer-token" in seen[0] and b"patient=0012345678" in seen[0]
    missing = cli("http", "get", server.url, "--token-env", "NOT_SET_ANYWHERE")
    assert missing.returncode == 2 and "no bearer token" in missing.stderr

    peer = Peer(orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    assert all(r.ok for r in send(peer, [get_testdata_file("CT_small.dcm")]))
    meta = cli("http", "wado-metadata", orthanc.dicomweb, "--study", "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
               "--user", ORTHANC_USER, env={"QCEDGE_HTTP_PASSWORD": ORTHANC_PASSWORD})
    assert meta.returncode == 0, meta.stderr
    objs = json.loads(meta.stdout)
    assert float(objs[0]["00180060"]["Value"][0]) == 120.0  # KVP of CT_small


def test_a_bad_dicom_file_exits_2_and_a_peer_that_is_down_exits_1(cli, tmp_path):
    """Our errors reach qcedge.cli.main unwrapped: bad input (a DICOM file) 2, a failed operation 1."""
    broken = tmp_path / "screen.dcm"
    broken.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10")  # the prefix, then a cut-off element
    bad = cli("dicom", "rdsr", "--template", str(tmp_path / "t.yaml"), str(broken), "--out", str(tmp_path / "sr.dcm"))
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.startswith("qcedge dicom: ") and "screen.dcm" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    down = f"DEST@127.0.0.1:{free_port()}"
    sent = cli("dicom", "send", down, get_testdata_file("CT_small.dcm"), "--timeout", "5")
    assert sent.returncode == 1 and "cannot connect to DEST@127.0.0.1" in sent.stderr
    assert len(sent.stderr.strip().splitlines()) == 1
    http = cli("http", "get", f"http://127.0.0.1:{free_port()}/api", "--retries", "0")
    assert http.returncode == 1 and http.stderr.startswith("qcedge http: ") and "cannot connect" in http.stderr
