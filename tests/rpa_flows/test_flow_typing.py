"""Typing arrives exactly in a real Qt window on Xvfb: every printable ASCII character and Chinese."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.display


@pytest.fixture
def echo(xvfb, tmp_path):
    out, ready = tmp_path / "text.txt", tmp_path / "ready"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    proc = subprocess.Popen([sys.executable, str(HERE / "echo_window.py"), str(out), str(ready)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    yield out
    proc.terminate()
    proc.wait(5)


def settle_read(path: Path, want: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    got = ""
    while time.monotonic() < deadline:
        got = path.read_text(encoding="utf-8") if path.exists() else ""
        if got == want:
            break
        time.sleep(0.05)
    return got


@pytest.mark.parametrize("method", ["auto", "clipboard"])
def test_every_printable_ascii_and_chinese_arrive_exactly(echo, method):
    from qcedge.rpa_flows.inputs import LiveInput

    text = "".join(chr(c) for c in range(32, 127)) + "患者姓名：欧阳娜娜，检查（CT）；备注。" + "a<b>c" + "𠀀é€"
    inp = LiveInput(failsafe=False, pause=0.01)
    try:
        inp.click(600, 220)
        inp.type_text(text, method)
    finally:
        inp.close()
    assert settle_read(echo, text) == text


def test_pyautogui_alone_would_not_do(echo):
    """Why the player does not use pyautogui.write: it loses the Chinese (the reason for xdotool/clipboard)."""
    import pyautogui

    pyautogui.FAILSAFE = False
    pyautogui.click(600, 220)
    pyautogui.write("ab张三", interval=0.0)
    got = settle_read(echo, "ab张三", timeout=1.5)
    assert got != "ab张三" and "张" not in got


def test_default_clear_keys_empty_a_qt_field(echo):
    """`clear: true` sends End, Shift+Home, Delete (not Ctrl+A, which is "line start" in Tk and Emacs keys)."""
    from qcedge.rpa_flows.inputs import LiveInput
    from qcedge.rpa_flows.model import Settings

    inp = LiveInput(failsafe=False, pause=0.01)
    try:
        inp.click(600, 220)
        inp.type_text("T1001AAA old text", "auto")
        assert settle_read(echo, "T1001AAA old text") == "T1001AAA old text"
        for combo in Settings().clear_keys:
            inp.hotkey(combo)
        inp.type_text("T2002", "auto")
    finally:
        inp.close()
    assert settle_read(echo, "T2002") == "T2002"


def test_the_persons_clipboard_is_put_back_after_a_paste(echo):
    import subprocess

    from qcedge.rpa_flows.inputs import LiveInput

    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input="the person's own text".encode(), check=True)
    inp = LiveInput(failsafe=False, pause=0.01)
    try:
        inp.click(600, 220)
        inp.type_text("张三", "auto")  # pasted
        inp.desktop.restore_clipboard()
    finally:
        inp.close()
    assert settle_read(echo, "张三") == "张三"
    back = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5)
    assert back.stdout.decode() == "the person's own text"


def _ask_clipboard(d, win) -> bytes | None:
    """Request CLIPBOARD as UTF8_STRING for `win` (of connection `d`); the answer's bytes or None."""
    from Xlib import X

    clip, utf8, prop = d.intern_atom("CLIPBOARD"), d.intern_atom("UTF8_STRING"), d.intern_atom("GOT")
    win.convert_selection(clip, utf8, prop, X.CurrentTime)
    d.flush()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        while d.pending_events():
            ev = d.next_event()
            if ev.type == X.SelectionNotify:
                if ev.property == X.NONE:
                    return None
                got = win.get_full_property(prop, X.AnyPropertyType)
                return bytes(got.value) if got is not None else None
        time.sleep(0.01)
    raise TimeoutError("no answer")


def test_pasted_text_is_served_only_to_the_target_program(xvfb):
    import threading

    from Xlib import X, display

    from qcedge.rpa_flows.clipboard import ClipboardOwner

    target, other = display.Display(), display.Display()
    twin = target.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
    owin = other.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
    owner = ClipboardOwner()
    try:
        owner.offer("患者 secret")
        owner.only_for(twin.id & ~target.display.info.resource_id_mask)
        answers: dict = {}

        def ask(name, d, w) -> None:
            answers[name] = _ask_clipboard(d, w)

        t = threading.Thread(target=ask, args=("other", other, owin))
        t.start()
        served_early = owner.serve(timeout=1.0)
        t.join(5)
        assert answers["other"] is None and not served_early and owner.refused >= 1  # another program: refused
        t = threading.Thread(target=ask, args=("target", target, twin))
        t.start()
        assert owner.serve(timeout=3.0)
        t.join(5)
        assert answers["target"].decode() == "患者 secret"
    finally:
        owner.release()
        owner.close()
        target.close()
        other.close()
