"""Own the X CLIPBOARD for one paste: offer a text, serve the program's request, let go.

Used to type Chinese and other non-ASCII text: `xdotool type` remaps a spare
keycode per character and programs (Qt) lose characters when that races their
keymap refresh; pyautogui drops them outright. Serving the selection ourselves
(instead of a forked xclip) tells us exactly when the program has fetched it.
"""
from __future__ import annotations

import logging
import select
import time

from Xlib import X, Xatom, display
from Xlib.protocol import event, request

log = logging.getLogger(__name__)

MAX_BYTES = 200_000
TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "TEXT", "STRING", "text/plain")


class ClipboardError(RuntimeError):
    pass


class ClipboardOwner:
    """One X connection and an unmapped window that owns CLIPBOARD while a paste is served."""

    def __init__(self, display_name: str | None = None) -> None:
        self.d = display.Display(display_name)
        self.win = self.d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
        self.clipboard = self.d.intern_atom("CLIPBOARD")
        self.targets = self.d.intern_atom("TARGETS")
        self.text_atoms = {self.d.intern_atom(n): n for n in TEXT_TARGETS}
        self.text_atoms[Xatom.STRING] = "STRING"
        self.utf8 = self.d.intern_atom("UTF8_STRING")
        self._data = b""

    def offer(self, text: str) -> None:
        data = text.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise ClipboardError(f"text of {len(data)} bytes is too long to paste in one go")
        self._data = data
        self.win.set_selection_owner(self.clipboard, X.CurrentTime)
        self.d.flush()
        if self.d.get_selection_owner(self.clipboard) != self.win:
            raise ClipboardError("could not take the X clipboard")

    def serve(self, timeout: float = 3.0) -> bool:
        """Answer selection requests until one asked for the text (True) or `timeout` passed (False)."""
        deadline = time.monotonic() + timeout
        while True:
            while self.d.pending_events():
                ev = self.d.next_event()
                if ev.type == X.SelectionRequest and self._answer(ev):
                    return True
                if ev.type == X.SelectionClear:
                    log.debug("clipboard taken by another program before the paste")
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([self.d.fileno()], [], [], min(left, 0.05))

    def _answer(self, req) -> bool:
        prop = req.property or req.target
        served = False
        if req.selection != self.clipboard:
            prop = X.NONE
        elif req.target == self.targets:
            atoms = [self.targets, *self.text_atoms]
            req.requestor.change_property(prop, Xatom.ATOM, 32, atoms)
        elif req.target in self.text_atoms:
            req.requestor.change_property(prop, req.target, 8, self._data)
            served = True
        else:
            prop = X.NONE
        notify = event.SelectionNotify(time=req.time, requestor=req.requestor, selection=req.selection,
                                       target=req.target, property=prop)
        req.requestor.send_event(notify)
        self.d.flush()
        return served

    def release(self) -> None:
        """Give the clipboard up (so the pasted text, maybe patient data, does not linger there)."""
        self._data = b""
        if self.d.get_selection_owner(self.clipboard) == self.win:
            request.SetSelectionOwner(display=self.d.display, window=X.NONE, selection=self.clipboard,
                                      time=X.CurrentTime)
        self.d.flush()

    def close(self) -> None:
        try:
            self.win.destroy()
            self.d.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass
