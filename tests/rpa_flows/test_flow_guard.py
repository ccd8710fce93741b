"""The input guard alone, on the real Xvfb display: the person at the workstation comes first, and
input goes only to the expected program's windows."""
from __future__ import annotations

import threading
import time

import pytest

pytestmark = pytest.mark.display


@pytest.fixture
def desk(xvfb):
    from qcedge.rpa_flows.x11 import X11Desktop

    desktop = X11Desktop(failsafe=False, pause=0.01)
    yield desktop
    desktop.close()


@pytest.fixture
def person(xvfb):
    """The person's hand on the mouse: another X connection moving the pointer (XTest, like a real mouse)."""
    from qcedge.rpa_flows.x11 import X11Desktop

    hand = X11Desktop(failsafe=False, pause=0.0)
    threads: list[threading.Thread] = []

    def busy(seconds: float) -> threading.Thread:
        def move() -> None:
            deadline = time.monotonic() + seconds
            i = 0
            while time.monotonic() < deadline:
                i += 1
                hand.move(700 + 40 * (i % 2), 500 + 3 * (i % 7))
                time.sleep(0.05)
        t = threading.Thread(target=move, daemon=True)
        threads.append(t)
        t.start()
        return t

    yield busy
    for t in threads:
        t.join(10)
    hand.close()


def make_guard(desk, **settings):
    from qcedge.rpa_flows.activity import ActivityMonitor
    from qcedge.rpa_flows.guard import Guard
    from qcedge.rpa_flows.model import Settings

    events: list[str] = []
    guard = Guard(Settings(**settings), ActivityMonitor(source=desk), desk)
    guard.log_event = lambda event, **fields: events.append(event)
    desk.move(300, 300)
    guard.monitor.rebase()  # what the player does when a run starts
    return guard, events


def test_the_person_moving_the_mouse_pauses_the_flow_until_quiet(desk, person):
    guard, events = make_guard(desk, resume_after=0.4)
    assert guard.person("step 1") is False  # nobody there: no pause
    t0 = time.monotonic()
    busy = person(1.0)
    time.sleep(0.15)
    assert guard.person("step 2") is True
    busy.join(5)
    assert time.monotonic() - t0 >= 1.0 + 0.4 - 0.05  # waited for the person, then for quiet
    assert events == ["paused", "resumed"] and guard.pauses == 1
    assert guard.person("step 3") is False  # the moves before the pause are not counted again


def test_abort_policy_stops_at_the_first_move(desk, person):
    from qcedge.rpa_flows.errors import UserAborted

    guard, events = make_guard(desk, on_user_activity="abort")
    person(0.2).join(5)
    with pytest.raises(UserAborted, match="took over .*flow aborted"):
        guard.person("step 1")
    assert events == ["paused"]


def test_a_person_working_longer_than_max_pause_aborts_the_flow(desk, person):
    from qcedge.rpa_flows.errors import UserAborted

    guard, events = make_guard(desk, resume_after=0.5, max_pause=0.6)
    person(2.5)
    time.sleep(0.15)
    with pytest.raises(UserAborted, match="kept working for more than 0.6 s"):
        guard.person("step 1")
    assert events == ["paused", "pause_timeout"]


def test_input_goes_only_to_the_expected_program(desk, blocker):
    from Xlib import X, display

    from qcedge.rpa_flows.desktop import InputRefused
    from qcedge.rpa_flows.errors import ScreenNotAsExpected
    from qcedge.rpa_flows.guard import same_focus

    blocker("300x200+100+100")  # the expected program's window
    blocker("300x200+160+140")  # another program's window, in front of part of it
    mine, other = desk.window_at(110, 110), desk.window_at(170, 150)
    assert None not in (mine.toplevel, other.toplevel) and mine.toplevel != other.toplevel
    guard, _ = make_guard(desk)
    guard.expect_window_at((110, 110))  # the expected screen was seen there

    assert guard.allow_program("click", (110, 110))(desk.window_at(110, 110)) is None
    with pytest.raises(InputRefused, match=r"another window .* is in front of the expected screen's window"):
        desk.click(170, 150, "left", 1, guard.allow_program("click", (170, 150)))

    def focus_on(top: int) -> None:
        d = display.Display()
        d.create_resource_object("window", top).set_input_focus(X.RevertToParent, X.CurrentTime)
        d.sync()
        d.close()

    focus_on(mine.toplevel)
    start = guard.typing_focus("step 1")  # the expected window has the focus: typing may begin
    assert same_focus(start)(desk.focus()) is None
    focus_on(other.toplevel)  # another program takes the focus
    assert "focus moved to another program's window" in same_focus(start)(desk.focus())
    with pytest.raises(InputRefused, match="keyboard focus is on another window"):
        desk.press(["a"], guard.allow_program("keys"))
    with pytest.raises(ScreenNotAsExpected, match="stopped without sending input"):
        guard.typing_focus("step 2")
