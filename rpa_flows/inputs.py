"""Sending input: pyautogui for the mouse and keys, xdotool and the clipboard for text.

pyautogui drops every non-ASCII character and types '<' as '>' on this X setup,
so text goes through `xdotool type` for runs of printable ASCII and through a
clipboard paste for runs of anything else (method "auto"). pyautogui's
fail-safe (pointer in a screen corner stops everything) is on unless the
caller turns it off, and it is also checked before every text chunk.
"""
from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rpa_flows.errors import FailSafeTriggered

log = logging.getLogger(__name__)

Method = Literal["auto", "xdotool", "clipboard"]
CHUNK = 16  # characters typed between two checks for the person's activity

_KEYS = {"win": "winleft", "super": "winleft", "return": "enter", "escape": "esc", "del": "delete", "menu": "apps"}


def split_runs(text: str) -> Iterator[tuple[bool, str]]:
    """(is_plain_ascii, run) pieces: printable ASCII plus tab/newline vs everything else."""
    run, plain = "", None
    for ch in text:
        p = (32 <= ord(ch) < 127) or ch in "\t\n"
        if plain is None or p == plain:
            run += ch
        else:
            yield plain, run
            run = ch
        plain = p
    if run:
        yield bool(plain), run


class InputDriver(Protocol):
    sends_input: bool

    def click(self, x: int, y: int, button: str = "left", clicks: int = 1) -> None: ...
    def type_text(self, text: str, method: Method, between: Callable[[], None] | None = None,
                  after: Callable[[], None] | None = None) -> None: ...
    def hotkey(self, keys: list[str]) -> None: ...
    def pointer(self) -> tuple[int, int]: ...


class LiveInput:
    """Real input on $DISPLAY."""

    sends_input = True

    def __init__(self, failsafe: bool = True, pause: float = 0.05, type_delay_ms: int = 12,
                 paste_keys: str = "ctrl+v") -> None:
        import pyautogui  # imported late: it connects to X on import

        self.pg = pyautogui
        pyautogui.FAILSAFE = failsafe
        pyautogui.PAUSE = pause
        self.failsafe = failsafe
        self.type_delay_ms = type_delay_ms
        self.paste_keys = [k.strip() for k in paste_keys.split("+")]
        self._clip = None

    def _failsafe_check(self) -> None:
        try:
            self.pg.failSafeCheck()
        except self.pg.FailSafeException as exc:
            raise FailSafeTriggered("input", "fail-safe: the pointer is in a screen corner; input stopped") from exc

    def click(self, x: int, y: int, button: str = "left", clicks: int = 1) -> None:
        try:
            self.pg.click(x, y, clicks=clicks, interval=0.05 if clicks > 1 else 0.0, button=button)
        except self.pg.FailSafeException as exc:
            raise FailSafeTriggered("input", "fail-safe: the pointer is in a screen corner; input stopped") from exc

    def hotkey(self, keys: list[str]) -> None:
        keys = [_KEYS.get(k, k) for k in keys]
        try:
            if len(keys) == 1:
                self.pg.press(keys[0])
            else:
                self.pg.hotkey(*keys)
        except self.pg.FailSafeException as exc:
            raise FailSafeTriggered("input", "fail-safe: the pointer is in a screen corner; input stopped") from exc

    def pointer(self) -> tuple[int, int]:
        p = self.pg.position()
        return (int(p[0]), int(p[1]))

    def type_text(self, text: str, method: Method = "auto", between: Callable[[], None] | None = None,
                  after: Callable[[], None] | None = None) -> None:
        """Type `text` exactly; `between` runs before each chunk but the first (activity checks; it
        may raise), `after` right after each chunk (to note the player's own input)."""
        first = True
        for plain, run in split_runs(text):
            for i in range(0, len(run), CHUNK):
                chunk = run[i:i + CHUNK]
                if between and not first:
                    between()
                first = False
                self._failsafe_check()
                try:
                    if method == "xdotool" or (method == "auto" and plain):
                        self._xdotool(chunk)
                    else:
                        self._paste(chunk)
                finally:
                    if after:
                        after()

    def _xdotool(self, chunk: str) -> None:
        proc = subprocess.run(["xdotool", "type", "--delay", str(self.type_delay_ms), "--", chunk],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"xdotool type failed: {proc.stderr.strip()[:200]}")

    def _paste(self, chunk: str) -> None:
        from rpa_flows.clipboard import ClipboardOwner

        if self._clip is None:
            self._clip = ClipboardOwner(os.environ.get("DISPLAY"))
        self._clip.offer(chunk)
        try:
            self.hotkey(self.paste_keys)
            if not self._clip.serve(timeout=3.0):
                raise RuntimeError("the program did not take the pasted text within 3 s "
                                   "(does it accept paste? try typing: xdotool)")
        finally:
            self._clip.release()

    def close(self) -> None:
        if self._clip is not None:
            self._clip.close()
            self._clip = None


@dataclass
class RecordedAction:
    kind: str
    detail: dict = field(default_factory=dict)


class DryRunInput:
    """Sends nothing; remembers what would have been sent (for the dry-run drawing and log)."""

    sends_input = False

    def __init__(self) -> None:
        self.actions: list[RecordedAction] = []
        self._pointer = (0, 0)

    def click(self, x: int, y: int, button: str = "left", clicks: int = 1) -> None:
        self.actions.append(RecordedAction("click", {"x": x, "y": y, "button": button, "clicks": clicks}))
        self._pointer = (x, y)

    def type_text(self, text: str, method: Method = "auto", between: Callable[[], None] | None = None,
                  after: Callable[[], None] | None = None) -> None:
        self.actions.append(RecordedAction("type", {"chars": len(text)}))

    def hotkey(self, keys: list[str]) -> None:
        self.actions.append(RecordedAction("hotkey", {"keys": keys}))

    def pointer(self) -> tuple[int, int]:
        return self._pointer
