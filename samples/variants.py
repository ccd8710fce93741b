"""Put a rendered program window into a full frame, in each of the variants.

- clean: the window at its usual place on a 1920x1080 desktop
- moved: the window elsewhere on the desktop
- scaled125: desktop and program drawn again at UI scale 1.25 (as Windows DPI scaling does)
- hdmi: the console's own desktop at its native resolution (e.g. 1280x1024), as a capture card
  delivers it: resized into 1920x1080 with letterbox, slightly blurred, JPEG quality 60-75,
  sometimes with limited-range (16-235) levels
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from PIL import Image

from samples.desktop import TASKBAR_H, desktop, place, pointer
from samples.disturb import DISTURBANCES
from samples.screens.base import Instance, Screen

FRAME_W, FRAME_H = 1920, 1080
HDMI_NATIVE = [(1280, 1024), (1600, 900), (1440, 900), (1024, 768), (1366, 768), (1920, 1200)]


@dataclass
class Shot:
    """One full frame and where the program window is in it."""

    image: Image.Image
    window: tuple[int, int, int, int] | None  # x, y, w, h in frame pixels
    scale: float  # window pixels per reference pixel
    ext: str = "png"
    quality: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    pointer: tuple[int, int] | None = None
    offset: tuple[float, float] | None = None  # exact: frame = reference * scale + offset

    def __post_init__(self) -> None:
        if self.offset is None and self.window is not None:
            self.offset = (float(self.window[0]), float(self.window[1]))

    def encode(self) -> bytes:
        buf = io.BytesIO()
        if self.ext == "jpg":
            self.image.save(buf, "JPEG", quality=self.quality or 70)
        else:
            self.image.save(buf, "PNG", compress_level=1)
        return buf.getvalue()


def _clock(inst: Instance) -> datetime:
    return datetime.fromisoformat(inst.time) if inst.time else datetime(2025, 6, 2, 10, 15)


def _pointer_spot(rng: random.Random, win: tuple[int, int, int, int], w: int, h: int) -> tuple[int, int]:
    """A pointer position off the window's field area: on the desktop, or on the title bar."""
    x, y, ww, wh = win
    for _ in range(50):
        px, py = rng.randrange(40, w - 40), rng.randrange(40, h - TASKBAR_H - 30)
        if not (x - 20 <= px <= x + ww and y - 25 <= py <= y + wh):
            return px, py
    return x + ww // 2, y + 8  # on the title bar


def usual_place(screen: Screen, w: int, h: int, scale: float = 1.0) -> tuple[int, int]:
    ux, uy = screen.usual
    ww, wh = round(screen.width * scale), round(screen.height * scale)
    return max(0, min(round(ux), w - ww)), max(0, min(round(uy), h - round(TASKBAR_H * scale) - wh))


def compose(screen: Screen, inst: Instance, variant: str, rng: random.Random) -> Shot:
    """The frame of `inst` in `variant`; rng decides placement, pointer and capture settings."""
    clock = _clock(inst)
    desk_rng = random.Random(rng.random())
    with_pointer = rng.random() < 0.5
    if screen.width == 0:  # no program window: the bare desktop
        if variant == "hdmi":
            native = desktop(*HDMI_NATIVE[inst.index % len(HDMI_NATIVE)], desk_rng, clock)
            return hdmi_capture(native, rng, None)
        scale = 1.25 if variant == "scaled125" else 1.0
        frame = desktop(FRAME_W, FRAME_H, desk_rng, clock, scale)
        shot = Shot(frame, None, scale)
        if with_pointer:
            shot.pointer = (rng.randrange(100, FRAME_W - 100), rng.randrange(100, FRAME_H - 100))
            pointer(frame, *shot.pointer, scale)
        return shot
    if variant in ("clean", "moved", "scaled125"):
        scale = 1.25 if variant == "scaled125" else 1.0
        window, _ = screen.render(inst, scale)
        ww, wh = window.size
        frame = desktop(FRAME_W, FRAME_H, desk_rng, clock, scale)
        x, y = usual_place(screen, FRAME_W, FRAME_H, scale)
        if variant == "moved":
            for _ in range(100):
                nx = rng.randrange(0, FRAME_W - ww + 1)
                ny = rng.randrange(0, FRAME_H - TASKBAR_H - wh + 1)
                if abs(nx - x) + abs(ny - y) > 150:
                    x, y = nx, ny
                    break
        place(frame, window, x, y)
        shot = Shot(frame, (x, y, ww, wh), scale)
        if with_pointer:
            shot.pointer = _pointer_spot(rng, shot.window, FRAME_W, FRAME_H)
            pointer(frame, *shot.pointer, scale)
        return shot
    if variant == "hdmi":
        # the consoles' resolutions in turn, so a few instances cover them all
        nw, nh = HDMI_NATIVE[(inst.index + len(screen.kind)) % len(HDMI_NATIVE)]
        window, _ = screen.render(inst, 1.0)
        ww, wh = window.size
        native = desktop(nw, nh, desk_rng, clock)
        x, y = usual_place(screen, nw, nh)
        place(native, window, x, y)
        if with_pointer:
            px, py = _pointer_spot(rng, (x, y, ww, wh), nw, nh)
            pointer(native, px, py)
        return hdmi_capture(native, rng, (x, y, ww, wh))
    if variant in DISTURBANCES:
        return _disturbed(screen, inst, variant, rng, clock, desk_rng)
    raise ValueError(f"unknown variant {variant!r}")


