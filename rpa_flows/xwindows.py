"""Which top-level X window is at a point, and which one has the keyboard focus.

The player uses this to make sure input lands in the window that shows the
expected screen: a click point covered by another window, or the keyboard
focus on another program, stops the flow before anything is sent.
"""
from __future__ import annotations

import threading

from Xlib import X, display, error


class WindowStack:
    def __init__(self, display_name: str | None = None) -> None:
        self._d = display.Display(display_name)
        self._root = self._d.screen().root
        self._lock = threading.Lock()

    def toplevel_at(self, x: int, y: int) -> int | None:
        """The id of the topmost viewable top-level window containing root point (x, y)."""
        with self._lock:
            for w in reversed(self._root.query_tree().children):  # stacking order: last is on top
                try:
                    attrs = w.get_attributes()
                    if attrs.map_state != X.IsViewable or attrs.win_class == X.InputOnly:
                        continue
                    g = w.get_geometry()
                except error.XError:
                    continue  # the window went away while we looked
                bw = g.border_width
                if g.x <= x < g.x + g.width + 2 * bw and g.y <= y < g.y + g.height + 2 * bw:
                    return w.id
        return None

    def rects_of_pid(self, pid: int) -> list[tuple[int, int, int, int]]:
        """Boxes of the viewable top-level windows of process `pid` (from _NET_WM_PID, which Qt,
        GTK and Tk set), e.g. the teaching window that runs the player: never a place to click."""
        out = []
        with self._lock:
            atom = self._d.intern_atom("_NET_WM_PID")
            for w in self._root.query_tree().children:
                try:
                    if w.get_attributes().map_state != X.IsViewable:
                        continue
                    prop = w.get_full_property(atom, X.AnyPropertyType)
                    if prop is None or not len(prop.value) or int(prop.value[0]) != pid:
                        continue
                    g = w.get_geometry()
                except error.XError:
                    continue
                out.append((g.x, g.y, g.width + 2 * g.border_width, g.height + 2 * g.border_width))
        return out

    def focus_toplevel(self) -> int | None:
        """The top-level window that receives key presses (None: none/unknown)."""
        with self._lock:
            focus = self._d.get_input_focus().focus
            if isinstance(focus, int):  # PointerRoot (1) or None (0)
                if focus == X.PointerRoot:
                    p = self._root.query_pointer()
                    return None if not p.child else p.child.id
                return None
            w = focus
            try:
                while True:
                    tree = w.query_tree()
                    if tree.parent is None or tree.parent.id in (0, self._root.id):
                        return w.id
                    w = tree.parent
            except error.XError:
                return None

    def close(self) -> None:
        try:
            self._d.close()
        except Exception:  # noqa: BLE001
            pass
