"""Errors of flows: loading (file, step, problem) and running (step, problem, screenshot).

Two kinds below the root `RpaError` (see qcedge.errors): bad input a person can fix (`FlowError`,
`RunInputError`, `variables.VariableError`) also derives from ValueError / LookupError; a failed
operation (`StepFailed` and its kinds, `desktop.InputRefused`, `clipboard.ClipboardError`) does not.
"""
from __future__ import annotations

from pathlib import Path


class RpaError(Exception):
    """Base of every error raised on purpose by `rpa_flows`."""


class FlowError(RpaError, ValueError):
    """A flow file that cannot be used. `str()` names the file, the place (step) and the problem."""

    def __init__(self, path: str | Path, problem: str, where: str | None = None) -> None:
        self.path, self.where, self.problem = str(path), where, problem
        place = f" ({where})" if where else ""
        super().__init__(f"{self.path}{place}: {problem}")


class RunInputError(RpaError, ValueError):
    """Something given to a run that cannot be used: a --var, a variables or records file, a run log
    to resume from, a screenshot for a dry run. `str()` names the file (or the argument) and the problem."""


class StepFailed(RpaError, RuntimeError):
    """A step could not do its work; no input was sent for it after the failure was seen."""

    def __init__(self, step: str, problem: str, screenshot: Path | None = None, log_problem: str | None = None) -> None:
        self.step, self.problem, self.screenshot = step, problem, screenshot
        self.log_problem = log_problem or problem  # what the run log may hold (no variable values)
        shot = f" (screenshot: {screenshot})" if screenshot else ""
        super().__init__(f"{step}: {problem}{shot}")


class ScreenNotAsExpected(StepFailed):
    """The expected screen is not there: the player stopped before sending input."""


class UserAborted(StepFailed):
    """The person at the workstation took over and the flow was configured (or timed out) to abort."""


class FailSafeTriggered(StepFailed):
    """The pointer was pushed into a screen corner: pyautogui's fail-safe stopped the flow."""


class TypingInterrupted(RpaError):
    """Typing stopped before its end: the person took over (`kind` "person"), the screen changed
    ("screen"), the focus moved ("focus") or a paste was not taken ("paste"). The player decides
    whether the step starts over or fails; it never leaves the player."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason
