"""The safety rules of input, apart from the steps that send it.

- The person at the workstation comes first: input the player did not send pauses the flow until
  the person has been quiet for `resume_after` s (or aborts it: `on_user_activity: abort`, or a
  pause longer than `max_pause`).
- Input goes only to the expected screen's program: a click only where that program's window
  (or a dialog or drop-down of it) is under the pointer, keys only while its window has the focus.
- Typing goes on only while the focus stays exactly where the typing began.

The rules are functions of the window that would receive the input (`desktop.Allowed`): the
desktop backend asks them at the last moment, atomically with the input.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from qcedge.rpa_flows.activity import ActivityMonitor
from qcedge.rpa_flows.desktop import Allowed, Desktop, WinInfo
from qcedge.rpa_flows.errors import ScreenNotAsExpected, TypingInterrupted, UserAborted
from qcedge.rpa_flows.model import Settings

log = logging.getLogger(__name__)


def same_focus(start: WinInfo) -> Allowed:
    """`allowed` for typing: the focus must still be exactly where the typing began."""
    def allowed(info: WinInfo) -> str | None:
        if info.toplevel != start.toplevel or info.focus != start.focus:
            who = "a window of the same program" if info.same_program(start) else "another program's window"
            return f"the keyboard focus moved to {who} ({info.describe()})"
        if info.maps != start.maps:
            return "a new window appeared on the screen"
        return None
    return allowed


class Guard:
    """Applies the rules for one player. Without a `monitor` nobody is watched for (dry runs); with
    `check_windows` off (or no `desktop`) input may go to any window."""

    def __init__(self, settings: Settings, monitor: ActivityMonitor | None = None, desktop: Desktop | None = None,
                 check_windows: bool = True) -> None:
        self.settings, self.monitor, self.desktop = settings, monitor, desktop
        self.check_windows = check_windows and desktop is not None
        self.expected_win: WinInfo | None = None  # the expected screen's window, seen before the step's input
        self.pauses = 0
        self.log_event: Callable[..., Any] = lambda event, **fields: None  # the run log's `write`

    # -- the person at the workstation ------------------------------------------------------------
    def person(self, label: str) -> bool:
        """Pause while the person uses mouse or keyboard; True when a pause happened. Raises
        UserAborted when the flow is set to abort, or when the person works longer than `max_pause`."""
        if self.monitor is None:
            return False
        act = self.monitor.check()
        if act is None:
            return False
        s = self.settings
        self.pauses += 1
        self.log_event("paused", step=label, reason=act.reason, policy=s.on_user_activity)
        log.warning("%s: the person is using the workstation (%s): flow %s", label, act.reason,
                    "aborted" if s.on_user_activity == "abort" else "paused")
        if s.on_user_activity == "abort":
            raise UserAborted(label, f"the person at the workstation took over ({act.reason}); flow aborted")
        t0 = time.monotonic()
        last_pointer = self.monitor.pointer()
        quiet_since = time.monotonic()
        while True:
            time.sleep(min(0.1, s.resume_after / 4 or 0.05))
            idle = self.monitor.idle()
            if idle is None:  # no idle counter: use a still pointer instead
                p = self.monitor.pointer()
                if p != last_pointer:
                    last_pointer, quiet_since = p, time.monotonic()
                idle = time.monotonic() - quiet_since
            if idle >= s.resume_after:
                break
            if time.monotonic() - t0 > s.max_pause:
                self.log_event("pause_timeout", step=label, seconds=round(time.monotonic() - t0, 3))
                raise UserAborted(label, f"the person kept working for more than {s.max_pause:g} s; flow aborted")
        self.monitor.rebase()
        self.log_event("resumed", step=label, paused_s=round(time.monotonic() - t0, 3))
        return True

    def person_while_typing(self, label: str) -> None:
        """As `person`, but a pause stops the typing (TypingInterrupted): the step decides what is safe."""
        if self.person(label):
            raise TypingInterrupted("person", "the person took over while this text was being typed")

    def note_own(self, pointer: tuple[int, int] | None = None) -> None:
        """The player has just sent input (and left the pointer at `pointer`): that was not the person."""
        if self.monitor is not None:
            self.monitor.note_own_input(pointer)

    # -- which window gets the input ----------------------------------------------------------------
    def expect_window_at(self, point: tuple[int, int] | None) -> None:
        """The expected screen was seen with its first target at `point`: its window is the one input
        may go to (None: not known, input is not restricted)."""
        self.expected_win = None
        if point is not None and self.check_windows:
            self.expected_win = self.desktop.window_at(*point)

    def allow_program(self, what: str, point: tuple[int, int] | None = None) -> Allowed:
        """Input ("click" at `point`, or "keys") may go to the expected screen's program (its dialogs and
        drop-downs too), nowhere else."""
        exp = self.expected_win if self.check_windows else None

        def allowed(info: WinInfo) -> str | None:
            if exp is None or exp.toplevel is None:
                return None
            if info.toplevel is None:
                return None if what == "keys" else f"no window at {list(point or ())}"
            if info.same_program(exp):
                return None
            if what == "keys":
                return (f"the keyboard focus is on another window ({info.describe()}, another program), not on "
                        f"the expected screen's ({exp.describe()})")
            return (f"another window ({info.describe()}, another program) is in front of the expected screen's "
                    f"window ({exp.describe()}) at {list(point or ())}")
        return allowed

    def typing_focus(self, label: str) -> WinInfo:
        """The window that will get the text: the expected screen's own window, nothing else."""
        start = self.desktop.focus()
        why = self.allow_program("keys")(start)
        if why is not None:
            raise ScreenNotAsExpected(label, why + "; stopped without sending input")
        exp = self.expected_win if self.check_windows else None
        if exp is not None and exp.toplevel is not None and start.toplevel not in (None, exp.toplevel):
            raise TypingInterrupted("focus", f"the keyboard focus is on another window of the program "
                                             f"({start.describe()}), not on the expected screen's")
        return start
