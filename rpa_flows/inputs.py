"""Input drivers: live (the desktop backend) and dry-run (records only), and how text is cut up.

Text is typed key by key (XTEST) for every character the keyboard map has, and pasted through a
clipboard served only to the target program for the rest (method "auto"); "clipboard" pastes
everything. "xdotool" is kept as a name for "keys" (older flows). The fail-safe (pointer in a
screen corner stops everything) is on unless the caller turns it off, checked before every key.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol


log = logging.getLogger(__name__)

Method = Literal["auto", "keys", "xdotool", "clipboard"]
CHUNK = 8  # keys typed between two looks at the screen (the focus is checked before every key)


class InputDriver(Protocol):
    sends_input: bool

    def click(self, x: int, y: int, button: str = "left", clicks: int = 1) -> None: ...
    def type_text(self, text: str, method: Method, between: Callable[[], None] | None = None,
                  after: Callable[[], None] | None = None) -> None: ...
    def hotkey(self, keys: list[str]) -> None: ...
    def pointer(self) -> tuple[int, int]: ...


class LiveInput:
    """Real input on $DISPLAY through the X11 desktop backend (XTEST, checked key by key).

    Kept for callers that want plain input without a flow; the player talks to the Desktop itself.
    """

    sends_input = True

    def __init__(self, failsafe: bool = True, pause: float = 0.05, type_delay_ms: int = 12,
                 paste_keys: str = "ctrl+v", desktop=None) -> None:
        from qcedge.rpa_flows.x11 import X11Desktop

        self.desktop = desktop or X11Desktop(failsafe=failsafe, pause=pause, type_delay_ms=type_delay_ms)
        self.paste_keys = [k.strip() for k in paste_keys.split("+")]

    @staticmethod
    def _any(_info) -> None:
        return None

    def click(self, x: int, y: int, button: str = "left", clicks: int = 1) -> None:
        self.desktop.click(x, y, button, clicks, self._any)

    def hotkey(self, keys: list[str]) -> None:
        self.desktop.press(keys, self._any)

    def pointer(self) -> tuple[int, int]:
        return self.desktop.pointer()

    def type_text(self, text: str, method: Method = "auto", between: Callable[[], None] | None = None,
                  after: Callable[[], None] | None = None) -> None:
        """Type `text` exactly: keys for what the keyboard map has, a paste for the rest (method auto)."""
        first = True
        for chunk, paste in plan_chunks(text, method, self.desktop.can_type):
            if between and not first:
                between()
            first = False
            try:
                if paste:
                    self.desktop.paste(chunk, self.paste_keys, self._any)
                else:
                    self.desktop.type_keys(chunk, self._any)
            finally:
                if after:
                    after()

    def close(self) -> None:
        self.desktop.close()


def plan_chunks(text: str, method: Method, can_type: Callable[[str], bool]) -> list[tuple[str, bool]]:
    """(chunk, by_paste) pieces: CHUNK keys at a time, pasted runs whole (one paste each)."""
    out: list[tuple[str, bool]] = []
    if method == "clipboard":
        return [(text[i:i + CHUNK * 8], True) for i in range(0, len(text), CHUNK * 8)]
    run, keys = "", None
    for ch in text:
        k = can_type(ch)
        if keys is None or k == keys:
            run += ch
        else:
            out.extend(_cut(run, keys))
            run = ch
        keys = k
    if run:
        out.extend(_cut(run, bool(keys)))
    return out


def _cut(run: str, keys: bool) -> list[tuple[str, bool]]:
    if not keys:
        return [(run[i:i + CHUNK * 8], True) for i in range(0, len(run), CHUNK * 8)]
    return [(run[i:i + CHUNK], False) for i in range(0, len(run), CHUNK)]


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


class DriverDesktop:
    """The Desktop interface over a plain InputDriver (tests and callers that bring their own driver):
    no window information, so every window check passes; typing goes through the driver."""

    def __init__(self, inputs: InputDriver) -> None:
        self.inputs = inputs

    def window_at(self, x: int, y: int):
        from qcedge.rpa_flows.desktop import WinInfo

        return WinInfo(None)

    def focus(self):
        from qcedge.rpa_flows.desktop import WinInfo

        return WinInfo(None)

    def rects_of_pid(self, pid: int) -> list[tuple[int, int, int, int]]:
        return []

    def idle(self) -> float | None:
        return None

    def pointer(self) -> tuple[int, int]:
        return self.inputs.pointer()

    def click(self, x: int, y: int, button: str, clicks: int, allowed) -> None:
        self.inputs.click(x, y, button=button, clicks=clicks)

    def press(self, keys: list[str], allowed) -> None:
        self.inputs.hotkey(keys)

    def type_keys(self, text: str, allowed) -> int:
        self.inputs.type_text(text, "keys")
        return len(text)

    def can_type(self, ch: str) -> bool:
        return 32 <= ord(ch) < 127 or ch in "\t\n"

    def paste(self, text: str, keys: list[str], allowed, timeout: float = 3.0) -> None:
        self.inputs.type_text(text, "clipboard")

    def restore_clipboard(self) -> None:
        pass

    def close(self) -> None:
        closer = getattr(self.inputs, "close", None)
        if closer:
            closer()
