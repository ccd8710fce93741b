"""The flow player: runs steps with safety first.

Before every input step the expected screen is checked on a fresh grab; when it
is not there the player stops with a screenshot and sends nothing. Input from
the person at the workstation pauses the flow (resume after quiet, or abort).
Every step is logged with times. A dry run sends nothing and draws what it
would have clicked on a screenshot.
"""
from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qcedge.rpa_flows import ocr as ocr_mod
from qcedge.rpa_flows.activity import ActivityMonitor
from qcedge.rpa_flows.dryrun import Drawing
from qcedge.rpa_flows.errors import FailSafeTriggered, ScreenNotAsExpected, StepFailed, UserAborted
from qcedge.rpa_flows.desktop import Desktop, InputRefused, WinInfo
from qcedge.rpa_flows.inputs import DriverDesktop, DryRunInput, InputDriver, LiveInput, plan_chunks
from qcedge.rpa_flows.loader import _step_label
from qcedge.rpa_flows.locate import find_image, to_gray
from qcedge.rpa_flows.model import (
    CheckStep, ClickStep, Condition, DoubleClickStep, Flow, ForEachStep, HotkeyStep, IfStep, PauseStep,
    ReadStep, RightClickStep, ScreenDef, ScreenshotStep, SetStep, Settings, Target, TypeStep, WaitStep, _Step,
    action_of,
)
from qcedge.rpa_flows.runlog import RunLog
from qcedge.rpa_flows.screen import LiveScreen, Screen
from qcedge.rpa_flows.templates import get_template, match_on_screen
from qcedge.rpa_flows.variables import VariableError, lookup, record_digest, resolve_value, substitute

log = logging.getLogger(__name__)

AFTER_TYPING_S = 0.03  # typing ends with one more look at the focus and the screen after this pause
EXPECT_GRACE_S = 1.0  # an input step looks for its expected screen this long before giving up
SETTLE_DIFF = 6  # grey-level change (max over an 1/8 thumbnail) still counted as "not changing"


