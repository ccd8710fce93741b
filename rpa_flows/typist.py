"""Typing that watches: keys and pastes sent only while the focus stays where the typing began.

The focus is checked before every key (by the desktop backend, atomically with it), the expected
screen and the person at the workstation before every chunk; any change stops the typing at once
with `TypingInterrupted` (the player decides whether the step may start over). After clearing a
field whose box is known, the field must show no text.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from qcedge.ocr_templates.preprocess import to_grey
from qcedge.rpa_flows.desktop import Desktop, InputRefused, WinInfo
from qcedge.rpa_flows.errors import FailSafeTriggered, StepFailed, TypingInterrupted
from qcedge.rpa_flows.finder import Finder
from qcedge.rpa_flows.guard import Guard, same_focus
from qcedge.rpa_flows.inputs import plan_chunks
from qcedge.rpa_flows.model import ScreenDef, Settings

AFTER_TYPING_S = 0.03  # typing ends with one more look at the focus and the screen after this pause
BLANK_INK = 3  # columns of ink a cleared field may still show (a cursor line)
BLANK_WAIT_S = 0.6  # how long a cleared field has to show that it is empty


def ink_columns(frame: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """Columns of a field box (inner part) that hold something other than the background. The right
    eighth is left out: drop-down arrows and spin buttons live there."""
    x, y, w, h = box
    m = max(2, min(w, h) // 6)
    crop = to_grey(frame[max(0, y + m):y + h - m, max(0, x + m):x + w - max(m, w // 8)])
    if crop.size == 0:
        return 0
    bg = int(np.median(crop))
    return int((np.abs(crop.astype(np.int16) - bg) > 60).any(axis=0).sum())


class Typist:
    """Types for the player on a live desktop. `typed`: whether any of the current text has gone out."""

    def __init__(self, desktop: Desktop, guard: Guard, finder: Finder, settings: Settings) -> None:
        self.desktop, self.guard, self.finder, self.settings = desktop, guard, finder, settings
        self.typed = False

    def keys(self, send: Callable[[], None], label: str) -> None:
        """Send keys with `send` (its `allowed` keeps the focus): a refusal stops the typing."""
        try:
            send()
        except InputRefused as exc:
            raise TypingInterrupted("focus", exc.reason) from None
        except FailSafeTriggered as exc:
            raise FailSafeTriggered(label, exc.problem) from exc
        finally:
            self.guard.note_own()

    def type_text(self, text: str, method: str, expected: ScreenDef | None, label: str, start: WinInfo) -> None:
        """Type in chunks; the focus is checked before every key, the screen and the person before
        every chunk. Any change raises TypingInterrupted at once (nothing more is sent)."""
        focus_kept = same_focus(start)
        for chunk, paste in plan_chunks(text, method, self.desktop.can_type):
            self.guard.person_while_typing(label)
            if expected is not None:
                ok, why_not = self.finder.screen_ok(expected, self.finder.grab())
                if not ok:
                    raise TypingInterrupted("screen", f"the screen changed ({why_not})")
            try:
                if paste:
                    self.desktop.paste(chunk, self.settings.paste_keys_list, focus_kept)
                else:
                    self.desktop.type_keys(chunk, focus_kept)
                self.typed = True
            except InputRefused as exc:
                self.typed = self.typed or exc.sent > 0
                if paste and "not taken" in exc.reason:
                    ok, why_not = (True, "") if expected is None else self.finder.screen_ok(expected,
                                                                                   self.finder.grab())
                    if not ok:
                        raise TypingInterrupted("paste", f"the screen changed while pasting ({why_not})") from None
                    focus_now = focus_kept(self.desktop.focus())
                    if focus_now:
                        raise TypingInterrupted("paste", f"the screen changed while pasting: {focus_now}") from None
                    raise StepFailed(label, f"{exc.reason}: does the program accept paste? (try typing: keys)") from None
                raise TypingInterrupted("focus", exc.reason) from None
            except FailSafeTriggered as exc:
                raise FailSafeTriggered(label, exc.problem) from exc
            finally:
                self.guard.note_own()
        # The last keys have no next key to be checked before: a program (Tk) can move its own focus to a
        # new dialog before the X server hears of it, so look once more after a moment.
        time.sleep(AFTER_TYPING_S)
        moved = focus_kept(self.desktop.focus())
        if moved:
            raise TypingInterrupted("focus", moved + " as the last keys were sent")
        if expected is not None:
            ok, why_not = self.finder.screen_ok(expected, self.finder.grab())
            if not ok:
                raise TypingInterrupted("screen", f"the screen changed as the last keys were sent ({why_not})")

    def check_blank(self, box: tuple[int, int, int, int], label: str, clear: list[list[str]]) -> None:
        """Read-back after clearing: the field must show no text (a cursor line at most)."""
        deadline = time.monotonic() + BLANK_WAIT_S
        while True:
            ink = ink_columns(self.finder.grab(), box)
            if ink <= BLANK_INK:
                return
            if time.monotonic() > deadline:
                keys = ", ".join("+".join(c) for c in clear)
                raise StepFailed(label, f"the field still shows text after clearing it with {keys} ({ink} columns "
                                        "of ink); set 'clear:' to the keys that empty this program's fields")
            time.sleep(0.05)
