"""Window chrome and widgets: title bar, menu bar, toolbar, status bar, buttons, edit boxes, icons.

All drawing is in reference units through a Painter, so a UI scale re-renders it.
The chrome font is the system's (fixed per program): anchors live in the chrome.
"""
from __future__ import annotations

from dataclasses import dataclass

from samples.paint import RGB, Box, Font, Painter

TITLE_H = 30
MENU_H = 22
STATUS_H = 24


@dataclass(frozen=True)
class Theme:
    window: RGB = (240, 240, 240)
    title_bg: RGB = (255, 255, 255)
    title_fg: RGB = (0, 0, 0)
    border: RGB = (24, 131, 215)
    menu_bg: RGB = (245, 246, 247)
    menu_fg: RGB = (20, 20, 20)
    toolbar_bg: RGB = (233, 236, 241)
    panel: RGB = (250, 250, 250)
    text: RGB = (20, 20, 20)
    label: RGB = (70, 70, 70)
    accent: RGB = (0, 102, 204)
    accent_fg: RGB = (255, 255, 255)
    field_bg: RGB = (255, 255, 255)
    field_border: RGB = (122, 122, 122)
    grid: RGB = (200, 204, 210)
    stripe: RGB = (241, 245, 250)
    status_bg: RGB = (240, 240, 240)
    status_fg: RGB = (60, 60, 60)
    button: RGB = (225, 225, 225)
    button_fg: RGB = (20, 20, 20)


def titlebar(p: Painter, w: int, title: str, theme: Theme, font: Font, icon: RGB) -> None:
    """A Windows 10 style title bar: icon, title, minimise / maximise / close."""
    p.rect((0, 0, w, TITLE_H), fill=theme.title_bg)
    p.rect((8, 7, 16, 16), fill=icon)
    p.rect((11, 10, 10, 10), outline=(255, 255, 255))
    p.text(32, TITLE_H / 2, title, font, theme.title_fg, "lm")
    fg = theme.title_fg
    bx = w - 138
    p.hline(bx + 18, 15, 10, fg)  # minimise
    p.rect((bx + 46 + 18, 10, 10, 10), outline=fg)  # maximise
    cx = bx + 92 + 18
    p.line(cx, 10, cx + 10, 20, fg)
    p.line(cx, 20, cx + 10, 10, fg)


def frame_border(p: Painter, w: int, h: int, theme: Theme) -> None:
    p.rect((0, 0, w, h), outline=theme.border)


def menubar(p: Painter, y: int, w: int, items: list[str], theme: Theme, font: Font, x0: int = 6) -> None:
    p.rect((0, y, w, MENU_H), fill=theme.menu_bg)
    x = x0
    for item in items:
        p.text(x + 6, y + MENU_H / 2, item, font, theme.menu_fg, "lm")
        x += p.text_width(item, font) + 16


def icon(p: Painter, x: float, y: float, size: int, kind: str, color: RGB) -> None:
    """A small toolbar icon drawn from simple shapes."""
    s = size
    white = (255, 255, 255)
    if kind == "doc":
        p.polygon([(x + 3, y + 1), (x + s - 7, y + 1), (x + s - 3, y + 5), (x + s - 3, y + s - 1), (x + 3, y + s - 1)], fill=white, outline=color)
        for i in range(3):
            p.hline(x + 6, y + 8 + i * 4, s - 12, color)
    elif kind == "save":
        p.rect((x + 2, y + 2, s - 4, s - 4), fill=color)
        p.rect((x + 6, y + 2, s - 12, 7), fill=white)
        p.rect((x + 5, y + s - 10, s - 10, 6), fill=(220, 220, 220))
    elif kind == "print":
        p.rect((x + 6, y + 2, s - 12, 7), fill=white, outline=(90, 90, 90))
        p.rect((x + 2, y + 8, s - 4, s - 14), fill=color)
        p.rect((x + 6, y + s - 8, s - 12, 6), fill=white, outline=(90, 90, 90))
    elif kind == "search":
        p.ellipse((x + 2, y + 2, s - 9, s - 9), outline=color)
        p.line(x + s - 9, y + s - 9, x + s - 3, y + s - 3, color, 2)
    elif kind == "folder":
        p.rect((x + 2, y + 6, s - 4, s - 9), fill=color)
        p.rect((x + 2, y + 4, 8, 3), fill=color)
    elif kind == "gear":
        p.ellipse((x + 3, y + 3, s - 6, s - 6), fill=color)
        p.ellipse((x + s / 2 - 3, y + s / 2 - 3, 6, 6), fill=white)
    elif kind == "person":
        p.ellipse((x + s / 2 - 4, y + 2, 8, 8), fill=color)
        p.ellipse((x + 4, y + 11, s - 8, s - 8), fill=color)
    elif kind == "play":
        p.polygon([(x + 5, y + 3), (x + s - 4, y + s / 2), (x + 5, y + s - 3)], fill=color)
    elif kind == "stop":
        p.rect((x + 5, y + 5, s - 10, s - 10), fill=color)
    elif kind == "grid":
        for i in range(2):
            for j in range(2):
                p.rect((x + 3 + i * (s / 2 - 1), y + 3 + j * (s / 2 - 1), s / 2 - 4, s / 2 - 4), fill=color)
    elif kind == "chart":
        for i, hh in enumerate((6, 11, 8, 15)):
            p.rect((x + 3 + i * 5, y + s - 3 - hh, 4, hh), fill=color)
    else:  # "dot"
        p.ellipse((x + 4, y + 4, s - 8, s - 8), fill=color)


def toolbar(p: Painter, y: int, w: int, h: int, kinds: list[str | None], theme: Theme, colors: list[RGB]) -> None:
    """A toolbar of 24-unit icons; None is a separator."""
    p.rect((0, y, w, h), fill=theme.toolbar_bg)
    p.hline(0, y + h - 1, w, theme.grid)
    x = 8
    for i, kind in enumerate(kinds):
        if kind is None:
            p.vline(x + 3, y + 6, h - 12, theme.grid)
            x += 10
            continue
        icon(p, x, y + (h - 24) / 2, 24, kind, colors[i % len(colors)])
        x += 32


def statusbar(p: Painter, y: int, w: int, parts: list[tuple[int, str]], theme: Theme, font: Font) -> None:
    """A status bar split into panes: parts are (width, text); the last pane takes the rest."""
    p.rect((0, y, w, STATUS_H), fill=theme.status_bg)
    p.hline(0, y, w, theme.grid)
    x = 0
    for width, text in parts:
        p.text(x + 8, y + STATUS_H / 2, text, font, theme.status_fg, "lm")
        x += width
        p.vline(x - 2, y + 4, STATUS_H - 8, theme.grid)


def button(p: Painter, box: Box, label: str, theme: Theme, font: Font, default: bool = False) -> None:
    x, y, w, h = box
    p.rect(box, fill=theme.button, outline=theme.accent if default else theme.field_border)
    p.text(x + w / 2, y + h / 2, label, font, theme.button_fg, "mm")


def editbox(p: Painter, box: Box, theme: Theme) -> None:
    """A sunken single-line edit control (the value is drawn by the caller)."""
    x, y, w, h = box
    p.rect(box, fill=theme.field_bg, outline=theme.field_border)


def groupbox(p: Painter, box: Box, title: str, theme: Theme, font: Font) -> None:
    x, y, w, h = box
    p.rect(box, outline=theme.grid)
    tw = p.text_width(title, font)
    p.rect((x + 8, y - 8, tw + 8, 16), fill=theme.window)
    p.text(x + 12, y, title, font, theme.label, "lm")
