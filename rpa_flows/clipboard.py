"""Own the X CLIPBOARD for one paste: offer a text, serve the program's request, let go.

Used to type Chinese and other non-ASCII text: `xdotool type` remaps a spare
keycode per character and programs (Qt) lose characters when that races their
keymap refresh; pyautogui drops them outright. Serving the selection ourselves
(instead of a forked xclip) tells us exactly when the program has fetched it.
"""
from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import time

from Xlib import X, Xatom, display
from Xlib.protocol import event, request

from qcedge.rpa_flows.errors import RpaError

log = logging.getLogger(__name__)

MAX_BYTES = 200_000
TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "TEXT", "STRING", "text/plain")


class ClipboardError(RpaError, RuntimeError):
    """The X clipboard could not be taken or served (a failed operation)."""


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
        self._for_client: int | None = None  # only this X client may fetch the text (None: nobody yet)
        self._mask = self.d.display.info.resource_id_mask
        self.refused = 0
        self._person: bytes | None = None  # the person's clipboard text, put back after the step

    def save_person(self) -> None:
        """Remember the clipboard text someone else owns now (put back by `restore_person`)."""
        if self._person is not None:
            return
        owner = self.d.get_selection_owner(self.clipboard)
        if owner in (X.NONE, 0) or getattr(owner, "id", owner) == self.win.id:
            return
        prop = self.d.intern_atom("QCEDGE_SAVED")
        self.win.convert_selection(self.clipboard, self.utf8, prop, X.CurrentTime)
        self.d.flush()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            while self.d.pending_events():
                ev = self.d.next_event()
                if ev.type == X.SelectionNotify and ev.selection == self.clipboard:
                    if ev.property != X.NONE:
                        got = self.win.get_full_property(prop, X.AnyPropertyType)
                        if got is not None and got.property_type == self.utf8:
                            value = got.value
                            self._person = value if isinstance(value, bytes) else bytes(value)
                        self.win.delete_property(prop)
                    return
                if ev.type == X.SelectionRequest:
                    self._answer(ev)
            select.select([self.d.fileno()], [], [], 0.02)
        log.debug("the clipboard owner did not answer within 0.5 s: its text is not saved")

    def restore_person(self) -> None:
        """Put the person's clipboard text back (served by xclip, which lives until it is replaced)."""
        data, self._person = self._person, None
        if not data:
            return
        if not shutil.which("xclip"):
            log.warning("xclip is not installed: the clipboard's previous text is not put back")
            return
        env = {**os.environ, "DISPLAY": self.d.get_display_name()}
        try:
            subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=data, env=env, timeout=5,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not put the clipboard back: %s", exc)

    def only_for(self, client: int | None) -> None:
        """Serve the offered text to this X client (program) only."""
        self._for_client = client

    def offer(self, text: str) -> None:
        data = text.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise ClipboardError(f"text of {len(data)} bytes is too long to paste in one go")
        self._data = data
        self._for_client, self.refused = None, 0
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
        requestor = getattr(req.requestor, "id", req.requestor)
        if req.selection != self.clipboard or self._for_client is None or (requestor & ~self._mask) != self._for_client:
            if req.selection == self.clipboard:
                self.refused += 1
                log.info("clipboard request of another program refused")
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
        self._for_client = None
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
