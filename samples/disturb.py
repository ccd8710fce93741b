"""Disturbed variants of the taught screens: what real consoles show every day.

- pointer:   the mouse pointer rests on a value (arrow or hand, light or dark theme, 100-150 %),
             as an HDMI capture shows it; the fields it touches are listed as covered
- dialog:    a message box ("正在传输图像到PACS…", "Printing…") over part of the window, over one
             anchor; the fields under it are listed as covered
- cap720:    the 1080p desktop captured at 1280x720 (a capture card set lower): text at 2/3 size
- scaled150: desktop and program drawn again at UI scale 1.5 on a 2560x1440 monitor

The pointer shapes here are drawn independently of ocr_templates/pointer.py (other outlines,
outline widths and sizes), so the benchmark does not grade the detector on its own sprites.
"""
from __future__ import annotations

import random
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from samples.paint import Font, Painter
from samples.screens.base import Instance, Screen

DISTURBANCES = ("pointer", "dialog", "cap720", "scaled150")

# Pointer outlines at 100 % (tip at 0, 0): a Windows 10 arrow, an X11 left_ptr, a pointing hand
POINTERS: dict[str, list[tuple[float, float]]] = {
    "win_arrow": [(0, 0), (0, 16), (3.5, 12.5), (6, 18.5), (8.5, 17.5), (6, 11.5), (11, 11.5)],
    "x11_arrow": [(0, 0), (0, 18), (4.5, 14), (7.5, 21), (10.5, 19.8), (7.5, 13), (13, 13)],
    "hand": [(4.5, 0.5), (5.5, -0.5), (7.5, -0.5), (8.5, 0.5), (8.5, 7.5), (10.5, 7), (12.5, 8), (14.5, 9),
             (15.5, 11.5), (15.5, 17), (13.5, 21), (5, 21), (1.5, 16.5), (-0.5, 12.5), (0.5, 11), (2.5, 11),
             (4.5, 13)],
}
DIALOG_TEXTS = ["正在传输图像到PACS…", "Printing…", "正在保存，请稍候…", "Sending to archive…", "网络连接已恢复"]


def draw_pointer(img: Image.Image, x: float, y: float, shape: str, dark: bool, size: float) -> tuple[int, int, int, int]:
    """Draw a pointer with its hot spot at (x, y); its bounding box in image pixels."""
    pts = [(x + px * size, y + py * size) for px, py in POINTERS[shape]]
    fill, line = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (0, 0, 0))
    d = ImageDraw.Draw(img)
    d.polygon(pts, fill=fill)
    d.line(pts + [pts[0]], fill=line, width=max(1, round(size)) if size >= 1.4 else 1)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, y0 = int(min(xs)) - 1, int(min(ys)) - 1
    return x0, y0, int(max(xs)) + 2 - x0, int(max(ys)) + 2 - y0


def field_boxes(screen: Screen, inst: Instance) -> dict[str, tuple[int, int, int, int]]:
    """Every value box and table cell of the screen's template (reference pixels), by result name."""
    tpl = screen.template() or {}
    out: dict[str, tuple[int, int, int, int]] = {}
    for f in tpl.get("fields", []):
        x, y, w, h = f["box"]
        if f.get("kind") == "table":
            for r in range(len(inst.tables.get(f["name"], []))):
                top = y + f.get("header", 0) + r * f["row_height"]
                for c in f["columns"]:
                    out[f"{f['name']}[{r}].{c['name']}"] = (x + c["x"], top, c["w"], f["row_height"])
        else:
            out[f["name"]] = (x, y, w, h)
    return out


def anchor_boxes(screen: Screen) -> dict[str, tuple[int, int, int, int]]:
    return {a["name"]: tuple(a["box"]) for a in (screen.template() or {}).get("anchors", [])}  # type: ignore[misc]


def _touching(boxes: dict[str, tuple[int, int, int, int]], rect: tuple[float, float, float, float]) -> list[str]:
    rx, ry, rw, rh = rect
    return sorted(n for n, (x, y, w, h) in boxes.items() if x < rx + rw and rx < x + w and y < ry + rh and ry < y + h)


