"""The sample recording: a session at a console as a 1920x1080, 5 fps video, with its truth.

Timeline (see recording.json for the exact times): idle desktop; the CT dose report opens
(a few partially drawn frames), stays, changes to the next patient in place; a message box
covers a corner (no field) for a moment; the window closes; a spreadsheet (foreign) is used;
another vendor's CT page (near miss); the DR exposure panel; the RIS form with two
registrations. The mouse pointer moves now and then; the taskbar clock ticks once.

recording.json lists every screen appearance {start_s, end_s, template_id, fields, tables,
identity}: a daemon watching the video should make exactly one record per taught appearance.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from samples import chrome
from samples.desktop import desktop
from samples.paint import Font, Painter
from samples.screens.base import Instance, Screen
from samples.variants import FRAME_H, FRAME_W

FPS = 5
SCHEMA = "qcedge.recording/1"
ARROW = [(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)]


@dataclass
class Segment:
    """A stretch of the session: what is on screen for `seconds`."""

    seconds: float
    screen: Screen | None = None  # None: the bare desktop
    inst: Instance | None = None
    pos: tuple[int, int] = (0, 0)
    opening: bool = False  # first frames partially drawn
    refresh: bool = False  # in-place change of values (one cleared frame first)
    dialog: tuple[float, float] | None = None  # message box from/to (seconds into the segment)
    pointer_moves: list[tuple[float, float, tuple[int, int]]] = field(default_factory=list)  # (from, to, target)


def _bgr(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def _blank(inst: Instance) -> Instance:
    """The same screen with its values cleared (what a program shows while it reloads)."""
    return replace(inst, fields={k: "" for k in inst.fields}, tables={k: [] for k in inst.tables})


def _message_box(text: str, title: str) -> np.ndarray:
    p = Painter(360, 130, 1.0, bg=(255, 255, 255))
    th = chrome.Theme()
    chrome.titlebar(p, 360, title, th, Font("noto_sans_sc", 12), icon=(0, 84, 147))
    p.ellipse((20, 50, 28, 28), fill=(0, 120, 215))
    p.text(34, 64, "i", Font("dejavu_sans_bold", 16), (255, 255, 255), "mm")
    p.text(62, 64, text, Font("noto_sans_sc", 13), (0, 0, 0), "lm")
    p.rect((0, 92, 360, 38), fill=(240, 240, 240))
    chrome.button(p, (262, 99, 84, 24), "确定", th, Font("noto_sans_sc", 12), default=True)
    p.rect((0, 0, 360, 130), outline=(0, 120, 215))
    return _bgr(p.img)


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _draw_pointer(frame: np.ndarray, x: int, y: int) -> None:
    pts = np.array([(x + px, y + py) for px, py in ARROW], np.int32)
    cv2.fillPoly(frame, [pts], (255, 255, 255))
    cv2.polylines(frame, [pts], True, (0, 0, 0), 1)


POINTER_START = (1500, 700)
DIALOG_AT = (600, 532)  # the message box's place in the CT window (below the fields, over the buttons)


def pointer_at(moves: list[tuple[float, float, tuple[int, int]]], t: float) -> tuple[float, float]:
    """Where the pointer is at time t: it moves in straight lines during its moves and rests between."""
    x, y = POINTER_START
    for a, b, (tx, ty) in moves:
        if t >= b:
            x, y = tx, ty
        elif t >= a:
            frac = (t - a) / (b - a)
            return x + (tx - x) * frac, y + (ty - y) * frac
        else:
            break
    return float(x), float(y)


def session(seed: int) -> tuple[list[Segment], datetime]:
    """The scripted session, with instances drawn from the same screens as the stills."""
    from samples.screens.ct_dose import CtDoseReport
    from samples.screens.dr_exposure import DrExposurePanel
    from samples.screens.foreign import OrbisCtDose, Spreadsheet
    from samples.screens.ris_registration import RisRegistration

    ct, dr, ris = CtDoseReport(), DrExposurePanel(), RisRegistration()
    sheet, orbis = Spreadsheet(), OrbisCtDose()

    def inst(screen: Screen, n: int) -> Instance:
        i = screen.make(random.Random(f"{seed}:recording:{screen.kind}:{n}"), 1000 + n)
        i.look = screen.reference_look() if n == 0 else i.look
        return i

    ct_a, ct_b = inst(ct, 0), inst(ct, 1)
    dr_a, ris_a, ris_b = inst(dr, 0), inst(ris, 0), inst(ris, 1)
    ris_b.look = ris_a.look  # the same program keeps its font
    ct_b.look = ct_a.look
    start = datetime(2025, 11, 3, 9, 58, 17)
    ct_pos, dr_pos, ris_pos = ct.usual, (380, 150), (420, 140)
    segs = [
        Segment(6.0, pointer_moves=[(1.0, 3.0, (900, 500)), (4.0, 5.2, (1160, 230))]),
        Segment(14.0, ct, ct_a, ct_pos, opening=True, pointer_moves=[(7.0, 8.4, (1380, 180)), (8.6, 9.0, (1430, 120))]),
        Segment(16.0, ct, ct_b, ct_pos, refresh=True, dialog=(6.0, 8.0), pointer_moves=[(5.0, 5.8, (1230, 760)), (9.0, 10.0, (1500, 300))]),
        Segment(2.0),
        Segment(10.0, sheet, inst(sheet, 0), sheet.usual, opening=True, pointer_moves=[(2.0, 4.0, (700, 400)), (6.0, 7.5, (900, 600))]),
        Segment(8.0, orbis, inst(orbis, 0), (300, 120), opening=True),
        Segment(2.0),
        Segment(14.0, dr, dr_a, dr_pos, opening=True, pointer_moves=[(8.0, 9.5, (1500, 900))]),
        Segment(2.0, pointer_moves=[(0.2, 1.5, (1600, 250))]),
        Segment(12.0, ris, ris_a, ris_pos, opening=True, pointer_moves=[(6.0, 7.0, (1300, 900))]),
        Segment(12.0, ris, ris_b, ris_pos, refresh=True, pointer_moves=[(3.0, 4.0, (1700, 300))]),
        Segment(4.0),
    ]
    return segs, start


def make_recording(out: Path, seed: int = 20251128, quiet: bool = False, name: str = "recording") -> dict[str, Any]:
    """Write `<name>.mp4` and `<name>.json` into `out`."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    segs, clock0 = session(seed)
    tick_at = 60 - clock0.second  # the taskbar clock turns to the next minute
    desks = [_bgr(desktop(FRAME_W, FRAME_H, random.Random(f"{seed}:recording:desk"), clock0 + timedelta(minutes=k))) for k in (0, 1)]
    dialog = _message_box("已发送 3 幅图像到 PACS", "Vistara CT 128")
    path = out / f"{name}.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (FRAME_W, FRAME_H))
    if not writer.isOpened():
        raise RuntimeError("cv2.VideoWriter cannot write mp4v")
    appearances: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    moves: list[tuple[float, float, tuple[int, int]]] = []
    t = 0.0
    for seg in segs:
        moves += [(t + a, t + b, target) for a, b, target in seg.pointer_moves]
        t += seg.seconds
    for a, b, target in moves:
        events.append({"kind": "pointer_move", "start_s": round(a, 3), "end_s": round(b, 3), "to": list(target)})
    frame_no = 0
    t0 = 0.0
    cache: dict[tuple[str, int, bool], np.ndarray] = {}

    def window_img(screen: Screen, inst: Instance, blank: bool = False) -> np.ndarray:
        key = (screen.kind, inst.index, blank)
        if key not in cache:
            cache[key] = _bgr(screen.render(_blank(inst) if blank else inst, 1.0)[0])
        return cache[key]

    for seg in segs:
        seg_frames = int(round((t0 + seg.seconds) * FPS)) - frame_no
        win = window_img(seg.screen, seg.inst) if seg.screen else None
        blank = window_img(seg.screen, seg.inst, blank=True) if seg.screen and seg.refresh else None
        partial = 3 if seg.opening else 1 if seg.refresh else 0
        for k in range(seg_frames):
            ts = frame_no / FPS
            local = k / FPS
            frame = desks[1 if ts >= tick_at else 0].copy()
            if win is not None:
                x, y = seg.pos
                h, w = win.shape[:2]
                if seg.opening and k < partial:  # the window is being drawn: frame and a growing part of it
                    shown = int(h * (k + 1) / (partial + 1))
                    region = frame[y:y + h, x:x + w]
                    region[:] = np.where(np.arange(h)[:, None, None] < shown, win, np.full_like(win, 240))
                elif seg.refresh and k < partial:
                    frame[y:y + h, x:x + w] = blank
                else:
                    frame[y:y + h, x:x + w] = win
                if seg.dialog and seg.dialog[0] <= local < seg.dialog[1]:
                    dh, dw = dialog.shape[:2]
                    dx, dy = x + DIALOG_AT[0], y + DIALOG_AT[1]
                    frame[dy:dy + dh, dx:dx + dw] = dialog
            pointer = pointer_at(moves, ts)
            _draw_pointer(frame, int(pointer[0]), int(pointer[1]))
            writer.write(frame)
            frame_no += 1
        seg_start_s, seg_end_s = t0, t0 + seg.seconds
        if seg.screen is not None:
            first_full = seg_start_s + partial / FPS
            entry: dict[str, Any] = {
                "start_s": round(first_full, 3), "end_s": round(seg_end_s, 3),
                "shown_s": round(seg_start_s, 3),
                "kind": seg.screen.kind, "template_id": seg.screen.template_id,
                "window": [seg.pos[0], seg.pos[1], seg.screen.width, seg.screen.height], "scale": 1.0,
                "fields": dict(seg.inst.fields), "tables": {k: [dict(r) for r in v] for k, v in seg.inst.tables.items()},
            }
            if seg.screen.template_id:
                tpl = seg.screen.template() or {}
                entry["identity"] = {k: seg.inst.fields[k] for k in tpl.get("identity", [])}
            if seg.dialog:
                box = (*DIALOG_AT, dialog.shape[1], dialog.shape[0])  # in window coordinates
                fields = (seg.screen.template() or {}).get("fields", [])
                covers = any(_overlap(box, tuple(f["box"])) for f in fields)
                events.append({"kind": "dialog", "start_s": round(seg_start_s + seg.dialog[0], 3), "end_s": round(seg_start_s + seg.dialog[1], 3),
                               "box": [seg.pos[0] + box[0], seg.pos[1] + box[1], box[2], box[3]], "covers_fields": covers})
            if partial:
                events.append({"kind": "opening" if seg.opening else "refresh", "start_s": round(seg_start_s, 3), "end_s": round(first_full, 3)})
            appearances.append(entry)
        else:
            appearances.append({"start_s": round(seg_start_s, 3), "end_s": round(seg_end_s, 3), "shown_s": round(seg_start_s, 3),
                                "kind": "desktop", "template_id": None, "window": None, "fields": {}, "tables": {}})
        t0 = seg_end_s
    writer.release()
    events.append({"kind": "clock_tick", "start_s": float(tick_at), "end_s": float(tick_at)})
    events.sort(key=lambda e: e["start_s"])
    taught = [a for a in appearances if a["template_id"]]
    meta = {
        "schema": SCHEMA, "video": path.name, "fps": FPS, "frame_count": frame_no, "duration_s": frame_no / FPS,
        "size": [FRAME_W, FRAME_H], "codec": "mp4v", "wall_clock_start": clock0.isoformat(),
        "appearances": appearances, "events": events,
        "expected_records": [{"template_id": a["template_id"], "identity": a["identity"], "start_s": a["start_s"]} for a in taught],
    }
    (out / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not quiet:
        mb = path.stat().st_size / 1e6
        print(f"recording: {frame_no} frames ({frame_no / FPS:.0f} s at {FPS} fps), {len(taught)} taught screens, {mb:.1f} MB "
              f"in {time.monotonic() - started:.1f} s", flush=True)
    return meta
