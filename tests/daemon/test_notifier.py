"""The on-screen notifier: feedback on top without taking the keyboard from the console; Acknowledge reaches central."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from qcedge.notify import Acknowledgement, Feedback, Notifier, WindowNotifier

CONSOLE = textwrap.dedent("""
    import sys, tkinter as tk
    root = tk.Tk(); root.title("console"); root.geometry("600x200+50+300")
    entry = tk.Entry(root); entry.pack(fill="x")
    def done(_e):
        print(entry.get(), flush=True); entry.delete(0, "end")
    entry.bind("<Return>", done)
    root.after(100, lambda: (entry.focus_force(), print("ready", flush=True)))
    root.mainloop()
""")


def _xdo(*args: str) -> str:
    return subprocess.run(["xdotool", *args], check=True, capture_output=True, text=True, timeout=10).stdout.strip()


def _until(cond, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def console(xvfb):
    """A Tk 'console program' holding the keyboard focus; yields (process, its X window id)."""
    proc = subprocess.Popen([sys.executable, "-c", CONSOLE], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        wid = _until(lambda: _xdo("search", "--name", "^console$").split()[:1], what="console window")[0]
        _xdo("windowfocus", "--sync", wid)
        yield proc, wid
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def window_notifier(xvfb):
    acks: list[Acknowledgement] = []
    got = threading.Event()

    def on_ack(ack: Acknowledgement) -> None:
        acks.append(ack)
        got.set()

    wn = WindowNotifier(on_ack=on_ack, env={**os.environ, "QT_QPA_PLATFORM": "xcb"})
    wn.got = got  # type: ignore[attr-defined]
    wn.received = acks  # type: ignore[attr-defined]
    try:
        yield wn
    finally:
        wn.close()


@pytest.mark.display
def test_feedback_on_top_never_takes_the_keyboard_and_acknowledge_answers(console, window_notifier, caplog):
    proc, console_wid = console
    notifier = Notifier(desktop=False, window=window_notifier)
    assert _xdo("getwindowfocus") == console_wid
    notifier.show(Feedback("r-7", "alert", "CTDIvol 31.2 mGy above the reference level 25", "ct_dose_report",
                           "ct-ctdivol"))
    assert window_notifier.shown.wait(20), "the notifier window did not show the feedback"
    placed = window_notifier.placed
    assert placed["record_id"] == "r-7" and placed["pending"] == 1 and placed["title"] == "QC ALERT — ct_dose_report"
    # the notifier's window is mapped and visible on the display ...
    assert _until(lambda: _xdo("search", "--onlyvisible", "--name", "^qcedge QC$"), what="notifier window mapped")
    # ... and the console still has the keyboard: what the technologist types reaches it
    assert _xdo("getwindowfocus") == console_wid
    _xdo("type", "--delay", "20", "DLP 412")
    _xdo("key", "Return")
    assert proc.stdout.readline().strip() == "DLP 412"
    # clicking Acknowledge answers with the record and rule, and still leaves the keyboard to the console
    x, y, w, h = placed["button"]
    _xdo("mousemove", "--sync", str(x + w // 2), str(y + h // 2))
    _xdo("click", "1")
    assert window_notifier.got.wait(10), "no acknowledgement from the notifier"
    [ack] = window_notifier.received
    assert (ack.record_id, ack.rule, ack.level) == ("r-7", "ct-ctdivol", "alert") and ack.at.endswith("+00:00")
    assert _xdo("getwindowfocus") == console_wid
    _xdo("type", "--delay", "20", "ok")
    _xdo("key", "Return")
    assert proc.stdout.readline().strip() == "ok"
    # nothing left to acknowledge: the window is gone
    _until(lambda: not subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^qcedge QC$"],
                                      capture_output=True).stdout.strip(), what="notifier window hidden")


def _wait_acks(store, n: int, timeout: float = 15.0) -> list[dict]:
    return _until(lambda: (rows := store.acknowledgements()) and len(rows) >= n and rows, timeout, "stored acks")


def test_acknowledgement_reaches_central_and_is_stored(tmp_path: Path):
    """A real FeedClient sends the technologist's acknowledgement to a real Receiver on loopback, which stores it."""
    from qcedge.qc_client.client import FeedClient
    from qcedge.qc_client.outbox import Outbox
    from qcedge.qc_client.protocol import encode
    from qcedge.qc_client.receiver import Receiver

    receiver = Receiver("tcp://127.0.0.1:*", tmp_path / "central.sqlite").start()
    client = FeedClient(receiver.endpoint, Outbox(tmp_path / "outbox.sqlite"), "ct-3", heartbeat=0.2)
    try:
        # acknowledged while central has not answered yet: it waits, then goes out once central is heard
        client.acknowledge("rec-42", rule="ct-ctdivol", level="alert", by="tech1", at="2026-01-02T03:04:05.000+00:00")
        client.start()
        [row] = _wait_acks(receiver.store, 1)
        assert row["station"] == "ct-3" and row["record_id"] == "rec-42" and row["rule"] == "ct-ctdivol"
        assert (row["level"], row["acknowledged_by"], row["acknowledged_at"]) == \
            ("alert", "tech1", "2026-01-02T03:04:05.000+00:00")
        assert receiver.stats().feedback_acks == 1 and client.stats().feedback_acks == 1
        # a feedback_ack that claims another station than its connection is dropped, and the receiver serves on
        import zmq

        ctx = zmq.Context.instance()
        rogue = ctx.socket(zmq.DEALER)
        rogue.setsockopt(zmq.IDENTITY, b"ct-9")
        rogue.setsockopt(zmq.LINGER, 0)
        rogue.connect(receiver.endpoint)
        before = receiver.stats().malformed
        rogue.send_multipart(encode("feedback_ack", {"station": "ct-3", "record_id": "rec-43"}, {}))
        _until(lambda: receiver.stats().malformed > before, what="rogue ack counted malformed")
        rogue.close()
        client.acknowledge("rec-44")
        rows = _wait_acks(receiver.store, 2)
        assert [r["record_id"] for r in rows] == ["rec-42", "rec-44"]
        assert receiver.store.acknowledgements("rec-44")[0]["acknowledged_at"]  # stamped by the station
    finally:
        client.stop()
        client.outbox.close()
        receiver.close()


