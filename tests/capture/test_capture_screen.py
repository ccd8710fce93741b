"""ScreenSource on a real Xvfb display, with windows drawn by a real X client."""
from __future__ import annotations

import os
import subprocess
import threading

import numpy as np
import pytest

from qcedge.capture import ChangeDetector, ReconnectingSource, ScreenSource, SettleDetector, SourceError, open_source

from capture_helpers import XWindow, wait_until

pytestmark = pytest.mark.display


@pytest.fixture
def window(xvfb):
    win = XWindow(300, 200, 400, 150, (200, 30, 60))
    yield win
    win.close()


def grab_until(source: ScreenSource, predicate, timeout: float = 5.0):
    """Grab until the X server has drawn what predicate looks for."""
    result = {}

    def ok():
        result["frame"] = source.read()
        return predicate(result["frame"].image)

    wait_until(ok, timeout, 0.02)
    return result["frame"]


def test_region_grab_returns_the_windows_pixels_in_bgr(window):
    with open_source("screen:1@300,200,400,150") as source:
        frame = grab_until(source, lambda im: (im == (60, 30, 200)).all())
    assert frame.image.shape == (150, 400, 3) and frame.image.dtype == np.uint8
    assert frame.source_id == "screen:1@300,200,400,150"
    assert frame.size == (400, 150)


def test_full_monitor_and_all_monitors_grab_the_whole_display(window, xvfb):
    for spec in ("screen", "screen:0"):
        with open_source(spec) as source:
            frame = grab_until(source, lambda im: (im[200:350, 300:700] == (60, 30, 200)).all())
        assert frame.size == xvfb.size
        # just outside the window the colour is not the window's
        assert not (frame.image[199, 300:700] == (60, 30, 200)).all()
        assert not (frame.image[200:350, 299] == (60, 30, 200)).all()


def test_a_partly_covered_region_has_the_window_where_it_is(window):
    with ScreenSource(1, (250, 150, 200, 100)) as source:
        frame = grab_until(source, lambda im: (im[50:, 50:] == (60, 30, 200)).all())
    assert not (frame.image[:50, :50] == (60, 30, 200)).all()


def test_reads_from_another_thread_use_their_own_connection(window):
    source = ScreenSource(1, (300, 200, 400, 150))
    source.open()
    out: list = []
    worker = threading.Thread(target=lambda: out.append(source.read()))
    worker.start()
    worker.join(10)
    main = source.read()
    source.close()
    assert out and out[0].image.shape == main.image.shape == (150, 400, 3)
    assert (out[0].image == (60, 30, 200)).all()


def test_bad_monitor_or_region_fails_clearly(xvfb):
    with pytest.raises(SourceError, match="monitor 2 not found: the display has 1 monitor"):
        open_source("screen:2")
    with pytest.raises(SourceError, match="does not fit monitor 1"):
        open_source("screen:1@1800,0,300,100")


def test_no_display_is_a_source_error(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":987")
    with pytest.raises(SourceError, match="cannot connect to the display"):
        open_source("screen")


def test_a_value_changing_on_screen_is_a_change_and_settles_once(window):
    """One digit of a 13 px value in a 400x150 window, watched on the whole 1080p screen."""
    window.text(20, 40, "CTDIvol  12.34 mGy")
    settle = SettleDetector(frames=3, detector=ChangeDetector())
    with open_source("screen") as source:
        before = grab_until(source, lambda im: (im[200:350, 300:700] == 0).any())  # text drawn
        updates = [settle.update(before)] + [settle.update(source.read()) for _ in range(4)]
        window.text(20, 40, "CTDIvol  12.84 mGy")
        after = grab_until(source, lambda im: not np.array_equal(im, before.image))
        changed = [settle.update(after)] + [settle.update(source.read()) for _ in range(4)]
    assert [u.changed for u in updates] == [True, False, False, False, False]
    assert [u.settled for u in updates] == [False, False, True, False, False]
    assert changed[0].changed, f"a one-digit change was missed ({changed[0].change})"
    assert [u.changed for u in changed[1:]] == [False] * 4
    assert [u.settled for u in changed] == [False, False, True, False, False]


def _xvfb(number: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """A private 640x480 Xvfb (on a free number, or again on `number`)."""
    args = ["Xvfb", "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset"]
    if number is not None:
        return subprocess.Popen(["Xvfb", f":{number}", *args[1:]], stderr=subprocess.DEVNULL), number
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([args[0], "-displayfd", str(write_fd), *args[1:]], pass_fds=(write_fd,),
                            stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        return proc, int(f.readline())


def test_screen_capture_survives_an_x_server_restart(monkeypatch):
    """The console's X session restarts (logout, crash): the reconnecting source picks the new one up."""
    first, number = _xvfb()
    procs = [first]
    monkeypatch.setenv("DISPLAY", f":{number}")
    source = ReconnectingSource(ScreenSource(), initial=0.2, maximum=0.5)
    restart = threading.Timer(0.8, lambda: procs.append(_xvfb(number)[0]))
    try:
        source.open()
        assert source.read().size == (640, 480)
        first.terminate()
        first.wait(5)
        restart.start()
        frame = source.read()  # blocks through the outage
        assert frame is not None and frame.size == (640, 480)
        assert source.stats.failures >= 1 and source.stats.reconnects == 1
        assert "screen" in source.stats.last_error or "display" in source.stats.last_error
    finally:
        source.stop()
        source.close()
        if restart.is_alive():
            restart.join(5)
        for proc in procs:
            proc.terminate()
            proc.wait(5)
