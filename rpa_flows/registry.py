"""The locator registry: for each kind of target (rpa_flows.locators), the function that finds it on a frame.

    where = locate_now(finder, target, frame)   # Located, or None when it is not there

A locate function gets what it may use of the player's state through `LocateContext` (the
finder: the flow, its settings and variables, last places, a grey copy of the frame) and returns
a `Located`: the box found, the point a click goes to (with `offset`), the score and how it was
found; with `size`, the box becomes the w x h box around that point.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qcedge.rpa_flows import ocr as ocr_mod
from qcedge.rpa_flows.errors import StepFailed
from qcedge.rpa_flows.locate import find_image
from qcedge.rpa_flows.locators import (
    ImageLocator, Locator, PointLocator, ScreenLocator, TemplateLocator, TextLocator,
)
from qcedge.rpa_flows.model import Flow, ScreenDef, Settings
from qcedge.rpa_flows.templates import get_template, match_on_screen
from qcedge.rpa_flows.variables import substitute

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]


@dataclass(slots=True)
class Located:
    """Where a target is: the `box` found, the `point` a click goes to, the match `score`, `how` it was found."""

    box: Box
    point: tuple[int, int]
    score: float
    how: str


class LocateContext(Protocol):
    """What a locate function may use (the finder gives it)."""

    flow: Flow
    settings: Settings
    variables: dict[str, Any]
    hints: dict[Any, Box]  # last place of each anchor: searched first
    memo: dict[Any, Any]  # results kept for the current frame
    label: str  # the step running, for messages

    def grey(self, frame: np.ndarray) -> np.ndarray: ...
    def locate(self, t: Locator, frame: np.ndarray) -> Located | None: ...
    def screen_ok(self, sd: ScreenDef, frame: np.ndarray) -> tuple[bool, str]: ...  # (ok, why)


LocateFn = Callable[[LocateContext, Any, np.ndarray], "Located | None"]
LOCATE: dict[type[Locator], LocateFn] = {}


def register(cls: type[Locator]) -> Callable[[LocateFn], LocateFn]:
    """Decorator: `fn` finds targets of locator class `cls`."""
    def add(fn: LocateFn) -> LocateFn:
        LOCATE[cls] = fn
        return fn
    return add


def locate_now(ctx: LocateContext, t: Locator, frame: np.ndarray) -> Located | None:
    """Where target `t` is on `frame` now (None: not there), by the function registered for its kind."""
    return LOCATE[type(t)](ctx, t, frame)


def image_names(ctx: LocateContext, t: ImageLocator) -> tuple[str, ...]:
    """The target's image names with ${var} filled in."""
    return tuple(substitute(p, ctx.variables) for p in t.images) if t.has_vars else tuple(t.images)


def filled_in(ctx: LocateContext, t: Locator) -> tuple[str, ...] | None:
    """The names of a target with ${var} filled in (part of its memo key); None when it names no variable."""
    if not t.has_vars:
        return None
    return image_names(ctx, t) if isinstance(t, ImageLocator) else (substitute(getattr(t, "text", ""), ctx.variables),)


def _at(box: Box, t: Locator, score: float, how: str) -> Located:
    """Found at `box`: the click point is its centre moved by the target's `offset`; with `size`, the
    target is the w x h box centred on that point (a field beside a label)."""
    point = (box[0] + box[2] // 2 + t.offset[0], box[1] + box[3] // 2 + t.offset[1])
    if t.size is None:
        return Located(box, point, score, how)
    w, h = t.size
    return Located((point[0] - w // 2, point[1] - h // 2, w, h), point, score, how + " + size")


@register(ImageLocator)
def locate_image(ctx: LocateContext, t: ImageLocator, frame: np.ndarray) -> Located | None:
    threshold = t.threshold or ctx.settings.threshold
    names = image_names(ctx, t)
    key = (names, t.region)
    paths = [ctx.flow.resolve(p) for p in names]
    for path in paths:
        if not path.is_file():
            raise StepFailed(ctx.label or "flow", f"anchor image '{path.name[:80]}' not found (from {t.describe()})")
    m = find_image(frame, paths, threshold, t.region, t.scales or ctx.settings.scales, hint=ctx.hints.get(key),
                   gray_screen=ctx.grey(frame))
    if m.found:
        ctx.hints[key] = m.box
    log.debug("image %s score %.3f (threshold %.2f) in %.1f ms", t.images, m.score, threshold, m.seconds * 1e3)
    return _at(m.box, t, m.score, f"image {Path(m.image).name}") if m.found else None


@register(PointLocator)
def locate_point(ctx: LocateContext, t: PointLocator, frame: np.ndarray) -> Located | None:
    return _at((t.point[0], t.point[1], 1, 1), t, 1.0, "point")


@register(ScreenLocator)
def locate_screen(ctx: LocateContext, t: ScreenLocator, frame: np.ndarray) -> Located | None:
    sd = ctx.flow.screens[t.screen]
    ok, _ = ctx.screen_ok(sd, frame)
    return ctx.locate(sd.all[0], frame) if ok else None  # where its first target is (no offset, no size)


@register(TemplateLocator)
def locate_template(ctx: LocateContext, t: TemplateLocator, frame: np.ndarray) -> Located | None:
    tpl = get_template(ctx.flow.resolve(t.template))
    mkey = (id(frame), "template", t.template, t.threshold)
    if mkey not in ctx.memo:  # one match per template per frame, whatever field is wanted
        ctx.memo[mkey] = match_on_screen(frame, tpl, t.threshold, ctx.hints, ctx.grey(frame))
    m = ctx.memo[mkey]
    if not m.matched:
        return None
    if t.field is not None:
        box = m.box_to_frame(tpl.field(t.field).box.as_tuple())
    elif t.box is not None:
        box = m.box_to_frame(t.box)
    elif t.point is not None:
        px, py = m.to_frame(*t.point)
        box = (round(px), round(py), 1, 1)
    else:
        box = m.box_to_frame((0, 0, tpl.reference.width, tpl.reference.height))
    return _at(box, t, m.score, f"template {tpl.id}")


@register(TextLocator)
def locate_text(ctx: LocateContext, t: TextLocator, frame: np.ndarray) -> Located | None:
    wanted = substitute(t.text, ctx.variables)
    x, y, w, h = t.region or (0, 0, frame.shape[1], frame.shape[0])
    crop = frame[max(0, y):y + h, max(0, x):x + w]
    hit, _ = ocr_mod.find_text(crop, wanted, origin=(max(0, x), max(0, y)), exact=t.exact,
                               engine_name=ctx.settings.ocr_engine)
    return None if hit is None else _at(hit.box, t, hit.confidence, "text (OCR)")
