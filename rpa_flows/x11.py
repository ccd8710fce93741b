"""The X11 backend of `rpa_flows.desktop.Desktop`: XTEST input under a server grab, X focus, idle time.

Every key press, paste key and click is sent while this connection holds a server grab, right
after the window that will receive it has been looked up and accepted: no other program (nor a
dialog of the target program) can take the focus or map a window between the check and the
input. Text is typed one key at a time this way; characters the keyboard map has no key for
(Chinese, ...) are pasted through a clipboard that is served only to the program the text is
meant for, once, and then withdrawn (rpa_flows.clipboard).
"""
from __future__ import annotations

import logging
import threading
import time

from Xlib import X, XK, display, error
from Xlib.ext import xtest

from qcedge.rpa_flows.desktop import Allowed, InputRefused, WinInfo
from qcedge.rpa_flows.errors import FailSafeTriggered

log = logging.getLogger(__name__)

KEYSYMS = {
    "ctrl": "Control_L", "alt": "Alt_L", "shift": "Shift_L", "win": "Super_L", "super": "Super_L",
    "enter": "Return", "return": "Return", "tab": "Tab", "esc": "Escape", "escape": "Escape", "space": "space",
    "backspace": "BackSpace", "delete": "Delete", "del": "Delete", "insert": "Insert", "home": "Home",
    "end": "End", "pageup": "Prior", "pagedown": "Next", "up": "Up", "down": "Down", "left": "Left",
    "right": "Right", "capslock": "Caps_Lock", "menu": "Menu", **{f"f{i}": f"F{i}" for i in range(1, 13)},
}
BUTTONS = {"left": 1, "middle": 2, "right": 3}


def char_keysym(ch: str) -> int:
    if ch == "\n":
        return XK.XK_Return
    if ch == "\t":
        return XK.XK_Tab
    o = ord(ch)
    return o if (0x20 <= o < 0x7f or 0xa0 <= o <= 0xff) else 0x1000000 + o


