"""A scaled painter: layout code draws in reference units, the painter multiplies by the UI scale.

This is how a program under Windows DPI scaling looks: every coordinate and every
font size is multiplied by the scale and the program is drawn again (not resized).
"""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from samples.fonts import font

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # x, y, w, h in reference units


@dataclass(frozen=True)
class Font:
    family: str
    size: int


class Painter:
    """Draws into an RGB image of size (w, h) * scale."""

    def __init__(self, w: int, h: int, scale: float = 1.0, bg: RGB = (240, 240, 240), smooth: bool = True) -> None:
        self.scale = scale
        self.w, self.h = w, h
        self.img = Image.new("RGB", (self.S(w), self.S(h)), bg)
        self.d = ImageDraw.Draw(self.img)
        if not smooth:
            self.d.fontmode = "1"  # no anti-aliasing, as on old consoles with font smoothing off

    def S(self, v: float) -> int:
        return int(round(v * self.scale))

    def font(self, f: Font):
        return font(f.family, self.S(f.size))

    def rect(self, box: Box, fill: RGB | None = None, outline: RGB | None = None, width: int = 1) -> None:
        x, y, w, h = box
        x0, y0, x1, y1 = self.S(x), self.S(y), self.S(x + w) - 1, self.S(y + h) - 1
        if x1 < x0 or y1 < y0:
            return
        self.d.rectangle((x0, y0, x1, y1), fill=fill, outline=outline, width=max(1, self.S(width)) if outline else 0)

    def line(self, x0: float, y0: float, x1: float, y1: float, fill: RGB, width: int = 1) -> None:
        self.d.line((self.S(x0), self.S(y0), self.S(x1), self.S(y1)), fill=fill, width=max(1, self.S(width)))

    def hline(self, x: float, y: float, w: float, fill: RGB) -> None:
        self.d.rectangle((self.S(x), self.S(y), self.S(x + w) - 1, self.S(y) + max(1, self.S(1)) - 1), fill=fill)

    def vline(self, x: float, y: float, h: float, fill: RGB) -> None:
        self.d.rectangle((self.S(x), self.S(y), self.S(x) + max(1, self.S(1)) - 1, self.S(y + h) - 1), fill=fill)

    def ellipse(self, box: Box, fill: RGB | None = None, outline: RGB | None = None) -> None:
        x, y, w, h = box
        self.d.ellipse((self.S(x), self.S(y), self.S(x + w) - 1, self.S(y + h) - 1), fill=fill, outline=outline)

    def polygon(self, pts: list[tuple[float, float]], fill: RGB | None = None, outline: RGB | None = None) -> None:
        self.d.polygon([(self.S(x), self.S(y)) for x, y in pts], fill=fill, outline=outline)

    def text(self, x: float, y: float, s: str, f: Font, fill: RGB, anchor: str = "la") -> None:
        """Text with its anchor point at (x, y) (PIL anchors: 'la' left-ascender, 'lm' left-middle, ...)."""
        if s:
            self.d.text((self.S(x), self.S(y)), s, font=self.font(f), fill=fill, anchor=anchor)

    def text_in(self, box: Box, s: str, f: Font, fill: RGB, align: str = "left", pad: int = 4) -> None:
        """Text vertically centred in `box`, aligned left, right or centre with `pad` units of margin."""
        x, y, w, h = box
        cy = y + h / 2
        if align == "right":
            self.text(x + w - pad, cy, s, f, fill, "rm")
        elif align == "center":
            self.text(x + w / 2, cy, s, f, fill, "mm")
        else:
            self.text(x + pad, cy, s, f, fill, "lm")

    def text_width(self, s: str, f: Font) -> float:
        """Width of `s` in reference units."""
        return self.font(f).getlength(s) / self.scale

    def paste(self, img: Image.Image, x: float, y: float) -> None:
        self.img.paste(img, (self.S(x), self.S(y)))