def _center(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return (box[0] + box[2] // 2, box[1] + box[3] // 2)


@dataclass(slots=True)
class Located:
    box: tuple[int, int, int, int]
    point: tuple[int, int]
    score: float
    how: str


@dataclass
class RunResult:
    ok: bool
    flow_id: str
    message: str = ""
    failed_step: str | None = None
    screenshot: Path | None = None
    log_path: Path | None = None
    drawing: Path | None = None
    steps_run: int = 0
    pauses: int = 0
    records_done: int = 0
    seconds: float = 0.0
    variables: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


class _Interrupted(Exception):
    """Typing stopped before its end: the person took over, the screen or the focus changed."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _sized(loc: Located, size: tuple[int, int] | None) -> Located:
    """With `size`, the target is the w x h box centred on its (offset) point: a field beside a label."""
    if size is None:
        return loc
    w, h = size
    return Located((loc.point[0] - w // 2, loc.point[1] - h // 2, w, h), loc.point, loc.score, loc.how + " + size")


def _same_focus(start: WinInfo):
    """`allowed` for typing: the focus must still be exactly where the typing began."""
    def allowed(info: WinInfo) -> str | None:
        if info.toplevel != start.toplevel or info.focus != start.focus:
            who = "a window of the same program" if info.same_program(start) else "another program's window"
            return f"the keyboard focus moved to {who} ({info.describe()})"
        if info.maps != start.maps:
            return "a new window appeared on the screen"
        return None
    return allowed


def _ink_columns(frame: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """Columns of a field box (inner part) that hold something other than the background. The right
    eighth is left out: drop-down arrows and spin buttons live there."""
    x, y, w, h = box
    m = max(2, min(w, h) // 6)
    crop = to_gray(frame[max(0, y + m):y + h - m, max(0, x + m):x + w - max(m, w // 8)])
    if crop.size == 0:
        return 0
    bg = int(np.median(crop))
    return int((np.abs(crop.astype(np.int16) - bg) > 60).any(axis=0).sum())


class Player:
    """Runs one flow. `screen`, `inputs` and `monitor` default to the live X display."""

    def __init__(self, flow: Flow, *, screen: Screen | None = None, inputs: InputDriver | None = None,
                 monitor: ActivityMonitor | None | bool = True, log_dir: Path | None = None,
                 dry_run: bool = False, failsafe: bool = True, windows: Any = True, desktop: Desktop | None = None,
                 resume_done: set[str] | None = None,
                 **setting_overrides: Any) -> None:
        self.flow = flow
        self.settings: Settings = flow.settings.model_copy(update=setting_overrides) if setting_overrides else flow.settings
        self.dry_run = dry_run
        self.screen = screen if screen is not None else LiveScreen()
        self.desktop: Desktop | None = None
        if dry_run:
            self.inputs: InputDriver = inputs if inputs is not None else DryRunInput()
            if self.inputs.sends_input:
                raise ValueError("a dry run cannot use an input driver that sends input")
        else:
            if desktop is None and inputs is not None:
                desktop = DriverDesktop(inputs)  # a driver of the caller's: it decides what is sent
            if desktop is None:
                from qcedge.rpa_flows.x11 import X11Desktop

                desktop = X11Desktop(failsafe=failsafe, pause=self.settings.key_pause,
                                     type_delay_ms=self.settings.type_delay_ms)
            self.desktop = desktop
            self.inputs = inputs if inputs is not None else LiveInput(
                paste_keys=self.settings.paste_keys, desktop=desktop)
        if monitor is True:
            self.monitor: ActivityMonitor | None = None if dry_run else ActivityMonitor(source=self.desktop)
        else:
            self.monitor = monitor or None
        # window checks (input only to the expected program's windows): off with windows=None/False
        self.check_windows = bool(windows) and not dry_run and self.desktop is not None
        self.expected_win: WinInfo | None = None
        self._hints: dict[Any, tuple[int, int, int, int]] = {}  # last place of each anchor: searched first
        self._gray: tuple[Any, ...] | None = None
        self._expect_frame: np.ndarray | None = None
        self._memo_frame: np.ndarray | None = None
        self._memo: dict[Any, Located | None] = {}
        self._dry_frame: np.ndarray | None = None
        self._own_rects: tuple[float, list[tuple[int, int, int, int]]] = (-1.0, [])
        self.log_dir = log_dir
        self.variables: dict[str, Any] = {}
        self.current: ScreenDef | None = None
        self.current_label = ""
        self.steps_run = 0
        self.pauses = 0
        self.drawing: Drawing | None = None
        self.runlog: RunLog | None = None
        self._in_handler = False
        self._handler_counts: dict[int, int] = {}
        self._typed = False
        self.resume_done: set[str] = set(resume_done or ())  # record digests saved by an earlier run: skipped
        self.records_done = 0

    # -- public --------------------------------------------------------------------
    def run(self, variables: dict[str, Any] | None = None, records: list[dict[str, Any]] | None = None) -> RunResult:
        t0 = time.monotonic()
        self.runlog = RunLog(self.log_dir, self.flow.id)
        self.variables = {**self.flow.vars, **(variables or {})}
        if records is not None:
            self.variables["records"] = records
        self.current, self.current_label = None, ""
        self.steps_run = self.pauses = self.records_done = 0
        if self.monitor is not None:
            self.monitor.rebase()
        if self.dry_run:
            self._dry_frame = None
            self.drawing = Drawing(self._grab())
        self.runlog.write("run_start", flow_path=str(self.flow.path) if self.flow.path else None,
                          dry_run=self.dry_run, records=len(records) if records is not None else None,
                          variables=sorted(self.variables))
        result = RunResult(ok=True, flow_id=self.flow.id)
        logged_message = ""
        try:
            self._block(self.flow.steps, "")
        except StepFailed as exc:
            result.ok, result.message, result.failed_step, result.screenshot = False, exc.problem, exc.step, exc.screenshot
            logged_message = exc.log_problem
        except Exception as exc:  # noqa: BLE001 - any crash still ends the log cleanly, with a screenshot
            shot = self._screenshot("fail-crash")
            result.ok, result.message, result.failed_step, result.screenshot = False, f"internal error: {exc!r}", \
                self.current_label or None, shot
            logged_message = f"internal error: {type(exc).__name__}"
            log.exception("flow %s crashed", self.flow.id)
        result.seconds = time.monotonic() - t0
        result.steps_run, result.pauses, result.records_done = self.steps_run, self.pauses, self.records_done
        result.variables = dict(self.variables)
        if self.drawing is not None:
            result.drawing = self.runlog.save_image("dry-run", self.drawing.render()) if self.log_dir else None
        self.runlog.write("run_end", ok=result.ok, seconds=round(result.seconds, 3), steps=result.steps_run,
                          records_done=result.records_done,
                          pauses=result.pauses, failed_step=result.failed_step,
                          message=logged_message or None, screenshot=str(result.screenshot) if result.screenshot else None,
                          drawing=str(result.drawing) if result.drawing else None)
        result.log_path, result.events = self.runlog.path, list(self.runlog.events)
        self.runlog.close()
        return result

    def close(self) -> None:
        for obj in (self.monitor, self.screen, self.inputs):
            closer = getattr(obj, "close", None)
            if closer:
                closer()

    # -- blocks and steps ----------------------------------------------------------
    def _block(self, steps: list[_Step], prefix: str) -> None:
        for i, step in enumerate(steps):
            label = (prefix + " > " if prefix else "") + _step_label(i, step)
            self._step(step, label)

    def _step(self, step: _Step, label: str) -> None:
        action = action_of(step)
        self.current_label = label
        t0 = time.monotonic()
        self.runlog.write("step_start", step=label, action=action)
        details: dict[str, Any] = {}
        try:
            if step.expect is not None:
                self.current = step.expect
            handler = getattr(self, f"_do_{action}")
            handler(step, label, details)
        except StepFailed as exc:
            step_name = exc.step if exc.step not in ("input",) else label
            shot = exc.screenshot or self._screenshot(f"fail-{label}")
            self.runlog.write("step_fail", step=step_name, action=action, seconds=round(time.monotonic() - t0, 4),
                              problem=exc.log_problem, screenshot=str(shot) if shot else None, **details)
            raise type(exc)(step_name, exc.problem, shot, exc.log_problem) from exc
        except VariableError as exc:
            shot = self._screenshot(f"fail-{label}")
            self.runlog.write("step_fail", step=label, action=action, problem=str(exc))
            raise StepFailed(label, str(exc), shot) from exc
        self.steps_run += 1
        self.runlog.write("step_ok", step=label, action=action, seconds=round(time.monotonic() - t0, 4), **details)

    # input steps ------------------------------------------------------------------
    def _do_click(self, step: ClickStep, label: str, details: dict) -> None:
        self._click(step, step.click, label, details, "left", 1)

    def _do_double_click(self, step: DoubleClickStep, label: str, details: dict) -> None:
        self._click(step, step.double_click, label, details, "left", 2)

    def _do_right_click(self, step: RightClickStep, label: str, details: dict) -> None:
        self._click(step, step.right_click, label, details, "right", 1)

    def _click(self, step, target: Target, label: str, details: dict, button: str, clicks: int) -> None:
        attempts = step.retries + 1
        for attempt in range(1, attempts + 1):
            self._before_input(step, label, details)
            where = self._find(target, step.timeout or self.settings.timeout, label, details)
            if where is None:
                return  # dry run: not on screen now (logged)
            self._guard(label)
            self._send_click(where, label, button, clicks)
            details.update(at=list(where.point), score=round(where.score, 4), how=where.how)
            if self.drawing is not None:
                self.drawing.click(where, label, button, clicks)
            if step.verify is None or self.dry_run:
                return
            if self._poll(lambda frame: self._cond(step.verify, frame), step.verify_timeout or self.settings.timeout):
                details["attempts"] = attempt
                return
            self.runlog.write("verify_missed", step=label, attempt=attempt)
        raise StepFailed(label, f"the click had no effect: {step.verify.op} not satisfied after {attempts} attempt(s)")

    def _send_click(self, where: Located, label: str, button: str = "left", clicks: int = 1) -> None:
        if self.dry_run:
            self.inputs.click(where.point[0], where.point[1], button=button, clicks=clicks)
            return
        self._send(lambda: self.desktop.click(where.point[0], where.point[1], button, clicks,
                                              self._allow_program("click", where.point)), label, moved_to=where.point)

    def _clear_keys(self, step: TypeStep) -> list[list[str]] | None:
        if step.clear is False:
            return None
        return self.settings.clear_keys if step.clear is True else step.clear

    def _do_type(self, step: TypeStep, label: str, details: dict) -> None:
        text = substitute(step.type, self.variables)
        method = step.method or self.settings.typing
        clear = self._clear_keys(step)
        details["chars"] = len(text)
        restorable = step.into is not None and clear is not None
        for attempt in range(1, 4):
            self._before_input(step, label, details)
            box = None
            if step.into is not None:
                where = self._find(step.into, self.settings.timeout, label, details)
                if where is not None:
                    self._guard(label)
                    self._send_click(where, label)
                    details.update(at=list(where.point), score=round(where.score, 4))
                    box = where.box if where.box[2] > 4 and where.box[3] > 4 else None
                    if self.drawing is not None:
                        self.drawing.click(where, label, "type", 1)
            if self.dry_run:
                self.inputs.type_text(text, method)
                return
            self._typed = False
            try:
                self._guard_typing(label)  # the person may have stepped in since the click
                start = self._typing_focus(label)
                same = _same_focus(start)
                if clear is not None:
                    for combo in clear:
                        self._keys_watched(lambda c=combo: self.desktop.press(c, same), label)
                    if box is not None and step.into is not None and step.into.has_box:
                        try:
                            self._check_blank(box, label, clear)
                        except StepFailed as exc:
                            # nothing of the new text is typed yet: clicking into the field and clearing it
                            # again is safe (Tk can lose track of its focus after a popup closes)
                            if attempt >= 3:
                                raise
                            self.runlog.write("step_restart", step=label, reason=exc.problem)
                            continue
                self._type_watched(text, method, step, label, start)
                if step.enter:
                    self._keys_watched(lambda: self.desktop.press(["enter"], same), label)
            except _Interrupted as exc:
                self.runlog.write("typing_stopped", step=label, reason=exc.reason, kind=exc.kind, attempt=attempt)
                handled = self._run_handlers(label, wait=1.0) if exc.kind != "person" else False
                safe = restorable or (step.into is not None and not self._typed)
                calm = not self._typed and not handled and exc.kind != "person" and self._expected_now(step)
                if safe and attempt < 3 and (exc.kind == "person" or handled or calm):
                    self.runlog.write("step_restart", step=label, reason=exc.reason)
                    continue  # safe to redo: click into the field, clear it, type everything again
                cls = UserAborted if exc.kind == "person" else ScreenNotAsExpected
                if not self._typed:
                    raise cls(label, f"typing stopped before the first key: {exc.reason}")
                hint = "" if restorable else " (give the step 'into' and 'clear: true' to let it start over)"
                raise cls(label, f"typing stopped: {exc.reason}; the field may hold part of the text{hint}")
            finally:
                if self.desktop is not None:
                    self.desktop.restore_clipboard()
            return
        raise StepFailed(label, "typing was interrupted three times")

    def _expected_now(self, step: _Step) -> bool:
        """The expected screen is (back) on a fresh grab: a harmless interruption, the step may start over."""
        expected = step.expect or self.current
        return expected is None or self._screen_ok_within(expected, 0.5)[0]

    def _typing_focus(self, label: str) -> WinInfo:
        """The window that will get the text: the expected screen's own window, nothing else."""
        start = self.desktop.focus()
        why = self._allow_program("keys")(start)
        if why is not None:
            raise ScreenNotAsExpected(label, why + "; stopped without sending input")
        exp = self.expected_win if self.check_windows else None
        if exp is not None and exp.toplevel is not None and start.toplevel not in (None, exp.toplevel):
            raise _Interrupted("focus", f"the keyboard focus is on another window of the program ({start.describe()}),"
                                        " not on the expected screen's")
        return start

    def _keys_watched(self, send, label: str) -> None:
        try:
            send()
        except InputRefused as exc:
            raise _Interrupted("focus", exc.reason) from None
        except FailSafeTriggered as exc:
            raise FailSafeTriggered(label, exc.problem) from exc
        finally:
            self._note_own()

    def _type_watched(self, text: str, method: str, step: TypeStep, label: str, start: WinInfo) -> None:
        """Type in chunks; the focus is checked before every key, the screen and the person before
        every chunk. Any change raises _Interrupted at once (nothing more is sent)."""
        same_focus = _same_focus(start)
        expected = step.expect or self.current
        for i, (chunk, paste) in enumerate(plan_chunks(text, method, self.desktop.can_type)):
            self._guard_typing(label)
            if expected is not None:
                ok, why_not = self._screen_ok(expected, self._grab())
                if not ok:
                    raise _Interrupted("screen", f"the screen changed ({why_not})")
            try:
                if paste:
                    self.desktop.paste(chunk, self.settings.paste_keys_list, same_focus)
                else:
                    self.desktop.type_keys(chunk, same_focus)
                self._typed = True
            except InputRefused as exc:
                self._typed = self._typed or exc.sent > 0
                if paste and "not taken" in exc.reason:
                    ok, why_not = (True, "") if expected is None else self._screen_ok(expected, self._grab())
                    if not ok:
                        raise _Interrupted("paste", f"the screen changed while pasting ({why_not})") from None
                    focus_now = same_focus(self.desktop.focus())
                    if focus_now:
                        raise _Interrupted("paste", f"the screen changed while pasting: {focus_now}") from None
                    raise StepFailed(label, f"{exc.reason}: does the program accept paste? (try typing: keys)") from None
                raise _Interrupted("focus", exc.reason) from None
            except FailSafeTriggered as exc:
                raise FailSafeTriggered(label, exc.problem) from exc
            finally:
                self._note_own()
        # The last keys have no next key to be checked before: a program (Tk) can move its own focus to a
        # new dialog before the X server hears of it, so look once more after a moment.
        time.sleep(AFTER_TYPING_S)
        moved = same_focus(self.desktop.focus())
        if moved:
            raise _Interrupted("focus", moved + " as the last keys were sent")
        if expected is not None:
            ok, why_not = self._screen_ok(expected, self._grab())
            if not ok:
                raise _Interrupted("screen", f"the screen changed as the last keys were sent ({why_not})")

    def _check_blank(self, box: tuple[int, int, int, int], label: str, clear: list[list[str]]) -> None:
        """Read-back after clearing: the field must show no text (a cursor line at most)."""
        deadline = time.monotonic() + 0.6
        while True:
            ink = _ink_columns(self._grab(), box)
            if ink <= 3:
                return
            if time.monotonic() > deadline:
                keys = ", ".join("+".join(c) for c in clear)
                raise StepFailed(label, f"the field still shows text after clearing it with {keys} ({ink} columns "
                                        "of ink); set 'clear:' to the keys that empty this program's fields")
            time.sleep(0.05)

    def _do_hotkey(self, step: HotkeyStep, label: str, details: dict) -> None:
        details["keys"] = "+".join(step.hotkey)
        for _ in range(step.times):
            self._before_input(step, label, details)
            if self.dry_run:
                self.inputs.hotkey(step.hotkey)
                continue
            try:
                self._send(lambda: self.desktop.press(step.hotkey, self._allow_program("keys")), label)
            except InputRefused as exc:
                raise ScreenNotAsExpected(label, f"{exc.reason}; stopped without sending input") from None
        if self.drawing is not None:
            self.drawing.note(label, f"keys {'+'.join(step.hotkey)}")

    def _send(self, action, label: str, moved_to: tuple[int, int] | None = None) -> None:
        if self.dry_run:
            action()  # DryRunInput only records
            return
        try:
            action()
        except FailSafeTriggered as exc:
            raise FailSafeTriggered(label, exc.problem) from exc
        except InputRefused as exc:
            raise ScreenNotAsExpected(label, f"{exc.reason}; stopped without sending input",
                                      self._screenshot(f"fail-{label}")) from None
        finally:
            if self.monitor is not None:
                self.monitor.note_own_input(moved_to)

    # safety --------------------------------------------------------------------------
    def _before_input(self, step: _Step, label: str, details: dict) -> None:
        """The person is not busy and the expected screen is there; else stop (nothing sent).
        `on_screen` handlers run first when their screen is showing."""
        self._guard(label)
        if not self.dry_run:
            self._run_handlers(label)
        expected = step.expect or self.current
        if expected is None:
            if self.settings.require_expect:
                raise ScreenNotAsExpected(label, "no expected screen is known for this input step: give it "
                                                 "'expect:' (or wait for a screen before it)")
            return
        ok, why, frame, where = self._screen_ok_within(expected, 0.0 if self.dry_run else EXPECT_GRACE_S)
        if not ok and not self.dry_run and self._run_handlers(label):
            ok, why, frame, where = self._screen_ok_within(expected, EXPECT_GRACE_S)
        self._expect_frame = frame if ok else None
        details["expect"] = expected.describe()
        self.expected_win = None
        if ok and where is not None and self.check_windows:
            self.expected_win = self.desktop.window_at(*_center(where.box))
        if not ok:
            if self.dry_run:
                self.runlog.write("dry_expect_missing", step=label, expect=expected.describe(), why=why)
                return
            shot = self.runlog.save_image(f"fail-{label}", frame) if frame is not None else None
            raise ScreenNotAsExpected(label, f"expected {expected.describe()} is not on screen ({why}); "
                                             "stopped without sending input", shot)

    def _allow_program(self, what: str, point: tuple[int, int] | None = None):
        """Input may go to the expected screen's program (its dialogs and drop-downs too), nowhere else."""
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

    def _run_handlers(self, label: str, wait: float = 0.0) -> bool:
        """Run the `on_screen` handler whose screen is showing (one at a time, up to 5 in a row).
        `wait`: look this long for one to show (a window that just appeared may not be drawn yet)."""
        if not self.flow.on_screen or self._in_handler:
            return False
        ran = False
        for _ in range(5):
            found: dict[str, Any] = {}

            def test(frame: np.ndarray) -> bool:
                found["h"] = next((h for h in self.flow.on_screen if self._screen_ok(h.screen, frame)[0]), None)
                return found["h"] is not None

            self._poll(test, 0.0 if ran else wait)
            hit = found.get("h")
            if hit is None:
                return ran
            idx = self.flow.on_screen.index(hit)
            self._handler_counts[idx] = self._handler_counts.get(idx, 0) + 1
            if self._handler_counts[idx] > hit.max_times:
                raise StepFailed(label, f"on_screen handler '{hit.label(idx)}' ran {hit.max_times} times; stopped")
            self.runlog.write("on_screen", step=label, handler=hit.label(idx))
            saved = (self.current, self.current_label, self.expected_win)
            self._in_handler = True
            try:
                self.current = hit.screen
                self._block(hit.steps, f"{label} > on_screen '{hit.label(idx)}'")
            finally:
                self._in_handler = False
                self.current, self.current_label, self.expected_win = saved
            ran = True
        return ran

    def _guard(self, label: str) -> bool:
        """Pause while the person uses mouse or keyboard; True when a pause happened."""
        if self.monitor is None or self.dry_run:
            return False
        act = self.monitor.check()
        if act is None:
            return False
        self.pauses += 1
        self.runlog.write("paused", step=label, reason=act.reason, policy=self.settings.on_user_activity)
        log.warning("%s: the person is using the workstation (%s): flow %s", label, act.reason,
                    "aborted" if self.settings.on_user_activity == "abort" else "paused")
        if self.settings.on_user_activity == "abort":
            raise UserAborted(label, f"the person at the workstation took over ({act.reason}); flow aborted")
        t0 = time.monotonic()
        last_pointer = self.monitor.pointer()
        quiet_since = time.monotonic()
        while True:
            time.sleep(min(0.1, self.settings.resume_after / 4 or 0.05))
            idle = self.monitor.idle()
            if idle is None:  # no idle counter: use a still pointer instead
                p = self.monitor.pointer()
                if p != last_pointer:
                    last_pointer, quiet_since = p, time.monotonic()
                idle = time.monotonic() - quiet_since
            if idle >= self.settings.resume_after:
                break
            if time.monotonic() - t0 > self.settings.max_pause:
                self.runlog.write("pause_timeout", step=label, seconds=round(time.monotonic() - t0, 3))
                raise UserAborted(label, f"the person kept working for more than {self.settings.max_pause:g} s; "
                                         "flow aborted")
        self.monitor.rebase()
        self.runlog.write("resumed", step=label, paused_s=round(time.monotonic() - t0, 3))
        return True

    def _note_own(self) -> None:
        if self.monitor is not None and not self.dry_run:
            self.monitor.note_own_input()

    def _guard_typing(self, label: str) -> None:
        if self._guard(label):
            raise _Interrupted("person", "the person took over while this text was being typed")

    # looking at the screen ----------------------------------------------------------------
    def _grab(self) -> np.ndarray:
        if self.dry_run:
            # nothing is sent, so the screen does not move on: the whole dry run looks at one frame
            if self._dry_frame is None:
                self._dry_frame = self.screen.grab()
            return self._dry_frame
        frame = self.screen.grab()
        if self.desktop is not None:
            # windows of this very process (a teaching GUI running the flow, showing a copy of the
            # screen) are blanked out: nothing there is a target, and no input may go there
            now = time.monotonic()
            if now - self._own_rects[0] > 0.5:
                self._own_rects = (now, self.desktop.rects_of_pid(os.getpid()))
            for x, y, w, h in self._own_rects[1]:
                frame[max(0, y):y + h, max(0, x):x + w] = 0
        return frame

    def _screenshot(self, name: str) -> Path | None:
        if self.runlog is None or self.runlog.dir is None:
            return None
        try:
            return self.runlog.save_image(name, self._grab())
        except Exception:  # noqa: BLE001 - the display itself may be gone
            return None

    def _poll(self, test, timeout: float, poll: float | None = None, settle: float = 0.0) -> bool:
        """Look at fresh grabs until test(frame) is true (and the screen is still for `settle` s)."""
        poll = poll or self.settings.poll
        deadline = time.monotonic() + timeout
        still_since: float | None = None
        prev_thumb = None
        while True:
            t = time.monotonic()
            frame = self._grab()
            if test(frame):
                if settle <= 0:
                    return True
                thumb = cv2.resize(to_gray(frame), None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
                if prev_thumb is not None and int(cv2.absdiff(thumb, prev_thumb).max()) <= SETTLE_DIFF:
                    still_since = still_since or t
                    if t - still_since >= settle:
                        return True
                else:
                    still_since = t if prev_thumb is None else None
                prev_thumb = thumb
            else:
                still_since, prev_thumb = None, None
            if time.monotonic() >= deadline:
                return False
            time.sleep(max(0.0, poll - (time.monotonic() - t)))

    def _screen_ok(self, sd: ScreenDef, frame: np.ndarray) -> tuple[bool, str]:
        ok, why, _ = self._screen_where(sd, frame)
        return ok, why

    def _screen_where(self, sd: ScreenDef, frame: np.ndarray) -> tuple[bool, str, Located | None]:
        """Is the screen there; why not; where its first target was found."""
        if sd.ref is not None:
            sd = self.flow.screens[sd.ref]
        first = None
        for t in sd.all:
            where = self._locate(t, frame)
            if where is None:
                return False, f"{t.describe()} not found", None
            first = first or where
        for t in sd.none:
            where = self._locate(t, frame)
            if where is not None:
                return False, f"{t.describe()} is in front (at {list(where.box)})", None
        return True, "ok", first

    def _screen_ok_within(self, sd: ScreenDef, grace: float) -> tuple[bool, str, np.ndarray | None, Located | None]:
        state: dict[str, Any] = {"why": "", "frame": None, "where": None}

        def test(frame: np.ndarray) -> bool:
            ok, why, where = self._screen_where(sd, frame)
            state.update(why=why, frame=frame, where=where)
            return ok

        ok = self._poll(test, grace)
        return ok, state["why"], state["frame"], state["where"]

    def _find(self, target: Target, timeout: float, label: str, details: dict) -> Located | None:
        """Locate a click target, looking again until `timeout`; a miss stops the flow (dry run: logs)."""
        found: dict[str, Located] = {}

        def test(frame: np.ndarray) -> bool:
            where = self._locate(target, frame)
            if where is not None:
                found["w"] = where
            return where is not None

        first, self._expect_frame = self._expect_frame, None
        if first is not None and test(first):  # the frame the expected screen was just seen on
            return found["w"]
        if self._poll(test, 0.0 if self.dry_run else timeout):
            return found["w"]
        if self.dry_run:
            self.runlog.write("dry_target_missing", step=label, target=target.describe())
            if self.drawing is not None:
                self.drawing.note(label, f"not on screen now: {target.describe()}")
            return None
        raise ScreenNotAsExpected(label, f"{target.describe()} not found within {timeout:g} s; stopped without "
                                         "sending input")

    def _gray_of(self, frame: np.ndarray) -> np.ndarray:
        if self._gray is None or self._gray[0] != id(frame):
            self._gray = (id(frame), to_gray(frame), frame)  # keep frame alive so its id stays unique
        return self._gray[1]

    def _locate(self, t: Target, frame: np.ndarray) -> Located | None:
        """Where target `t` is on `frame` (None: not there). Results are kept for the current frame."""
        key = (id(frame), t, self._names(t) if t.has_vars else None)
        if self._memo_frame is not frame:
            self._memo_frame, self._memo = frame, {}
        if key not in self._memo:
            self._memo[key] = self._locate_now(t, frame)
        return self._memo[key]

    def _names(self, t: Target) -> tuple[str, ...]:
        """The target's image names with ${var} filled in."""
        return tuple(substitute(p, self.variables) for p in t.images) if t.has_vars else tuple(t.images)

    def _locate_now(self, t: Target, frame: np.ndarray) -> Located | None:
        threshold = t.threshold or self.settings.threshold
        dx, dy = t.offset
        if t.kind == "image":
            names = self._names(t)
            key = (names, t.region)
            paths = [self.flow.resolve(p) for p in names]
            for path in paths:
                if not path.is_file():
                    raise StepFailed(self.current_label or "flow", f"anchor image '{path.name[:80]}' not found "
                                                                   f"(from {t.describe()})")
            m = find_image(frame, paths, threshold, t.region,
                           t.scales or self.settings.scales, hint=self._hints.get(key),
                           gray_screen=self._gray_of(frame))
            if m.found:
                self._hints[key] = m.box
            log.debug("image %s score %.3f (threshold %.2f) in %.1f ms", t.images, m.score, threshold, m.seconds * 1e3)
            if not m.found:
                return None
            cx, cy = m.center
            return _sized(Located(m.box, (cx + dx, cy + dy), m.score, f"image {Path(m.image).name}"), t.size)
        if t.kind == "point":
            x, y = t.point
            return _sized(Located((x, y, 1, 1), (x + dx, y + dy), 1.0, "point"), t.size)
        if t.kind == "screen":
            sd = self.flow.screens[t.screen]
            ok, _ = self._screen_ok(sd, frame)
            if not ok:
                return None
            first = self._locate(sd.all[0], frame)
            return first
        if t.kind == "template":
            tpl = get_template(self.flow.resolve(t.template))
            mkey = (id(frame), "template", t.template, t.threshold)
            if mkey not in self._memo:  # one match per template per frame, whatever field is wanted
                self._memo[mkey] = match_on_screen(frame, tpl, t.threshold, self._hints, self._gray_of(frame))
            m = self._memo[mkey]
            if not m.matched:
                return None
            if t.field is not None:
                box = m.box_to_frame(tpl.field(t.field).box.as_tuple())
            elif t.box is not None:
                box = m.box_to_frame(t.box)
            elif t.point is not None:
                px, py = m.to_frame(*t.point)
                box = (round(px), round(py), 1, 1)
            else:
                box = m.box_to_frame((0, 0, tpl.reference.width, tpl.reference.height))
            cx, cy = box[0] + box[2] // 2, box[1] + box[3] // 2
            return _sized(Located(box, (cx + dx, cy + dy), m.score, f"template {tpl.id}"), t.size)
        # text by OCR
        wanted = substitute(t.text, self.variables)
        x, y, w, h = t.region or (0, 0, frame.shape[1], frame.shape[0])
        crop = frame[max(0, y):y + h, max(0, x):x + w]
        hit, _ = ocr_mod.find_text(crop, wanted, origin=(max(0, x), max(0, y)), exact=t.exact,
                                   engine_name=self.settings.ocr_engine)
        if hit is None:
            return None
        bx, by, bw, bh = hit.box
        return _sized(Located(hit.box, (bx + bw // 2 + dx, by + bh // 2 + dy), hit.confidence, "text (OCR)"), t.size)

    def _cond(self, c: Condition, frame: np.ndarray) -> bool:
        op = c.op
        if op == "visible":
            return self._screen_ok(c.visible, frame)[0]
        if op == "not_visible":
            return not self._screen_ok(c.not_visible, frame)[0]
        if op in ("equals", "not_equals"):
            a, b = (self._text(v) for v in getattr(c, op))
            return (a == b) == (op == "equals")
        if op == "matches":
            return re.search(c.matches[1], self._text(c.matches[0])) is not None
        if op in ("empty", "not_empty"):
            v = resolve_value(getattr(c, op), self.variables)
            empty = v is None or (hasattr(v, "__len__") and len(v) == 0)
            return empty == (op == "empty")
        if op == "all":
            return all(self._cond(x, frame) for x in c.all)
        if op == "any":
            return any(self._cond(x, frame) for x in c.any)
        return not self._cond(c.not_, frame)

    def _text(self, v: Any) -> str:
        v = resolve_value(v, self.variables) if isinstance(v, str) else v
        if isinstance(v, bool):
            return "true" if v else "false"
        return "" if v is None else str(v)

    # non-input steps ----------------------------------------------------------------------
    def _do_wait(self, step: WaitStep, label: str, details: dict) -> None:
        w = step.wait
        timeout, poll = w.timeout or self.settings.timeout, w.poll or self.settings.poll
        if w.appear is not None:
            test = lambda f: self._screen_ok(w.appear, f)[0]  # noqa: E731
            what = f"{w.appear.describe()} to appear"
        elif w.vanish is not None:
            test = lambda f: not self._screen_ok(w.vanish, f)[0]  # noqa: E731
            what = f"{w.vanish.describe()} to vanish"
        else:
            test = lambda f: self._cond(w.until, f)  # noqa: E731
            what = f"condition {w.until.op}"
        details["waited_for"] = what
        t0 = time.monotonic()
        ok = False
        attempts = 1 if self.dry_run else w.retries + 1
        for attempt in range(1, attempts + 1):
            ok = self._poll(test, 0.0 if self.dry_run else timeout, poll, 0.0 if self.dry_run else w.settle)
            if ok:
                break
            if attempt < attempts:
                shot = self._screenshot(f"retry-{label}")
                self.runlog.write("wait_retry", step=label, attempt=attempt, screenshot=str(shot) if shot else None)
        details["waited_s"] = round(time.monotonic() - t0, 4)
        if w.save_as:
            self.variables[w.save_as] = ok
        if ok and w.appear is not None:
            self.current = w.appear
        if not ok:
            if self.dry_run:
                self.runlog.write("dry_wait_unmet", step=label, waited_for=what)
                if w.appear is not None:
                    self.current = w.appear
                return
            if w.on_timeout == "continue":
                details["timed_out"] = True
                return
            raise StepFailed(label, f"timed out after {timeout:g} s x {attempts} waiting for {what}")

    def _do_read(self, step: ReadStep, label: str, details: dict) -> None:
        r = step.read
        frame = self._grab()
        engine = r.engine or self.settings.ocr_engine
        if r.target is not None:
            where = self._locate(r.target, frame)
            if where is None:
                if self.dry_run:
                    self.variables[r.into] = ""
                    self.runlog.write("dry_read_missing", step=label, target=r.target.describe())
                    return
                raise StepFailed(label, f"{r.target.describe()} not found to read")
            x, y, w, h = where.box
            rec = ocr_mod.read_crops([frame[y:y + h, x:x + w]], engine)[0]
            self.variables[r.into] = rec.text.strip()
            details["confidence"] = {r.into: round(rec.confidence, 3)}
            return
        tpl = get_template(self.flow.resolve(r.template))
        m = match_on_screen(frame, tpl)
        if not m.matched:
            if self.dry_run:
                self.runlog.write("dry_read_missing", step=label, template=tpl.id, score=round(m.score, 3))
                if r.into:
                    self.variables[r.into] = {name: "" for name in (r.fields or [f.name for f in tpl.fields])}
                else:
                    self.variables.update({name: "" for name in (r.fields or [f.name for f in tpl.fields])})
                return
            raise StepFailed(label, f"template '{tpl.id}' is not on screen (score {m.score:.2f}); nothing read")
        names = r.fields or [f.name for f in tpl.fields if getattr(f, "kind", "value") == "value"]
        from qcedge.ocr_templates.read import read_screen  # crop, clean, recognise, parse, validate

        wanted = tpl.model_copy(update={"fields": [tpl.field(n) for n in names], "checks": [], "identity": []})
        reading = read_screen(frame, wanted, m, ocr_mod.engine(engine))
        values: dict[str, str] = {name: reading.fields[name].text.strip() for name in names}
        if r.into:
            self.variables.setdefault(r.into, {})
            self.variables[r.into].update(values)
        else:
            self.variables.update(values)
        details["confidence"] = {n: round(reading.fields[n].confidence, 3) for n in names}
        details["valid"] = {n: reading.fields[n].valid for n in names}

    def _do_check(self, step: CheckStep, label: str, details: dict) -> None:
        frame = self._grab()
        if self._cond(step.check, frame):
            return
        message = step.message or f"check '{step.check.op}' failed"
        details["message"] = message  # as written in the flow: values may be patient data
        try:
            shown = substitute(message, self.variables)
        except VariableError:
            shown = message
        if self.dry_run:
            self.runlog.write("dry_check_failed", step=label, message=message)
            return
        raise StepFailed(label, shown, log_problem=message)

    def _do_if(self, step: IfStep, label: str, details: dict) -> None:
        taken = self._cond(step.if_, self._grab())
        details["branch"] = "then" if taken else "else"
        self.runlog.write("branch", step=label, branch=details["branch"])
        self._block(step.then if taken else step.else_, f"{label} > {'then' if taken else 'else'}")

    def _do_for_each(self, step: ForEachStep, label: str, details: dict) -> None:
        src = step.for_each
        if isinstance(src, str):
            items = resolve_value(src, self.variables) if "${" in src else lookup(self.variables, src)
        else:
            items = [resolve_value(v, self.variables) for v in src]
        if not isinstance(items, list):
            raise StepFailed(label, f"for_each needs a list; '{src}' is {type(items).__name__}")
        details["items"] = len(items)
        where = re.sub(r" \[\d+/\d+\]", "", label)  # the same loop in every run, whatever outer iteration
        skipped = 0
        for i, item in enumerate(items):
            digest = record_digest(where, item)
            if digest in self.resume_done:
                skipped += 1
                self.runlog.write("record_skipped", step=label, index=i + 1, digest=digest)
                continue
            self.variables[step.as_] = item
            self.variables["loop_index"] = i + 1
            self.runlog.write("iteration", step=label, index=i + 1, of=len(items))
            self._block(step.steps, f"{label} [{i + 1}/{len(items)}]")
            self.runlog.write("record_done", step=label, index=i + 1, digest=digest)
            self.records_done += 1
        details["skipped"] = skipped

    def _do_screenshot(self, step: ScreenshotStep, label: str, details: dict) -> None:
        name = substitute(step.screenshot, self.variables)
        path = self.runlog.save_image(name, self._grab())
        details["file"] = str(path) if path else None

    def _do_pause(self, step: PauseStep, label: str, details: dict) -> None:
        if not self.dry_run:
            time.sleep(step.pause)

    def _do_set(self, step: SetStep, label: str, details: dict) -> None:
        for k, v in step.set.items():
            self.variables[k] = resolve_value(v, self.variables)
        details["set"] = sorted(step.set)