class X11Desktop:
    """One X connection; input by XTEST. `failsafe`: a pointer in a screen corner stops all input."""

    def __init__(self, display_name: str | None = None, failsafe: bool = True, pause: float = 0.05,
                 type_delay_ms: int = 12) -> None:
        self.d = display.Display(display_name)
        self.root = self.d.screen().root
        if not self.d.has_extension("XTEST"):
            raise RuntimeError("the X server has no XTEST extension: cannot send input")
        self.failsafe, self.pause, self.type_delay = failsafe, pause, type_delay_ms / 1000.0
        self._mask = self.d.display.info.resource_id_mask
        self._pid_atom = self.d.intern_atom("_NET_WM_PID")
        self._has_idle = self.d.has_extension("MIT-SCREEN-SAVER")
        self._lock = threading.RLock()
        self._keys = self._keymap()
        self._clip = None
        self._maps = 0  # windows mapped on the screen since we started (dialogs, menus, other programs)
        self.root.change_attributes(event_mask=X.SubstructureNotifyMask)
        self.d.sync()
        self.size = (self.d.screen().width_in_pixels, self.d.screen().height_in_pixels)

    # -- looking -----------------------------------------------------------------------------------
    def _keymap(self) -> dict[int, tuple[int, bool]]:
        first = self.d.display.info.min_keycode
        count = self.d.display.info.max_keycode - first + 1
        table: dict[int, tuple[int, bool]] = {}
        for idx in (0, 1):  # unshifted keys first, so 'a' is never typed as shift+something
            for i, syms in enumerate(self.d.get_keyboard_mapping(first, count)):
                if idx < len(syms) and syms[idx] and syms[idx] not in table:
                    table[syms[idx]] = (first + i, idx == 1)
        return table

    def can_type(self, ch: str) -> bool:
        return char_keysym(ch) in self._keys

    def _toplevel_of(self, w) -> int | None:
        try:
            while True:
                tree = w.query_tree()
                if tree.parent is None or tree.parent.id in (0, self.root.id):
                    return w.id
                w = tree.parent
        except error.XError:
            return None

    def _info(self, top: int | None, focus: int | None = None) -> WinInfo:
        if top is None:
            return WinInfo(None, focus)
        w = self.d.create_resource_object("window", top)
        pid = owner = None
        try:
            prop = w.get_full_property(self._pid_atom, X.AnyPropertyType)
            if prop is not None and len(prop.value):
                pid = int(prop.value[0])
            t = w.get_wm_transient_for()
            owner = t.id if t is not None else None
        except error.XError:
            pass
        return WinInfo(top, focus, top & ~self._mask, pid, owner)

    def _toplevel_at(self, x: int, y: int) -> int | None:
        for w in reversed(self.root.query_tree().children):  # stacking order: last is on top
            try:
                attrs = w.get_attributes()
                if attrs.map_state != X.IsViewable or attrs.win_class == X.InputOnly:
                    continue
                g = w.get_geometry()
            except error.XError:
                continue
            bw = g.border_width
            if g.x <= x < g.x + g.width + 2 * bw and g.y <= y < g.y + g.height + 2 * bw:
                return w.id
        return None

    def _drain(self) -> None:
        while self.d.pending_events():
            if self.d.next_event().type == X.MapNotify:
                self._maps += 1

    def _focus_now(self) -> WinInfo:
        f = self.d.get_input_focus().focus  # a round trip: every MapNotify before it is in our queue now
        self._drain()
        if isinstance(f, int):  # PointerRoot (1) or None (0)
            if f == X.PointerRoot:  # keys go to the window under the pointer
                p = self.root.query_pointer()
                info = self._info(p.child.id if p.child else None)
            else:
                info = WinInfo(None)
        else:
            info = self._info(self._toplevel_of(f), f.id)
        return WinInfo(info.toplevel, info.focus, info.client, info.pid, info.owner, self._maps)

    def window_at(self, x: int, y: int) -> WinInfo:
        with self._lock:
            return self._info(self._toplevel_at(x, y))

    def focus(self) -> WinInfo:
        with self._lock:
            return self._focus_now()

    def rects_of_pid(self, pid: int) -> list[tuple[int, int, int, int]]:
        out = []
        with self._lock:
            for w in self.root.query_tree().children:
                try:
                    if w.get_attributes().map_state != X.IsViewable:
                        continue
                    prop = w.get_full_property(self._pid_atom, X.AnyPropertyType)
                    if prop is None or not len(prop.value) or int(prop.value[0]) != pid:
                        continue
                    g = w.get_geometry()
                except error.XError:
                    continue
                out.append((g.x, g.y, g.width + 2 * g.border_width, g.height + 2 * g.border_width))
        return out

    def idle(self) -> float | None:
        if not self._has_idle:
            return None
        with self._lock:
            return self.root.screensaver_query_info().idle / 1000.0

    def pointer(self) -> tuple[int, int]:
        with self._lock:
            p = self.root.query_pointer()
        return (p.root_x, p.root_y)

    # -- input ----------------------------------------------------------------------------------------
    def _failsafe_check(self) -> None:
        if not self.failsafe:
            return
        x, y = self.pointer()
        w, h = self.size
        if (x, y) in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
            raise FailSafeTriggered("input", "fail-safe: the pointer is in a screen corner; input stopped")

    def _grabbed(self, receiver, allowed: Allowed, send) -> None:
        """Under a server grab: find the receiving window, ask `allowed`, send. Raises InputRefused."""
        with self._lock:
            self.d.grab_server()
            try:
                info = receiver()
                why = allowed(info)
                if why is not None:
                    raise InputRefused(why)
                send()
            finally:
                self.d.ungrab_server()
                self.d.sync()

    def _key(self, keysym: int, down: bool) -> None:
        kc, _ = self._keys[keysym]
        xtest.fake_input(self.d, X.KeyPress if down else X.KeyRelease, kc)

    def _keysym_of(self, name: str) -> int:
        name = KEYSYMS.get(name.lower(), name)
        sym = XK.string_to_keysym(name) if len(name) > 1 else char_keysym(name)
        if not sym or sym not in self._keys:
            raise ValueError(f"no key for '{name}' on this keyboard map")
        return sym

    def press(self, keys: list[str], allowed: Allowed) -> None:
        """A key or a combination (all pressed, then released in reverse), as one atomic step."""
        syms = [self._keysym_of(k) for k in keys]
        self._failsafe_check()

        def send() -> None:
            for s in syms:
                self._key(s, True)
            for s in reversed(syms):
                self._key(s, False)

        self._grabbed(self._focus_now, allowed, send)
        time.sleep(self.pause)

    def type_keys(self, text: str, allowed: Allowed) -> int:
        """Type `text` key by key, asking `allowed` before each; returns the count sent (all of it)."""
        shift = self._keys[XK.XK_Shift_L][0]
        for n, ch in enumerate(text):
            sym = char_keysym(ch)
            if sym not in self._keys:
                raise InputRefused(f"no key for {ch!r} on this keyboard map", n)
            kc, shifted = self._keys[sym]
            self._failsafe_check()
            with self._lock:
                lock_on = bool(self.root.query_pointer().mask & X.LockMask)
            if lock_on and ch.isalpha() and ch.isascii():
                shifted = not shifted  # caps lock inverts letters

            def send(kc=kc, shifted=shifted) -> None:
                if shifted:
                    xtest.fake_input(self.d, X.KeyPress, shift)
                xtest.fake_input(self.d, X.KeyPress, kc)
                xtest.fake_input(self.d, X.KeyRelease, kc)
                if shifted:
                    xtest.fake_input(self.d, X.KeyRelease, shift)

            try:
                self._grabbed(self._focus_now, allowed, send)
            except InputRefused as exc:
                raise InputRefused(exc.reason, n) from None
            if self.type_delay:
                time.sleep(self.type_delay)
        return len(text)

    def click(self, x: int, y: int, button: str, clicks: int, allowed: Allowed) -> None:
        """Move and click at (x, y) when the window there is allowed (looked up under the same grab)."""
        b = BUTTONS[button]
        self._failsafe_check()
        for i in range(clicks):
            def send() -> None:
                xtest.fake_input(self.d, X.MotionNotify, x=x, y=y)
                xtest.fake_input(self.d, X.ButtonPress, b)
                xtest.fake_input(self.d, X.ButtonRelease, b)

            self._grabbed(lambda: self._info(self._toplevel_at(x, y)), allowed, send)
            if i + 1 < clicks:
                time.sleep(0.05)
        time.sleep(self.pause)

    def move(self, x: int, y: int) -> None:
        with self._lock:
            xtest.fake_input(self.d, X.MotionNotify, x=x, y=y)
            self.d.sync()

    # -- clipboard --------------------------------------------------------------------------------------
    def _clipboard(self):
        from qcedge.rpa_flows.clipboard import ClipboardOwner

        if self._clip is None:
            self._clip = ClipboardOwner(self.d.get_display_name())
        return self._clip

    def paste(self, text: str, keys: list[str], allowed: Allowed, timeout: float = 3.0) -> None:
        """Offer `text` to the program that has the focus only, press the paste keys, serve it once."""
        clip = self._clipboard()
        clip.save_person()
        target: dict[str, WinInfo] = {}

        def check(info: WinInfo) -> str | None:
            why = allowed(info)
            if why is None:
                target["w"] = info
            return why

        syms = [self._keysym_of(k) for k in keys]
        self._failsafe_check()
        clip.offer(text)
        try:
            def send() -> None:
                clip.only_for(target["w"].client)
                for s in syms:
                    self._key(s, True)
                for s in reversed(syms):
                    self._key(s, False)

            self._grabbed(self._focus_now, check, send)
            if not clip.serve(timeout=timeout):
                refused = f" (refused it to {clip.refused} request(s) of other programs)" if clip.refused else ""
                raise InputRefused(f"the pasted text was not taken within {timeout:g} s{refused}")
        finally:
            clip.release()
        time.sleep(self.pause)

    def restore_clipboard(self) -> None:
        if self._clip is not None:
            self._clip.restore_person()

    def close(self) -> None:
        if self._clip is not None:
            self._clip.restore_person()
            self._clip.close()
            self._clip = None
        try:
            self.d.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass

