"""The player's platform interface: windows, focus, idle time, clipboard and input, in one small Protocol.

The player never talks to X (or Win32) directly: it asks a `Desktop`. The X11 backend is
`rpa_flows.x11.X11Desktop`; docs/flows.md ("Platform backends") lists what a Windows backend needs.

Every input call takes `allowed`: a function of the window that would receive the input
(`WinInfo`), returning None to go ahead or a reason to refuse. The backend evaluates it at the
last moment, atomically with the input (X11: under a server grab), so no window can take the
focus between the check and the key press.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from qcedge.rpa_flows.errors import RpaError


@dataclass(frozen=True, slots=True)
class WinInfo:
    """The window that would receive input now."""

    toplevel: int | None  # top-level window (X: child of the root), None when unknown
    focus: int | None = None  # exact focus window (None: focus follows the pointer / unknown)
    client: int | None = None  # the connection (program) that created the top-level
    pid: int | None = None  # process id (X: _NET_WM_PID) when the program tells it
    owner: int | None = None  # the top-level this one is transient for (dialogs)
    maps: int = 0  # windows mapped on the screen so far (a new one while typing stops the typing)

    def same_program(self, other: "WinInfo | None") -> bool:
        """Same program: same client or same pid, or one is a dialog (transient) of the other."""
        if other is None or self.toplevel is None or other.toplevel is None:
            return False
        if self.toplevel == other.toplevel:
            return True
        if self.client is not None and self.client == other.client:
            return True
        if self.pid is not None and self.pid == other.pid:
            return True
        return self.owner == other.toplevel or other.owner == self.toplevel or (
            self.owner is not None and self.owner == other.owner)

    def describe(self) -> str:
        return f"0x{self.toplevel or 0:x}" + (f" (pid {self.pid})" if self.pid else "")


Allowed = Callable[[WinInfo], "str | None"]


class InputRefused(RpaError, RuntimeError):
    """Input was stopped before it was sent: `reason` says why; `sent` characters had gone before."""

    def __init__(self, reason: str, sent: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.sent = reason, sent


class Desktop(Protocol):
    """What the player needs from the platform."""

    def window_at(self, x: int, y: int) -> WinInfo: ...
    def focus(self) -> WinInfo: ...
    def rects_of_pid(self, pid: int) -> list[tuple[int, int, int, int]]: ...
    def idle(self) -> float | None: ...
    def pointer(self) -> tuple[int, int]: ...
    def click(self, x: int, y: int, button: str, clicks: int, allowed: Allowed) -> None: ...
    def press(self, keys: list[str], allowed: Allowed) -> None: ...
    def type_keys(self, text: str, allowed: Allowed) -> int: ...
    def can_type(self, ch: str) -> bool: ...
    def paste(self, text: str, keys: list[str], allowed: Allowed, timeout: float = 3.0) -> None: ...
    def restore_clipboard(self) -> None: ...
    def close(self) -> None: ...
