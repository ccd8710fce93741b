"""The desktop a program window sits on: wallpaper, desktop icons, taskbar with clock, mouse pointer."""
from __future__ import annotations

import random
from datetime import datetime

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from samples.paint import Font, Painter

TASKBAR_H = 40
ICON_LABELS = ["此电脑", "回收站", "RIS客户端", "PACS Viewer", "Dose Monitor", "网络", "质控手册.pdf", "Excel 2010"]
WALLPAPERS = [((16, 60, 120), (40, 120, 190)), ((22, 34, 52), (70, 90, 120)), ((8, 80, 90), (60, 150, 160)), ((60, 60, 70), (120, 110, 130))]


def wallpaper(w: int, h: int, rng: random.Random) -> Image.Image:
    """A gradient wallpaper with soft light bands (deterministic for a given rng state)."""
    top, bottom = WALLPAPERS[rng.randrange(len(WALLPAPERS))]
    sw, sh = max(2, w // 8), max(2, h // 8)  # smooth: compute small, scale up
    t = np.linspace(0.0, 1.0, sh, dtype=np.float32)[:, None, None]
    img = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    img = np.broadcast_to(img, (sh, sw, 3)).copy()
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    for _ in range(3):
        cx, cy, r = rng.uniform(0, sw), rng.uniform(0, sh), rng.uniform(0.2, 0.5) * sw
        a = rng.uniform(0.04, 0.12)
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / r
        img += (np.clip(1 - d, 0, 1) * a * 255)[..., None]
    small = np.clip(img, 0, 255).astype(np.uint8)
    return Image.fromarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), "RGB")


def desktop(w: int, h: int, rng: random.Random, clock: datetime, scale: float = 1.0) -> Image.Image:
    """A Windows 10 style desktop of w x h pixels at a UI scale."""
    img = wallpaper(w, h, rng)
    p = Painter(int(w / scale + 0.5), int(h / scale + 0.5), scale)
    p.img = img
    p.d = ImageDraw.Draw(img)
    label = Font("noto_sans_sc", 12)
    ui = Font("noto_sans_sc", 12)
    lw, lh = w / scale, h / scale
    # desktop icons in a column at the left
    n = rng.randint(3, len(ICON_LABELS))
    for i, text in enumerate(ICON_LABELS[:n]):
        x, y = 14, 10 + i * 84
        colour = [(240, 200, 80), (200, 210, 220), (40, 120, 200), (60, 160, 90), (200, 80, 60), (90, 150, 230), (220, 60, 60), (40, 140, 70)][i]
        p.rect((x + 18, y + 4, 36, 36), fill=colour, outline=(255, 255, 255))
        p.text(x + 36, y + 56, text, label, (0, 0, 0), "mm")
        p.text(x + 35, y + 55, text, label, (255, 255, 255), "mm")
    # taskbar
    ty = lh - TASKBAR_H
    p.rect((0, ty, lw, TASKBAR_H), fill=(30, 33, 38))
    for i in range(2):
        for j in range(2):
            p.rect((16 + i * 9, ty + 11 + j * 9, 8, 8), fill=(230, 230, 230))
    p.rect((48, ty + 4, 300, TASKBAR_H - 8), fill=(243, 243, 243))
    p.text(60, ty + TASKBAR_H / 2, "在这里输入你要搜索的内容", ui, (110, 110, 110), "lm")
    for i in range(rng.randint(3, 7)):
        x = 360 + i * 48
        p.rect((x + 10, ty + 8, 24, 24), fill=rng.choice([(240, 200, 80), (40, 120, 200), (60, 160, 90), (200, 80, 60), (120, 120, 200)]))
        if i < 3:
            p.hline(x + 6, ty + TASKBAR_H - 3, 34, (120, 170, 230))
    p.text(lw - 56, ty + 12, clock.strftime("%H:%M"), ui, (255, 255, 255), "mm")
    p.text(lw - 56, ty + 29, f"{clock.year}/{clock.month}/{clock.day}", ui, (255, 255, 255), "mm")
    p.text(lw - 120, ty + TASKBAR_H / 2, "中", ui, (255, 255, 255), "mm")
    p.rect((lw - 150, ty + 14, 14, 12), outline=(255, 255, 255))
    return img


def place(dst: Image.Image, window: Image.Image, x: int, y: int, shadow: bool = True) -> None:
    """Put a window on the desktop with a soft drop shadow."""
    if shadow:
        w, h = window.size
        pad = 12
        mask = Image.new("L", (w + 2 * pad, h + 2 * pad), 0)
        ImageDraw.Draw(mask).rectangle((pad, pad + 3, w + pad, h + pad + 3), fill=90)
        mask = mask.filter(ImageFilter.BoxBlur(6))
        dst.paste((0, 0, 0), (x - pad, y - pad), mask)
    dst.paste(window, (x, y))


ARROW = [(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)]


def pointer(dst: Image.Image, x: int, y: int, scale: float = 1.0) -> None:
    """Draw the arrow mouse pointer with its tip at (x, y)."""
    d = ImageDraw.Draw(dst)
    pts = [(x + px * scale, y + py * scale) for px, py in ARROW]
    d.polygon(pts, fill=(255, 255, 255), outline=(0, 0, 0))
