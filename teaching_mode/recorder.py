"""Record clicks and keys on the live X screen into flow steps (no Qt here).

Events come from the X RECORD extension (every real or synthetic input on the display).
A click becomes a step on an image patch cut from the screen under the pointer, grown
until it is unique on the screen, with the pointer's offset from the patch centre, so
the replay finds the button wherever its window has moved. Printable keys become `type`
steps (consecutive keys merge; Backspace edits the pending text); other keys and key
combinations become `hotkey` steps.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qcedge.ocr_templates.preprocess import to_grey

log = logging.getLogger(__name__)

PATCH_SIZES = ((64, 28), (96, 36), (140, 48), (200, 64), (280, 90), (400, 140), (560, 200))
DOUBLE_CLICK_S = 0.4
SPECIAL_KEYS = {
    "Return": "enter", "KP_Enter": "enter", "Tab": "tab", "Escape": "esc", "BackSpace": "backspace",
    "Delete": "delete", "Insert": "insert", "Home": "home", "End": "end", "Prior": "pageup", "Next": "pagedown",
    "Up": "up", "Down": "down", "Left": "left", "Right": "right", "space": "space",
    **{f"F{i}": f"f{i}" for i in range(1, 13)},
}
MODIFIERS = {"Control_L": "ctrl", "Control_R": "ctrl", "Alt_L": "alt", "Alt_R": "alt", "Shift_L": "shift",
             "Shift_R": "shift", "Super_L": "win", "Super_R": "win", "Meta_L": "alt", "Meta_R": "alt"}


@dataclass
class InputEvent:
    """One recorded input: kind 'click' (x, y, button) or 'key' (key name, char, modifiers)."""

    kind: str
    t: float
    x: int = 0
    y: int = 0
    button: int = 1
    key: str = ""
    char: str = ""
    modifiers: frozenset[str] = frozenset()
    screen: np.ndarray | None = field(default=None, repr=False)


def unique_patch(screen: np.ndarray, x: int, y: int, threshold: float = 0.9,
                 sizes: tuple[tuple[int, int], ...] = PATCH_SIZES) -> tuple[list[int], float]:
    """The smallest box around (x, y) whose image is unique on `screen` and has texture.

    Returns the box [x, y, w, h] and the second-best match score (how far from ambiguous).
    """
    H, W = screen.shape[:2]
    grey = to_grey(screen)
    best: tuple[list[int], float] | None = None
    for w, h in sizes:
        x0 = int(min(max(0, x - w // 2), max(0, W - w)))
        y0 = int(min(max(0, y - h // 2), max(0, H - h)))
        box = [x0, y0, min(w, W), min(h, H)]
        patch = grey[y0:y0 + box[3], x0:x0 + box[2]]
        if float(patch.std()) < 8.0:
            continue  # flat: nothing to find it by
        res = cv2.matchTemplate(grey, patch, cv2.TM_CCOEFF_NORMED)
        # suppress the patch's own peak, then look at the runner-up
        px, py = x0, y0
        res[max(0, py - h // 4):py + h // 4 + 1, max(0, px - w // 4):px + w // 4 + 1] = -1
        second = float(res.max()) if res.size else -1.0
        if best is None or second < best[1]:
            best = (box, second)
        if second < threshold:
            return box, second
    if best is None:
        w, h = sizes[-1]
        x0, y0 = int(min(max(0, x - w // 2), max(0, W - w))), int(min(max(0, y - h // 2), max(0, H - h)))
        return [x0, y0, min(w, W), min(h, H)], 1.0
    return best


class StepBuilder:
    """Turns input events into flow step mappings; click patches are written under `anchors_dir`."""

    def __init__(self, flow_dir: str | Path, prefix: str = "step", anchors: str = "anchors") -> None:
        self.flow_dir = Path(flow_dir)
        self.anchors = anchors
        self.prefix = prefix
        self.steps: list[dict[str, Any]] = []
        self.boxes: list[list[int] | None] = []  # where each step's target was on the recording screen
        self._last_click: tuple[float, int, int, int] | None = None
        self._n = 0

    def _patch_name(self) -> str:
        while True:
            self._n += 1
            rel = f"{self.anchors}/{self.prefix}_{self._n:02d}.png"
            if not (self.flow_dir / rel).exists():
                return rel

    def add(self, ev: InputEvent) -> None:
        if ev.kind == "click":
            self._click(ev)
        elif ev.kind == "key":
            self._key(ev)

    def _click(self, ev: InputEvent) -> None:
        if ev.button not in (1, 3) or ev.screen is None:
            return
        last = self._last_click
        if (ev.button == 1 and last is not None and ev.t - last[0] < DOUBLE_CLICK_S and abs(ev.x - last[1]) <= 4
                and abs(ev.y - last[2]) <= 4 and self.steps and "click" in self.steps[-1]):
            step = self.steps[-1]
            step["double_click"] = step.pop("click")
            step["name"] = step["name"].replace("click", "double-click", 1)
            self._last_click = None
            return
        box, second = unique_patch(ev.screen, ev.x, ev.y)
        rel = self._patch_name()
        path = self.flow_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        x, y, w, h = box
        ok, buf = cv2.imencode(".png", ev.screen[y:y + h, x:x + w])
        if ok:
            path.write_bytes(buf.tobytes())
        offset = [int(ev.x - (x + w // 2)), int(ev.y - (y + h // 2))]
        target: dict[str, Any] = {"image": rel}
        if offset != [0, 0]:
            target["offset"] = offset
        action = "right_click" if ev.button == 3 else "click"
        n = len(self.steps) + 1
        self.steps.append({"name": f"{action.replace('_', ' ')} {n}", action: target, "expect": {"all": [{"image": rel}]}})
        self.boxes.append(box)
        self._last_click = (ev.t, ev.x, ev.y, ev.button)
        log.debug("recorded %s on a %dx%d patch (runner-up score %.2f)", action, w, h, second)

    def _key(self, ev: InputEvent) -> None:
        mods = set(ev.modifiers) - {"shift"}
        if ev.key in MODIFIERS.values():
            return
        if not mods and ev.char and ev.char.isprintable() and ev.key != "space" or (not mods and ev.key == "space"):
            char = " " if ev.key == "space" else ev.char
            if self.steps and "type" in self.steps[-1]:
                self.steps[-1]["type"] += char
            else:
                self.steps.append({"name": f"type {len(self.steps) + 1}", "type": char})
                self.boxes.append(None)
            return
        if not mods and ev.key == "backspace" and self.steps and "type" in self.steps[-1] and self.steps[-1]["type"]:
            self.steps[-1]["type"] = self.steps[-1]["type"][:-1]
            if not self.steps[-1]["type"]:
                self.steps.pop()
                self.boxes.pop()
            return
        key = ev.key or ev.char.lower()
        if not key:
            return
        keys = [m for m in ("ctrl", "alt", "shift", "win") if m in ev.modifiers] + [key]
        self.steps.append({"name": f"key {len(self.steps) + 1}", "hotkey": "+".join(keys)})
        self.boxes.append(None)


class XInputRecorder:
    """Listens to all key presses and button presses on an X display (RECORD extension).

    `on_event(InputEvent)` is called from the recorder's thread. `ignore(x, y)` may say a
    click belongs to the teaching window itself. A screen snapshot from just before each
    press (grabbed every `snapshot_s`) travels with click events.
    """

    def __init__(self, on_event: Callable[[InputEvent], None], display_name: str | None = None,
                 ignore: Callable[[int, int], bool] | None = None, snapshot_s: float = 0.15) -> None:
        self.on_event = on_event
        self.display_name = display_name
        self.ignore = ignore or (lambda x, y: False)
        self.snapshot_s = snapshot_s
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._snap: np.ndarray | None = None
        self._snap_lock = threading.Lock()
        self._mods: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._ctx = None
        self._ctl_display = None
        self.error: str | None = None

    def start(self) -> "XInputRecorder":
        self._threads = [threading.Thread(target=self._snapshots, name="rec-snap", daemon=True),
                         threading.Thread(target=self._record, name="rec-x", daemon=True)]
        for t in self._threads:
            t.start()
        self._ready.wait(5)
        if self.error:
            raise RuntimeError(self.error)
        return self

    def _snapshots(self) -> None:
        import mss

        with mss.MSS() as sct:
            mon = sct.monitors[0]
            while not self._stop.is_set():
                shot = np.asarray(sct.grab(mon))
                img = cv2.cvtColor(shot, cv2.COLOR_BGRA2BGR)
                with self._snap_lock:
                    self._snap = img
                self._stop.wait(self.snapshot_s)

    def snapshot(self) -> np.ndarray | None:
        with self._snap_lock:
            return self._snap

    def _record(self) -> None:
        from Xlib import X, XK, display
        from Xlib.ext import record
        from Xlib.protocol import rq

        try:
            local = display.Display(self.display_name)
            self._ctl_display = display.Display(self.display_name)
            if not local.has_extension("RECORD"):
                raise RuntimeError("the X server has no RECORD extension: clicks cannot be recorded")
            ctx = local.record_create_context(0, [record.AllClients], [{
                "core_requests": (0, 0), "core_replies": (0, 0), "ext_requests": (0, 0, 0, 0),
                "ext_replies": (0, 0, 0, 0), "delivered_events": (0, 0), "device_events": (X.KeyPress, X.ButtonPress),
                "errors": (0, 0), "client_started": False, "client_died": False}])
            self._ctx = ctx
        except Exception as exc:  # noqa: BLE001
            self.error = f"cannot record input: {exc}"
            self._ready.set()
            return
        self._ready.set()
        keysym_names = {v: k.removeprefix("XK_") for k, v in vars(XK).items() if k.startswith("XK_")}

        def handler(reply) -> None:
            if reply.category != record.FromServer or reply.client_swapped or not reply.data:
                return
            data = reply.data
            while data:
                event, data = rq.EventField(None).parse_binary_value(data, local.display, None, None)
                now = time.monotonic()
                if event.type == X.ButtonPress:
                    if self.ignore(event.root_x, event.root_y):
                        continue
                    self.on_event(InputEvent("click", now, x=event.root_x, y=event.root_y, button=event.detail,
                                             modifiers=frozenset(self._mods), screen=self.snapshot()))
                elif event.type == X.KeyPress:
                    shift = bool(event.state & X.ShiftMask)
                    sym = local.keycode_to_keysym(event.detail, 1 if shift else 0) or local.keycode_to_keysym(event.detail, 0)
                    name = keysym_names.get(sym, "")
                    mods = set()
                    if event.state & X.ControlMask:
                        mods.add("ctrl")
                    if event.state & X.Mod1Mask:
                        mods.add("alt")
                    if shift:
                        mods.add("shift")
                    if event.state & X.Mod4Mask:
                        mods.add("win")
                    if name in MODIFIERS:
                        continue
                    char = ""
                    if 0x20 <= sym <= 0x7E:
                        char = chr(sym)
                    elif 0x100 <= sym < 0x1000000 and sym & 0xFF000000 == 0x01000000:
                        char = chr(sym & 0xFFFFFF)
                    key = SPECIAL_KEYS.get(name, "")
                    if not key and char and mods - {"shift"}:
                        key = char.lower()
                    self.on_event(InputEvent("key", now, key=key, char=char if not key or key == "space" else "",
                                             modifiers=frozenset(mods)))

        try:
            local.record_enable_context(ctx, handler)
        except Exception as exc:  # noqa: BLE001 - the display went away
            if not self._stop.is_set():
                log.warning("input recording stopped: %s", exc)
        finally:
            try:
                local.record_free_context(ctx)
                local.close()
            except Exception:  # noqa: BLE001
                pass

    def stop(self) -> None:
        self._stop.set()
        if self._ctx is not None and self._ctl_display is not None:
            try:
                self._ctl_display.record_disable_context(self._ctx)
                self._ctl_display.flush()
            except Exception:  # noqa: BLE001
                pass
        for t in self._threads:
            t.join(timeout=3)
        if self._ctl_display is not None:
            try:
                self._ctl_display.close()
            except Exception:  # noqa: BLE001
                pass
