"""What every simulated screen provides: values per instance, a renderer, and its template."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from samples.paint import Box, Font, Painter, RGB


@dataclass(frozen=True)
class Look:
    """How one instance's program is set up: body font family and size, font smoothing."""

    family: str
    size: int
    smooth: bool = True


@dataclass
class Instance:
    """One screen's content: the values shown and how they look."""

    kind: str
    index: int
    fields: dict[str, str]
    tables: dict[str, list[dict[str, str]]]
    look: Look
    extra: dict[str, Any] = field(default_factory=dict)  # clutter: values shown that are not fields
    time: str = ""  # exam time as ISO text (for the desktop clock)


class TextOverflow(RuntimeError):
    """A value does not fit its field box with a margin: the layout is wrong, not the data."""


class Canvas(Painter):
    """A Painter that checks each field value stays inside its box with a margin."""

    MARGIN = 2  # reference units of clear space the ink must keep from the box edge

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.placed: dict[str, tuple[Box, tuple[int, int, int, int]]] = {}

    def value(self, name: str, box: Box, text: str, f: Font, fill: RGB, align: str = "left", pad: int = 5) -> None:
        """Draw a field value in its box and remember where its ink landed."""
        self.text_in(box, text, f, fill, align, pad)
        x, y, w, h = box
        cy = y + h / 2
        if align == "right":
            pt, anchor = (x + w - pad, cy), "rm"
        elif align == "center":
            pt, anchor = (x + w / 2, cy), "mm"
        else:
            pt, anchor = (x + pad, cy), "lm"
        ink = self.d.textbbox((self.S(pt[0]), self.S(pt[1])), text, font=self.font(f), anchor=anchor)
        m = self.S(self.MARGIN)
        bx0, by0, bx1, by1 = self.S(x), self.S(y), self.S(x + w), self.S(y + h)
        if text and (ink[0] < bx0 + m or ink[2] > bx1 - m or ink[1] < by0 + 1 or ink[3] > by1 - 1):
            raise TextOverflow(f"{name}: {text!r} in {f.family} {f.size}px overflows its box {box}")
        self.placed[name] = (box, ink)


VARIANTS = ("clean", "moved", "scaled125", "hdmi")


class Screen:
    """A kind of legacy screen. Subclasses set the class attributes and implement the methods."""

    kind: str = ""
    template_id: str | None = None
    category: str = "taught"  # taught | unrelated | near_miss (foreign screens: no template may match)
    variants: tuple[str, ...] = VARIANTS
    title: str = ""
    program: str = ""
    screen: str = ""
    modality: str | None = None
    width: int = 0
    height: int = 0
    usual: tuple[int, int] = (200, 100)  # where the window usually sits on a 1920x1080 desktop
    families: tuple[tuple[str, int], ...] = ()  # (body family, body size) choices per instance

    def look(self, rng: random.Random, index: int) -> Look:
        """The instance's font: the families in turn (so a few instances cover them all), smoothing at random."""
        family, size = self.families[index % len(self.families)]
        aliased = rng.random() < 0.2
        # Noto Serif's outlines are unreadable without anti-aliasing at 14 px (real serif consoles use
        # SimSun's hand-tuned bitmaps instead): only the sans families are drawn aliased.
        return Look(family, size, smooth=not aliased or family == "noto_serif_sc")

    def reference_look(self) -> Look:
        family, size = self.families[0]
        return Look(family, size, True)

    def make(self, rng: random.Random, index: int) -> Instance:
        raise NotImplementedError

    def draw(self, c: Canvas, inst: Instance) -> None:
        raise NotImplementedError

    def render(self, inst: Instance, scale: float = 1.0) -> tuple[Image.Image, Canvas]:
        c = Canvas(self.width, self.height, scale, smooth=inst.look.smooth)
        self.draw(c, inst)
        return c.img, c

    def template(self) -> dict[str, Any] | None:
        """The template (as YAML data) for this screen, boxes from the same layout code."""
        return None

    def template_head(self) -> dict[str, Any]:
        """The keys every sample template starts with (identity, reference image, match settings)."""
        head: dict[str, Any] = {
            "schema": "qcedge.template/1", "id": self.template_id, "version": "1.0", "title": self.title,
            "program": self.program, "screen": self.screen,
        }
        if self.modality is not None:
            head["modality"] = self.modality
        head["reference"] = {"image": f"{self.template_id}.png", "width": self.width, "height": self.height}
        head["match"] = {"threshold": 0.8, "min_scale": 0.6, "max_scale": 1.6}
        return head