def test_feedback_ack_wire_checks():
    from qcedge.qc_client.protocol import ProtocolError, decode, encode

    msg = decode(encode("feedback_ack", {"station": "ct-3", "record_id": "r"}, {"rule": "x", "by": None}))
    assert msg.kind == "feedback_ack" and msg.body["rule"] == "x"
    for header, body in (({"station": "ct-3", "record_id": ""}, {}),
                         ({"station": "ct-3"}, {}),
                         ({"station": "ct-3", "record_id": "r"}, {"rule": ["x"]}),
                         ({"station": "ct-3", "record_id": "r"}, {"at": "t" * 300})):
        with pytest.raises(ProtocolError):
            decode(encode("feedback_ack", header, body))


@pytest.mark.display
def test_daemon_with_notify_window_shows_feedback_and_sends_the_acknowledgement(xvfb, console, tmp_path, monkeypatch):
    """[notify] window = true: the daemon's feedback path shows the window; Acknowledge is stored at central."""
    from daemon_helpers import Central, station_toml

    from qcedge.qc_client.feedback import Feedback as FeedFeedback
    from qcedge.config import load_config
    from qcedge.daemon import Daemon

    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")  # another test module may have asked Qt for offscreen
    central = Central(tmp_path / "central.sqlite")
    daemon = None
    try:
        cfg = load_config(station_toml(tmp_path, central.endpoint, tmp_path / "none.mp4",
                                       extra="\n[notify]\nwindow = true\n"))
        (tmp_path / "plain").mkdir()
        assert not load_config(station_toml(tmp_path / "plain", central.endpoint, tmp_path / "x.mp4")).notify.window
        daemon = Daemon(cfg)
        daemon._start_feed()
        assert daemon.notifier.window.start() and daemon.notifier.window.proc.poll() is None
        daemon.feedback.screens["rec-9"] = "ct_dose_report"  # the record the daemon made for this screen
        daemon.feedback.from_central(FeedFeedback(record_id="rec-9", level="warn", message="DLP above the reference level",
                                         rule="ct-dlp"))
        window = daemon.notifier.window
        assert window.shown.wait(20)
        assert window.placed["title"] == "QC WARN — ct_dose_report"
        _, console_wid = console
        assert _xdo("getwindowfocus") == console_wid
        x, y, w, h = window.placed["button"]
        _xdo("mousemove", "--sync", str(x + w // 2), str(y + h // 2))
        _xdo("click", "1")
        [row] = _wait_acks(central.receiver.store, 1)
        assert (row["station"], row["record_id"], row["rule"], row["level"]) == ("test-st", "rec-9", "ct-dlp", "warn")
        assert row["acknowledged_by"] and row["acknowledged_at"]
        assert _xdo("getwindowfocus") == console_wid
    finally:
        if daemon is not None:
            daemon.notifier.close()
            if daemon.client is not None:
                daemon.client.stop()
                daemon.outbox.close()
        central.close()


def test_a_dead_window_never_stops_the_caller_and_is_started_again(tmp_path, caplog):
    """Killing the window process: feedback is only logged until the restart delay, then a new window shows it."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # no display needed for this one
    wn = WindowNotifier(env=env, restart_after=3600)
    notifier = Notifier(desktop=False, window=wn)
    try:
        notifier.show(Feedback("r-1", "info", "Dose µGy·m² recorded — thanks", "dx_exposure", "dx-ok"))
        assert wn.shown.wait(20) and wn.placed["title"] == "QC INFO — dx_exposure"
        first = wn.proc
        wn.shown.clear()
        wn.proc.stdin.write("not json\n[1, 2]\n{\"no\": \"record\"}\n")  # no feedback: ignored
        wn.proc.stdin.flush()
        wn.proc.stdin.buffer.write(b"\xff\xfe{\n")  # not UTF-8
        wn.proc.stdin.buffer.flush()
        notifier.show(Feedback("r-1b", "ok", "fine \udcff", "t\ud800"))  # lone surrogates: still shown
        assert wn.shown.wait(20) and (wn.placed["record_id"], wn.placed["pending"]) == ("r-1", 2)
        wn.shown.clear()
        notifier.show(Feedback("r-1c", "ok", "fine"))
        assert wn.shown.wait(20) and (wn.placed["record_id"], wn.placed["pending"]) == ("r-1", 3)
        first.kill()
        first.wait(10)
        assert wn.show(Feedback("r-2", "warn", "m")) is False  # within the restart delay: only the log line
        wn.restart_after = 0
        wn.shown.clear()
        notifier.show(Feedback("r-3", "alert", "EI 912 above the alert level", None, "dx-ei"))
        assert wn.shown.wait(20) and wn.proc is not first
        assert wn.placed["record_id"] == "r-3" and wn.placed["title"] == "QC ALERT — unknown screen"
    finally:
        wn.close()
    assert wn.proc is None and first.returncode is not None


def test_no_display_means_log_only(caplog):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    wn = WindowNotifier(env=env)
    with caplog.at_level("INFO", logger="qcedge.notify"):
        assert not wn.start()
        Notifier(desktop=False, window=wn).show(Feedback("r-1", "warn", "m"))
    assert wn.proc is None
    assert [r.getMessage() for r in caplog.records].count(
        "[notify] window: no display (DISPLAY unset); feedback is only logged") == 1
    assert any(getattr(r, "ctx", {}).get("record_id") == "r-1" for r in caplog.records)  # the log line remains
