"""The daemon as a real process, feeding a real receiver over loopback ZeroMQ, with real OCR.

A short console session is made from the generated sample screens (see conftest.SESSION):
four distinct screens give four records, an unknown screen gives none, the first screen shown
again gives none.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml

from daemon_helpers import (ROOT, SECRET, Central, TEMPLATES, log_events, read_status, run_daemon, start_daemon,
                            stop_process)

pytestmark = pytest.mark.slow


def _personal_fields() -> set[str]:
    names = set()
    for path in TEMPLATES.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names |= {f["name"] for f in data.get("fields", []) if f.get("personal")}
    return names


def _accessions(records: list[dict]) -> list[str]:
    """The accession number each record carries (OCR may add a stray bracket at a box edge; it is marked invalid)."""
    return [re.sub(r"[^A-Z0-9]", "", str(r["fields"]["accession"]["value"])) for r in records]


def test_kill9_mid_stream_then_restart_every_record_arrives_once(central, make_station, session_video):
    config = make_station(central.endpoint, session_video.video)
    config.write_text(config.read_text().replace('kind = "file"', 'kind = "file"\npace = 1'))
    daemon = start_daemon(config, fast=False)  # live pace: surely still running after the first record
    try:
        got = central.wait_for(1, timeout=90)
        assert got, "no record reached the receiver before the kill"
        assert daemon.poll() is None, "the daemon ended before it could be killed mid-stream"
        stop_process(daemon, signal.SIGKILL)
        first_run = len(central.records())
        assert first_run < len(session_video.truth)
        daemon = start_daemon(config)  # --fast: the rest of the file as fast as it decodes
        assert daemon.wait(120) == 0
    finally:
        stop_process(daemon)
    records = central.records()
    # Exactly once: every screen identity once, nothing missing, nothing doubled.
    assert sorted(_accessions(records)) == sorted(session_video.accessions)
    assert len({r["id"] for r in records}) == len(records) == len(session_video.truth)
    assert central.receiver.store.gaps("test-st") == []
    status = read_status(config)
    assert status["state"] == "finished" and status["outbox_depth"] == 0
    assert status["unknown_screens"] == 1 and status["unknown_saved"] == 1


def test_sample_recording_gives_the_expected_records_privately(central, make_station, samples_dir):
    """The README's recording: one record per taught appearance (recording.json), none for the dialog,
    pointer moves, foreign screens; personal fields hashed or dropped; status and logs right."""
    video = samples_dir / "recording.mp4"
    meta = json.loads((samples_dir / "recording.json").read_text(encoding="utf-8"))
    expected = meta["expected_records"]
    taught = [a for a in meta["appearances"] if a["template_id"]]
    config = make_station(central.endpoint, video)
    run_daemon(config, timeout=180)
    records = central.records()
    assert [r["template"]["id"] for r in records] == [e["template_id"] for e in expected]
    assert _accessions(records) == [e["identity"]["accession"] for e in expected]
    assert len({r["identity"] for r in records}) == len(expected)

    personal = _personal_fields()
    bodies = "\n".join(central.raw_bodies())
    for truth, record in zip(taught, records):
        assert record["station"] == "test-st" and record["site"] == "test-site"
        for name in personal & set(truth["fields"]):
            clear = truth["fields"][name]
            assert clear not in bodies, f"{name} reached central in clear"
            if name == "patient_id":
                field = record["fields"]["patient_id"]
                assert field["value"].startswith("hmac-sha256:") and field["text"] == ""
                if field["valid"]:  # read right: the keyed hash of the true ID
                    token = "hmac-sha256:" + hmac.new(SECRET.encode(), clear.upper().encode(), hashlib.sha256).hexdigest()
                    assert field["value"] == token
            else:
                assert name not in record["fields"]  # dropped

    status = read_status(config)
    assert status["state"] == "finished"
    assert status["records_made"] == status["records_acked"] == len(expected)
    assert status["outbox_depth"] == 0 and status["frames_seen"] == meta["frame_count"]
    # every matched screen gave a record, was a repeat, or was held back for covered fields (the pointer on
    # a value) until a clear view of it came
    assert len(expected) + status["repeats"] <= status["screens_matched"] \
        <= len(expected) + status["repeats"] + status["covered_waits"]
    assert status["unknown_screens"] >= 3  # desktop, spreadsheet, the other vendor's CT page
    assert status["latency"]["settle_to_ack"]["count"] == len(expected)
    # Structured logs: no patient data anywhere; no field values at all, except in central's
    # feedback messages, which quote dose figures by design ("total_dlp 2955.33 ... above ...").
    events = log_events(config)
    assert sum(e.get("event") == "record" for e in events) == len(expected)
    assert sum(e.get("event") == "feedback" for e in events) == status["feedback_received"] > 0
    log_text = config.with_suffix(".log").read_text(encoding="utf-8")
    own_lines = "\n".join(json.dumps(e, ensure_ascii=False) for e in events if e.get("event") != "feedback")
    for truth in taught:
        for name, value in truth["fields"].items():
            if name in personal:
                assert str(value) not in log_text, f"{name} (personal) in the log"
            elif len(str(value)) >= 4:
                assert str(value) not in own_lines, f"{name} value in the daemon's own log lines"
    assert SECRET not in log_text


def test_sigterm_stops_cleanly_over_curve_and_keeps_the_outbox(make_station, session_video, tmp_path):
    """CURVE keys from the config (central allows only this station's key); SIGTERM mid-stream."""
    from qcedge.qc_client.keys import ServerKeys, generate_keypair

    generate_keypair(tmp_path / "central-keys", "server")
    generate_keypair(tmp_path / "stations", "test-st")
    central = Central(tmp_path / "central.sqlite", keys=ServerKeys.from_dir(tmp_path / "central-keys"),
                      allowed=tmp_path / "stations")
    try:
        config = make_station(central.endpoint, session_video.video)
        text = config.read_text().replace('kind = "file"', 'kind = "file"\npace = 1')  # live pace: still running
        text = text.replace('outbox = "var/outbox.sqlite"', 'outbox = "var/outbox.sqlite"\n'
                            'server_key = "central-keys/server.key"\nstation_key = "stations/test-st.key_secret"')
        config.write_text(text)
        daemon = start_daemon(config, fast=False)
        try:
            assert central.wait_for(1, timeout=90), "no record before SIGTERM"
            time.sleep(0.3)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(20) == 0
        finally:
            stop_process(daemon)
        assert central.records()[0]["station"] == "test-st"
    finally:
        central.close()
    status = read_status(config)
    assert status["state"] == "stopped"
    assert status["records_made"] >= 1 and status["records_made"] < len(session_video.truth)
    assert status["records_acked"] == status["records_made"] and status["outbox_depth"] == 0
    events = [e.get("event") for e in log_events(config)]
    assert "signal" in events and events[-1] == "stop"
    # `qcedge status` shows it (no site secret needed to read the status).
    shown = subprocess.run([sys.executable, "-m", "qcedge", "status", "--config", str(config)],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "state: stopped" in shown.stdout
    assert f"made {status['records_made']}, acked {status['records_acked']}, outbox depth 0" in shown.stdout
    # The outbox is a valid SQLite file the next start reuses.
    from qcedge.qc_client.outbox import Outbox

    with Outbox(tmp_path / "var" / "outbox.sqlite") as ob:
        assert ob.depth() == 0 and ob.last_seq("test-st") == status["records_made"]


def test_central_down_records_wait_in_the_outbox_then_arrive_once(make_station, session_video, tmp_path):
    """No receiver while the daemon runs: records stay in the outbox (status shows them); central comes
    back and the next start sends them: each arrives once, nothing is read twice into a new record."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"tcp://127.0.0.1:{port}"
    config = make_station(endpoint, session_video.video)
    run_daemon(config)
    status = read_status(config)
    assert status["state"] == "finished" and status["records_acked"] == 0
    assert status["records_made"] == status["outbox_depth"] == len(session_video.truth)

    central = Central(tmp_path / "central.sqlite", bind=endpoint)  # central is back
    try:
        run_daemon(config)
        records = central.records()
    finally:
        central.close()
    assert sorted(_accessions(records)) == sorted(session_video.accessions)
    status = read_status(config)
    assert status["records_made"] == 0 and status["repeats"] >= len(session_video.truth)  # remembered
    assert status["records_acked"] == len(session_video.truth) and status["outbox_depth"] == 0