def _disturbed(screen: Screen, inst: Instance, variant: str, rng: random.Random, clock: datetime,
               desk_rng: random.Random) -> Shot:
    """The disturbance variants (samples/disturb.py): pointer on a value, a dialog, 720p capture, 150 %."""
    from samples import disturb

    if variant == "scaled150":
        w, h = 2560, 1440
        window, _ = screen.render(inst, 1.5)
        frame = desktop(w, h, desk_rng, clock, 1.5)
        x, y = usual_place(screen, w, h, 1.5)
        place(frame, window, x, y)
        return Shot(frame, (x, y, *window.size), 1.5)
    if variant == "pointer":
        window, info = disturb.with_pointer(screen, inst, rng)
        nw, nh = HDMI_NATIVE[(inst.index + len(screen.kind)) % len(HDMI_NATIVE)]
        native = desktop(nw, nh, desk_rng, clock)
        x, y = usual_place(screen, nw, nh)
        place(native, window, x, y)
        shot = hdmi_capture(native, rng, (x, y, *window.size))
        shot.info["disturbance"] = info
        return shot
    window, info = (disturb.with_dialog(screen, inst, rng) if variant == "dialog" else (screen.render(inst, 1.0)[0], {}))
    frame = desktop(FRAME_W, FRAME_H, desk_rng, clock)
    x, y = usual_place(screen, FRAME_W, FRAME_H)
    place(frame, window, x, y)
    if variant == "dialog":
        return Shot(frame, (x, y, *window.size), 1.0, info={"disturbance": info})
    small = disturb.capture_720(frame, rng)   # cap720
    f = 1280 / FRAME_W
    return Shot(small, (round(x * f), round(y * f), round(window.size[0] * f), round(window.size[1] * f)), f, "jpg",
                rng.randint(75, 90), {"capture": "1920x1080 -> 1280x720"}, offset=(x * f, y * f))


def hdmi_capture(native: Image.Image, rng: random.Random, window: tuple[int, int, int, int] | None) -> Shot:
    """What a 1080p capture card makes of a console's native-resolution output."""
    nw, nh = native.size
    f = min(FRAME_W / nw, FRAME_H / nh)
    sw, sh = round(nw * f), round(nh * f)
    lx, ly = (FRAME_W - sw) // 2, (FRAME_H - sh) // 2
    arr = cv2.resize(np.asarray(native), (sw, sh), interpolation=cv2.INTER_LINEAR if f > 1 else cv2.INTER_AREA)
    frame = np.zeros((FRAME_H, FRAME_W, 3), np.uint8)
    frame[ly:ly + sh, lx:lx + sw] = arr
    frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.4, 0.9))
    limited = rng.random() < 0.4
    if limited:  # limited-range RGB shown as full range: washed-out blacks and whites
        frame = cv2.convertScaleAbs(frame, alpha=219 / 255, beta=16)
    img = Image.fromarray(frame)
    quality = rng.randint(60, 75)
    win = offset = None
    if window is not None:
        x, y, ww, wh = window
        offset = (lx + x * f, ly + y * f)
        win = (round(offset[0]), round(offset[1]), round(ww * f), round(wh * f))
    info = {"native": [nw, nh], "letterbox": [lx, ly], "limited_range": limited, "jpeg_quality": quality}
    return Shot(img, win, f, "jpg", quality, info, offset=offset)
