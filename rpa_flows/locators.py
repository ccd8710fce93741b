"""Locators: how a flow names a thing on the screen. One model per kind, and the locator-string parser.

A target is a mapping (`{image: ok.png, region: [0, 0, 800, 600]}`) or a locator string in the
style of rpaframework (`image:ok.png + region:0,0,800,600 + offset:10,0`); a bare word names a
screen of the flow. The key that names the kind (image, text, template, screen; else point)
picks the model (`LOCATOR_CLASSES`); the modifiers (region, offset, size, threshold, scales) are
common to all. `Target` is the field type that does this; `parse_target` the function.
How each kind is found on a frame: `rpa_flows.registry`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Union

from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, TypeAdapter, field_validator, model_validator,
)

BoxT = tuple[int, int, int, int]
PointT = tuple[int, int]

KIND_KEYS = ("image", "text", "template", "screen")  # a target names one of these; with none, a point


class StrictModel(BaseModel):
    """Base of the flow file's models: unknown keys are refused, values are frozen (hashable)."""

    # allow_inf_nan=False: a NaN threshold or timeout is refused as "a finite number", not "greater than 0"
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


def _ints(text: str, n: int, what: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != n or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise ValueError(f"{what} needs {n} integers separated by commas, not '{text}'")
    return [int(p) for p in parts]


def _threshold(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"threshold is a number, not '{value}'") from None


def _scales(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        raise ValueError(f"scales are numbers separated by commas, not '{value}'") from None


LOCATOR_KEYS: dict[str, Callable[[str], Any]] = {  # key of a locator string -> how its value is read
    **{k: str for k in ("image", "text", "template", "screen", "field")},
    **{k: (lambda v, k=k: _ints(v, 4, k)) for k in ("region", "box")},
    **{k: (lambda v, k=k: _ints(v, 2, k)) for k in ("offset", "point", "size")},
    "threshold": _threshold, "scales": _scales,
}


def parse_locator(text: str) -> dict[str, Any]:
    """`image:a.png + region:0,0,800,600 + offset:5,0 + threshold:0.9` -> mapping of target keys.

    A plain word with no colon names a screen of the flow.
    """
    text = text.strip()
    if ":" not in text.split("+", 1)[0]:
        return {"screen": text}
    out: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(" + ")):
        key, sep, value = part.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise ValueError(f"locator part '{part}' is not key:value")
        if key not in LOCATOR_KEYS:
            raise ValueError(f"unknown locator key '{key}' (known: image, text, template, field, point, box, "
                             "screen, region, offset, size, threshold, scales)")
        if key in out:
            raise ValueError(f"locator key '{key}' given twice")
        out[key] = LOCATOR_KEYS[key](value)
    return out


class Locator(StrictModel):
    """What every target has: where to search (`region`), where to click relative to what was found
    (`offset`), the box around that point (`size`), and the image-match settings."""

    kind: ClassVar[str] = ""

    region: BoxT | None = None
    offset: PointT = (0, 0)
    size: PointT | None = None
    threshold: float | None = Field(default=None, gt=0, le=1)
    scales: tuple[float, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return parse_locator(data) if isinstance(data, str) else data

    @field_validator("scales")
    @classmethod
    def _scales(cls, v: Any) -> Any:
        if v is not None and (not v or not all(0.2 <= s <= 5 for s in v)):
            raise ValueError("scales are numbers from 0.2 to 5")
        return v

    @model_validator(mode="after")
    def _modifiers(self) -> "Locator":
        if self.region is not None and (self.region[2] <= 0 or self.region[3] <= 0):
            raise ValueError("region is [x, y, width, height] with width and height > 0")
        if self.size is not None and (self.size[0] <= 0 or self.size[1] <= 0):
            raise ValueError("size is [width, height] with both > 0")
        return self

    @property
    def has_vars(self) -> bool:
        """Names in it are filled from ${variables} when the step runs."""
        return False

    @property
    def has_box(self) -> bool:
        """The target is a field's box (template field/box, or `size` around the point), not just a point."""
        return self.size is not None

    @property
    def images(self) -> list[str]:
        """Anchor image names (image targets only)."""
        return []

    def what(self) -> str:
        """The target in a few words, for messages."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.what() + (f" in region {list(self.region)}" if self.region else "")


class ImageLocator(Locator):
    """An anchor image, or several (one per DPI or theme): the first that matches wins."""

    kind: ClassVar[str] = "image"
    image: str | tuple[str, ...]

    @field_validator("image")
    @classmethod
    def _image_names(cls, v: Any) -> Any:
        for name in ([v] if isinstance(v, str) else v):
            if not name.strip():
                raise ValueError("an image name is empty")
            for part in Path(name).parts:
                if len(part.encode("utf-8", "surrogatepass")) > 255:
                    raise ValueError(f"image name '{name[:40]}...' has a part longer than 255 bytes")
        if isinstance(v, tuple) and not v:
            raise ValueError("the image list is empty")
        return v

    @property
    def images(self) -> list[str]:
        return [self.image] if isinstance(self.image, str) else list(self.image)

    @property
    def has_vars(self) -> bool:
        return any("${" in p for p in self.images)

    def what(self) -> str:
        return f"image {', '.join(self.images)}"


class TextLocator(Locator):
    """A text found by OCR (`exact`: the whole line, not a part of it)."""

    kind: ClassVar[str] = "text"
    text: str
    exact: bool = False

    @field_validator("text")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text target is empty")
        return v

    @property
    def has_vars(self) -> bool:
        return "${" in self.text

    def what(self) -> str:
        return f"text '{self.text}'"


class TemplateLocator(Locator):
    """A taught template (ocr_templates) wherever its window is: a field of it, a box or a point in its
    reference image, or (none of these) the whole template."""

    kind: ClassVar[str] = "template"
    template: str
    field: str | None = None
    box: BoxT | None = None
    point: PointT | None = None

    @model_validator(mode="after")
    def _one_part(self) -> "TemplateLocator":
        if sum(v is not None for v in (self.field, self.box, self.point)) > 1:
            raise ValueError("with a template give one of field, box or point")
        return self

    @property
    def has_box(self) -> bool:
        return self.size is not None or self.field is not None or self.box is not None

    def what(self) -> str:
        extra = f" field {self.field}" if self.field else f" box {list(self.box)}" if self.box else \
            f" point {list(self.point)}" if self.point else ""
        return f"template {self.template}{extra}"


class ScreenLocator(Locator):
    """A named screen of the flow: found where its first target is, when the whole screen is there."""

    kind: ClassVar[str] = "screen"
    screen: str

    def what(self) -> str:
        return f"screen '{self.screen}'"


class PointLocator(Locator):
    """An absolute point on the screen (discouraged: give the step an `expect`)."""

    kind: ClassVar[str] = "point"
    point: PointT

    def what(self) -> str:
        return f"point [{self.point[0]}, {self.point[1]}]"


LOCATOR_CLASSES: dict[str, type[Locator]] = {
    cls.kind: cls for cls in (ImageLocator, TextLocator, TemplateLocator, ScreenLocator, PointLocator)}
TARGET_TAGS = frozenset({*(f"{kind} target" for kind in LOCATOR_CLASSES), "bad target"})  # in error locations


def target_problem(data: Any) -> str | None:
    """Why a mapping (or anything else) is no target, before a kind's model looks at it; None: it names one kind."""
    if not isinstance(data, dict):
        return (f"a target is a mapping or a locator string like 'image:ok.png', not {type(data).__name__}")
    kinds = [k for k in KIND_KEYS if data.get(k) is not None]
    if not kinds and data.get("point") is not None:
        kinds = ["point"]
    if len(kinds) != 1:
        return (f"a target is exactly one of image, text, template, screen or point (got "
                f"{', '.join(kinds) or 'none'})")
    if kinds[0] != "template" and (data.get("field") is not None or data.get("box") is not None):
        return "'field' and 'box' need a 'template'"
    if kinds[0] != "text" and "exact" in data:
        return "'exact' is for a text target"
    return None


def _tag(data: Any) -> str:
    if isinstance(data, Locator):
        return f"{data.kind} target"
    if target_problem(data) is not None:
        return "bad target"
    return f"{next((k for k in KIND_KEYS if data.get(k) is not None), 'point')} target"


class _BadTarget(StrictModel):
    """Stands for data that names no single kind: always fails, saying why."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _explain(cls, data: Any) -> Any:
        raise ValueError(target_problem(data) or "not a target")


def _from_string(data: Any) -> Any:
    return parse_locator(data) if isinstance(data, str) else data


Target = Annotated[
    Union[tuple(Annotated[cls, Tag(f"{kind} target")] for kind, cls in LOCATOR_CLASSES.items())
          + (Annotated[_BadTarget, Tag("bad target")],)],
    Discriminator(_tag),
    BeforeValidator(_from_string),
]
"""A target field: a mapping or a locator string, validated into the model of its kind."""

_TARGET = TypeAdapter(Target)


def parse_target(data: Any) -> Locator:
    """A target from a mapping or a locator string (pydantic's ValidationError, a ValueError, when it is none)."""
    return _TARGET.validate_python(data)
