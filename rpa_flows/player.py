"""The flow player: runs steps with safety first.

Before every input step the expected screen is checked on a fresh grab; when it
is not there the player stops with a screenshot and sends nothing. Input from
the person at the workstation pauses the flow (resume after quiet, or abort).
Every step is logged with times. A dry run sends nothing and draws what it
would have clicked on a screenshot.

The player is step dispatch and orchestration (expected screens, retries, `on_screen` handlers,
the run log): one small handler per step kind, sharing the run's state, which is why this one
job stays longer than ~450 lines. What it uses: `guard` (the safety rules), `finder` (grab,
locate, screens, conditions, wait), `typist` (typing that watches), `registry` (how each kind
of target is found).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qcedge.rpa_flows import ocr as ocr_mod
from qcedge.rpa_flows.activity import ActivityMonitor
from qcedge.rpa_flows.desktop import Desktop, InputRefused
from qcedge.rpa_flows.dryrun import Drawing
from qcedge.rpa_flows.errors import (
    FailSafeTriggered, ScreenNotAsExpected, StepFailed, TypingInterrupted, UserAborted,
)
from qcedge.rpa_flows.finder import Finder, center
from qcedge.rpa_flows.guard import Guard, same_focus
from qcedge.rpa_flows.inputs import DriverDesktop, DryRunInput, InputDriver, LiveInput
from qcedge.rpa_flows.locators import Locator
from qcedge.rpa_flows.model import (
    CheckStep, ClickStep, DoubleClickStep, Flow, ForEachStep, HotkeyStep, IfStep, PauseStep, ReadStep,
    RightClickStep, ScreenDef, ScreenshotStep, SetStep, Settings, Step, TypeStep, WaitStep, action_of, step_label,
)
from qcedge.rpa_flows.registry import Located
from qcedge.rpa_flows.runlog import RunLog
from qcedge.rpa_flows.screen import LiveScreen, Screen
from qcedge.rpa_flows.templates import get_template, match_on_screen
from qcedge.rpa_flows.typist import Typist
from qcedge.rpa_flows.variables import VariableError, lookup, record_digest, resolve_value, substitute

log = logging.getLogger(__name__)

EXPECT_GRACE_S = 1.0  # an input step looks for its expected screen this long before giving up


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
        self.guard = Guard(self.settings, None if dry_run else self.monitor, self.desktop,
                           check_windows=bool(windows) and not dry_run)
        self.finder = Finder(flow, self.settings, self.screen, self.desktop, dry_run)
        self.typist = Typist(self.desktop, self.guard, self.finder, self.settings)
        self.log_dir = log_dir
        self.current: ScreenDef | None = None
        self.steps_run = 0
        self.drawing: Drawing | None = None
        self.runlog: RunLog | None = None
        self._in_handler = False
        self._handler_counts: dict[int, int] = {}
        self.resume_done: set[str] = set(resume_done or ())  # record digests saved by an earlier run: skipped
        self.records_done = 0

    # -- state shared with the finder and the guard ------------------------------------
    @property
    def variables(self) -> dict[str, Any]:
        """The run's variables (flow defaults, the caller's, records, what steps read or set)."""
        return self.finder.variables

    @variables.setter
    def variables(self, value: dict[str, Any]) -> None:
        self.finder.variables = value

    @property
    def current_label(self) -> str:
        """The label of the step running ("step 3 'loop' [2/5] > step 1 'save'")."""
        return self.finder.label

    @current_label.setter
    def current_label(self, value: str) -> None:
        self.finder.label = value

    @property
    def pauses(self) -> int:
        """How often the flow paused for the person at the workstation in this run."""
        return self.guard.pauses

    # -- public --------------------------------------------------------------------
    def run(self, variables: dict[str, Any] | None = None, records: list[dict[str, Any]] | None = None) -> RunResult:
        t0 = time.monotonic()
        self.runlog = RunLog(self.log_dir, self.flow.id)
        self.variables = {**self.flow.vars, **(variables or {})}
        if records is not None:
            self.variables["records"] = records
        self.current, self.current_label = None, ""
        self.steps_run = self.guard.pauses = self.records_done = 0
        self.guard.log_event = self.runlog.write
        if self.monitor is not None:
            self.monitor.rebase()
        if self.dry_run:
            self.finder.new_run()
            self.drawing = Drawing(self.finder.grab())
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
    def _block(self, steps: list[Step], prefix: str) -> None:
        for i, step in enumerate(steps):
            label = (prefix + " > " if prefix else "") + step_label(i, step)
            self._step(step, label)

    def _step(self, step: Step, label: str) -> None:
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

    def _click(self, step, target: Locator, label: str, details: dict, button: str, clicks: int) -> None:
        attempts = step.retries + 1
        for attempt in range(1, attempts + 1):
            where = self._where_to_act(step, target, step.timeout or self.settings.timeout, label, details)
            if where is None:
                return  # dry run: not on screen now (logged)
            self._send_click(where, label, button, clicks)
            details.update(at=list(where.point), score=round(where.score, 4), how=where.how)
            if self.drawing is not None:
                self.drawing.click(where, label, button, clicks)
            if step.verify is None or self.dry_run:
                return
            verified = lambda frame: self.finder.holds(step.verify, frame)  # noqa: E731
            if self.finder.poll(verified, step.verify_timeout or self.settings.timeout):
                details["attempts"] = attempt
                return
            self.runlog.write("verify_missed", step=label, attempt=attempt)
        raise StepFailed(label, f"the click had no effect: {step.verify.op} not satisfied after {attempts} attempt(s)")

    def _send_click(self, where: Located, label: str, button: str = "left", clicks: int = 1) -> None:
        if self.dry_run:
            self.inputs.click(where.point[0], where.point[1], button=button, clicks=clicks)
            return
        self._send(lambda: self.desktop.click(where.point[0], where.point[1], button, clicks,
                                              self.guard.allow_program("click", where.point)), label, moved_to=where.point)

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
            box = None
            if step.into is None:
                self._before_input(step, label, details)
            else:
                where = self._where_to_act(step, step.into, self.settings.timeout, label, details)
                if where is not None:
                    self._send_click(where, label)
                    details.update(at=list(where.point), score=round(where.score, 4))
                    box = where.box if where.box[2] > 4 and where.box[3] > 4 else None
                    if self.drawing is not None:
                        self.drawing.click(where, label, "type", 1)
            if self.dry_run:
                self.inputs.type_text(text, method)
                return
            self.typist.typed = False
            try:
                self.guard.person_while_typing(label)  # the person may have stepped in since the click
                start = self.guard.typing_focus(label)
                same = same_focus(start)
                if clear is not None:
                    for combo in clear:
                        self.typist.keys(lambda c=combo: self.desktop.press(c, same), label)
                    if box is not None and step.into is not None and step.into.has_box:
                        try:
                            self.typist.check_blank(box, label, clear)
                        except StepFailed as exc:
                            # nothing of the new text is typed yet: clicking into the field and clearing it
                            # again is safe (Tk can lose track of its focus after a popup closes)
                            if attempt >= 3:
                                raise
                            self.runlog.write("step_restart", step=label, reason=exc.problem)
                            continue
                self.typist.type_text(text, method, step.expect or self.current, label, start)
                if step.enter:
                    self.typist.keys(lambda: self.desktop.press(["enter"], same), label)
            except TypingInterrupted as exc:
                self.runlog.write("typing_stopped", step=label, reason=exc.reason, kind=exc.kind, attempt=attempt)
                handled = self._run_handlers(label, wait=1.0) if exc.kind != "person" else False
                safe = restorable or (step.into is not None and not self.typist.typed)
                calm = not self.typist.typed and not handled and exc.kind != "person" and self._expected_now(step)
                if safe and attempt < 3 and (exc.kind == "person" or handled or calm):
                    self.runlog.write("step_restart", step=label, reason=exc.reason)
                    continue  # safe to redo: click into the field, clear it, type everything again
                cls = UserAborted if exc.kind == "person" else ScreenNotAsExpected
                if not self.typist.typed:
                    raise cls(label, f"typing stopped before the first key: {exc.reason}")
                hint = "" if restorable else " (give the step 'into' and 'clear: true' to let it start over)"
                raise cls(label, f"typing stopped: {exc.reason}; the field may hold part of the text{hint}")
            finally:
                if self.desktop is not None:
                    self.desktop.restore_clipboard()
            return
        raise StepFailed(label, "typing was interrupted three times")

    def _expected_now(self, step: Step) -> bool:
        """The expected screen is (back) on a fresh grab: a harmless interruption, the step may start over."""
        expected = step.expect or self.current
        return expected is None or self.finder.screen_ok_within(expected, 0.5).ok

    def _do_hotkey(self, step: HotkeyStep, label: str, details: dict) -> None:
        details["keys"] = "+".join(step.hotkey)
        for _ in range(step.times):
            self._before_input(step, label, details)
            if self.dry_run:
                self.inputs.hotkey(step.hotkey)
                continue
            self._send(lambda: self.desktop.press(step.hotkey, self.guard.allow_program("keys")), label)
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
            self.guard.note_own(moved_to)

    # safety --------------------------------------------------------------------------
    def _where_to_act(self, step: Step, target: Locator, timeout: float, label: str, details: dict) -> Located | None:
        """The expected screen is there and the target found on it, with nobody at the mouse or keyboard since:
        when the person used the workstation meanwhile, the screen is checked and the target found again."""
        while True:
            self._before_input(step, label, details)
            where = self._find(target, timeout, label, details)
            if where is None or not self.guard.person(label):
                return where

    def _before_input(self, step: Step, label: str, details: dict) -> None:
        """The person is not busy and the expected screen is there; else stop (nothing sent).
        `on_screen` handlers run first when their screen is showing."""
        self.guard.person(label)
        if not self.dry_run:
            self._run_handlers(label)
        expected = step.expect or self.current
        if expected is None:
            if self.settings.require_expect:
                raise ScreenNotAsExpected(label, "no expected screen is known for this input step: give it "
                                                 "'expect:' (or wait for a screen before it)")
            return
        ok, why, frame, where = self.finder.screen_ok_within(expected, 0.0 if self.dry_run else EXPECT_GRACE_S)
        if not ok and not self.dry_run and self._run_handlers(label):
            ok, why, frame, where = self.finder.screen_ok_within(expected, EXPECT_GRACE_S)
        self.finder.expect_frame = frame if ok else None
        details["expect"] = expected.describe()
        self.guard.expect_window_at(center(where.box) if ok and where is not None else None)
        if not ok:
            if self.dry_run:
                self.runlog.write("dry_expect_missing", step=label, expect=expected.describe(), why=why)
                return
            shot = self.runlog.save_image(f"fail-{label}", frame) if frame is not None else None
            raise ScreenNotAsExpected(label, f"expected {expected.describe()} is not on screen ({why}); "
                                             "stopped without sending input", shot)

    def _run_handlers(self, label: str, wait: float = 0.0) -> bool:
        """Run the `on_screen` handler whose screen is showing (one at a time, up to 5 in a row).
        `wait`: look this long for one to show (a window that just appeared may not be drawn yet)."""
        if not self.flow.on_screen or self._in_handler:
            return False
        ran = False
        for _ in range(5):
            found: dict[str, Any] = {}

            def test(frame: np.ndarray) -> bool:
                found["h"] = next((h for h in self.flow.on_screen if self.finder.screen_ok(h.screen, frame).ok), None)
                return found["h"] is not None

            self.finder.poll(test, 0.0 if ran else wait)
            hit = found.get("h")
            if hit is None:
                return ran
            idx = self.flow.on_screen.index(hit)
            self._handler_counts[idx] = self._handler_counts.get(idx, 0) + 1
            if self._handler_counts[idx] > hit.max_times:
                raise StepFailed(label, f"on_screen handler '{hit.label(idx)}' ran {hit.max_times} times; stopped")
            self.runlog.write("on_screen", step=label, handler=hit.label(idx))
            saved = (self.current, self.current_label, self.guard.expected_win)
            self._in_handler = True
            try:
                self.current = hit.screen
                self._block(hit.steps, f"{label} > on_screen '{hit.label(idx)}'")
            finally:
                self._in_handler = False
                self.current, self.current_label, self.guard.expected_win = saved
            ran = True
        return ran

    def _screenshot(self, name: str) -> Path | None:
        if self.runlog is None or self.runlog.dir is None:
            return None
        try:
            return self.runlog.save_image(name, self.finder.grab())
        except Exception:  # noqa: BLE001 - the display itself may be gone
            return None

    def _find(self, target: Locator, timeout: float, label: str, details: dict) -> Located | None:
        """Locate a click target, looking again until `timeout`; a miss stops the flow (dry run: logs)."""
        where = self.finder.find(target, timeout)
        if where is not None:
            return where
        if self.dry_run:
            self.runlog.write("dry_target_missing", step=label, target=target.describe())
            if self.drawing is not None:
                self.drawing.note(label, f"not on screen now: {target.describe()}")
            return None
        raise ScreenNotAsExpected(label, f"{target.describe()} not found within {timeout:g} s; stopped without "
                                         "sending input")

    # non-input steps ----------------------------------------------------------------------
    def _do_wait(self, step: WaitStep, label: str, details: dict) -> None:
        w = step.wait
        timeout, poll = w.timeout or self.settings.timeout, w.poll or self.settings.poll
        if w.appear is not None:
            test = lambda f: self.finder.screen_ok(w.appear, f).ok  # noqa: E731
            what = f"{w.appear.describe()} to appear"
        elif w.vanish is not None:
            test = lambda f: not self.finder.screen_ok(w.vanish, f).ok  # noqa: E731
            what = f"{w.vanish.describe()} to vanish"
        else:
            test = lambda f: self.finder.holds(w.until, f)  # noqa: E731
            what = f"condition {w.until.op}"
        details["waited_for"] = what
        t0 = time.monotonic()
        ok = False
        attempts = 1 if self.dry_run else w.retries + 1
        for attempt in range(1, attempts + 1):
            ok = self.finder.poll(test, 0.0 if self.dry_run else timeout, poll, 0.0 if self.dry_run else w.settle)
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
        frame = self.finder.grab()
        engine = r.engine or self.settings.ocr_engine
        if r.target is not None:
            where = self.finder.locate(r.target, frame)
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
        frame = self.finder.grab()
        if self.finder.holds(step.check, frame):
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
        taken = self.finder.holds(step.if_, self.finder.grab())
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
        path = self.runlog.save_image(name, self.finder.grab())
        details["file"] = str(path) if path else None

    def _do_pause(self, step: PauseStep, label: str, details: dict) -> None:
        if not self.dry_run:
            time.sleep(step.pause)

    def _do_set(self, step: SetStep, label: str, details: dict) -> None:
        for k, v in step.set.items():
            self.variables[k] = resolve_value(v, self.variables)
        details["set"] = sorted(step.set)
