"""Looking at the screen for the player: grab, locate targets, test screens and conditions, wait.

The finder grabs frames (windows of this very process blanked out; a dry run looks at one frame
all along), locates targets through the locator registry (results kept per frame, last places
searched first), tells whether a screen is there and whether a condition holds, and polls fresh
frames until a test passes (optionally until the screen also stops changing).
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import cv2
import numpy as np

from qcedge.ocr_templates.preprocess import to_grey
from qcedge.rpa_flows.desktop import Desktop
from qcedge.rpa_flows.locators import Locator
from qcedge.rpa_flows.model import Condition, Flow, ScreenDef, Settings
from qcedge.rpa_flows.registry import Located, filled_in, locate_now
from qcedge.rpa_flows.screen import Screen
from qcedge.rpa_flows.variables import resolve_value

SETTLE_DIFF = 6  # grey-level change (max over an 1/8 thumbnail) still counted as "not changing"
OWN_WINDOWS_S = 0.5  # how long the list of this process's own windows is trusted


def center(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return (box[0] + box[2] // 2, box[1] + box[3] // 2)


class Seen(NamedTuple):
    """Whether a screen is there, and why not."""

    ok: bool
    why: str


class Look(NamedTuple):
    """A screen looked for: there or not, why not, the last frame looked at, where its first target is."""

    ok: bool
    why: str
    frame: np.ndarray | None
    where: Located | None


class Finder:
    """The player's eyes. `variables` and `label` follow the running flow (the player sets them)."""

    def __init__(self, flow: Flow, settings: Settings, screen: Screen, desktop: Desktop | None = None,
                 dry_run: bool = False) -> None:
        self.flow, self.settings, self.screen, self.desktop, self.dry_run = flow, settings, screen, desktop, dry_run
        self.variables: dict[str, Any] = {}
        self.label = ""
        self.hints: dict[Any, tuple[int, int, int, int]] = {}  # last place of each anchor: searched first
        self.memo: dict[Any, Any] = {}
        self.expect_frame: np.ndarray | None = None  # the frame the expected screen was just seen on
        self._memo_frame: np.ndarray | None = None
        self._grey_of: np.ndarray | None = None  # the frame `_grey` was made of (kept: its id stays unique)
        self._grey: np.ndarray | None = None
        self._dry_frame: np.ndarray | None = None
        self._own_rects: list[tuple[int, int, int, int]] = []  # windows of this process, as of `_own_at`
        self._own_at = -1.0

    def new_run(self) -> None:
        """A dry run looks at the screen as it is when the run starts."""
        self._dry_frame = None

    # -- frames -------------------------------------------------------------------------------
    def grab(self) -> np.ndarray:
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
            if now - self._own_at > OWN_WINDOWS_S:
                self._own_at, self._own_rects = now, self.desktop.rects_of_pid(os.getpid())
            for x, y, w, h in self._own_rects:
                frame[max(0, y):y + h, max(0, x):x + w] = 0
        return frame

    def grey(self, frame: np.ndarray) -> np.ndarray:
        """The grey copy of `frame` (made once per frame)."""
        if self._grey is None or self._grey_of is not frame:
            self._grey_of, self._grey = frame, to_grey(frame)
        return self._grey

    def poll(self, test: Callable[[np.ndarray], bool], timeout: float, poll: float | None = None,
             settle: float = 0.0) -> bool:
        """Look at fresh grabs until test(frame) is true (and the screen is still for `settle` s)."""
        poll = poll or self.settings.poll
        deadline = time.monotonic() + timeout
        still_since: float | None = None
        prev_thumb = None
        while True:
            t = time.monotonic()
            frame = self.grab()
            if test(frame):
                if settle <= 0:
                    return True
                thumb = cv2.resize(self.grey(frame), None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
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

    # -- targets --------------------------------------------------------------------------------
    def locate(self, t: Locator, frame: np.ndarray) -> Located | None:
        """Where target `t` is on `frame` (None: not there). Results are kept for the current frame."""
        key = (id(frame), t, filled_in(self, t))
        if self._memo_frame is not frame:
            self._memo_frame, self.memo = frame, {}
        if key not in self.memo:
            self.memo[key] = locate_now(self, t, frame)
        return self.memo[key]

    def find(self, target: Locator, timeout: float) -> Located | None:
        """Locate a click target, looking again until `timeout` (a dry run looks once); None: not found."""
        found: dict[str, Located] = {}

        def test(frame: np.ndarray) -> bool:
            where = self.locate(target, frame)
            if where is not None:
                found["w"] = where
            return where is not None

        first, self.expect_frame = self.expect_frame, None
        if first is not None and test(first):  # the frame the expected screen was just seen on
            return found["w"]
        if self.poll(test, 0.0 if self.dry_run else timeout):
            return found["w"]
        return None

    # -- screens and conditions ---------------------------------------------------------------------
    def screen_ok(self, sd: ScreenDef, frame: np.ndarray) -> Seen:
        look = self.screen_where(sd, frame)
        return Seen(look.ok, look.why)

    def screen_where(self, sd: ScreenDef, frame: np.ndarray) -> Look:
        """Is the screen there on `frame`; why not; where its first target was found."""
        if sd.ref is not None:
            sd = self.flow.screens[sd.ref]
        first = None
        for t in sd.all:
            where = self.locate(t, frame)
            if where is None:
                return Look(False, f"{t.describe()} not found", frame, None)
            first = first or where
        for t in sd.none:
            where = self.locate(t, frame)
            if where is not None:
                return Look(False, f"{t.describe()} is in front (at {list(where.box)})", frame, None)
        return Look(True, "ok", frame, first)

    def screen_ok_within(self, sd: ScreenDef, grace: float) -> Look:
        """Look for the screen on fresh grabs for up to `grace` s."""
        last = Look(False, "", None, None)

        def test(frame: np.ndarray) -> bool:
            nonlocal last
            last = self.screen_where(sd, frame)
            return last.ok

        ok = self.poll(test, grace)
        return last._replace(ok=ok)

    def holds(self, c: Condition, frame: np.ndarray) -> bool:
        """Whether condition `c` holds on `frame` with the current variables."""
        op = c.op
        if op == "visible":
            return self.screen_ok(c.visible, frame).ok
        if op == "not_visible":
            return not self.screen_ok(c.not_visible, frame).ok
        if op in ("equals", "not_equals"):
            a, b = (self.text(v) for v in getattr(c, op))
            return (a == b) == (op == "equals")
        if op == "matches":
            return re.search(c.matches[1], self.text(c.matches[0])) is not None
        if op in ("empty", "not_empty"):
            v = resolve_value(getattr(c, op), self.variables)
            empty = v is None or (hasattr(v, "__len__") and len(v) == 0)
            return empty == (op == "empty")
        if op == "all":
            return all(self.holds(x, frame) for x in c.all)
        if op == "any":
            return any(self.holds(x, frame) for x in c.any)
        return not self.holds(c.not_, frame)

    def text(self, v: Any) -> str:
        """A condition's operand as text (`${x}` filled in; true/false for booleans)."""
        v = resolve_value(v, self.variables) if isinstance(v, str) else v
        if isinstance(v, bool):
            return "true" if v else "false"
        return "" if v is None else str(v)