def with_pointer(screen: Screen, inst: Instance, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """The window with a pointer on one of its values; what it covers (reference pixels)."""
    window, canvas = screen.render(inst, 1.0)
    names = sorted(n for n in canvas.placed if inst.fields.get(n) or "[" in n)
    name = rng.choice(names)
    _, (ix0, iy0, ix1, iy1) = canvas.placed[name]
    shape = rng.choice(sorted(POINTERS))
    size = rng.choice([1.0, 1.0, 1.25, 1.5])
    # the hot spot somewhere on the value's ink: over its first characters half of the time
    tx = rng.uniform(ix0, ix0 + (ix1 - ix0) * (0.3 if rng.random() < 0.5 else 0.95))
    ty = rng.uniform(iy0 - 2, iy1 - 2)
    box = draw_pointer(window, tx, ty, shape, rng.random() < 0.3, size)
    covered = _touching(field_boxes(screen, inst), box)
    return window, {"pointer_shape": shape, "pointer_size": size, "pointer_box": list(box), "covered": covered,
                    "hidden_anchors": []}


def with_dialog(screen: Screen, inst: Instance, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """The window with a message box over one anchor and part of the screen."""
    window, _ = screen.render(inst, 1.0)
    anchors = anchor_boxes(screen)
    W, H = window.size
    dw, dh = rng.randint(260, 380), rng.randint(110, 150)
    # over one anchor (a message box rarely hides every landmark of a screen), inside the window
    best: tuple[int, int] | None = None
    for _ in range(60):
        aname = rng.choice(sorted(anchors))
        ax, ay, aw, ah = anchors[aname]
        cx, cy = ax + aw * rng.uniform(0.3, 0.7), ay + ah * rng.uniform(0.3, 0.7)
        x = int(min(max(0, cx - rng.uniform(0.2, 0.8) * dw), W - dw))
        y = int(min(max(0, cy - rng.uniform(0.2, 0.8) * dh), H - dh))
        best = best or (x, y)
        if len(_touching(anchors, (x, y, dw + 4, dh + 4))) == 1:
            best = (x, y)
            break
    x, y = best
    style = rng.choice(["light", "dark", "grey"])
    body, title, text = {"light": ((250, 250, 250), (0, 120, 215), (20, 20, 20)),
                         "dark": ((45, 48, 54), (70, 75, 85), (230, 230, 230)),
                         "grey": ((236, 236, 236), (236, 236, 236), (30, 30, 30))}[style]
    p = Painter(W, H, 1.0)
    p.img = window
    p.d = ImageDraw.Draw(window)
    p.rect((x + 4, y + 4, dw, dh), fill=(90, 90, 90))                  # shadow
    p.rect((x, y, dw, dh), fill=body, outline=(60, 60, 60))
    p.rect((x + 1, y + 1, dw - 2, 26), fill=title)
    f = Font("noto_sans_sc", 12)
    p.text(x + 10, y + 14, "提示 Message", f, (255, 255, 255) if style != "grey" else (0, 0, 0), "lm")
    p.text(x + 20, y + 55, rng.choice(DIALOG_TEXTS), Font("noto_sans_sc", 14), text, "lm")
    p.rect((x + dw - 96, y + dh - 38, 80, 26), fill=(225, 225, 225), outline=(120, 120, 120))
    p.text(x + dw - 56, y + dh - 25, "确定", f, (0, 0, 0), "mm")
    rect = (x, y, dw + 4, dh + 4)
    covered = _touching(field_boxes(screen, inst), rect)
    hidden = _touching(anchors, rect)
    return window, {"dialog": [x, y, dw + 4, dh + 4], "dialog_style": style, "covered": covered,
                    "hidden_anchors": hidden}


def capture_720(frame: Image.Image, rng: random.Random) -> Image.Image:
    """A 1080p desktop as a capture card set to 1280x720 delivers it."""
    arr = cv2.resize(np.asarray(frame), (1280, 720), interpolation=cv2.INTER_AREA)
    arr = cv2.GaussianBlur(arr, (0, 0), rng.uniform(0.3, 0.6))
    return Image.fromarray(arr)


__all__ = ["DISTURBANCES", "POINTERS", "capture_720", "draw_pointer", "field_boxes", "with_dialog", "with_pointer"]
