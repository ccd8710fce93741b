"""The flow model: a YAML list of steps, validated with pydantic. See docs/flows.md.

A step is a mapping with exactly one action key (`click`, `type`, `wait`, ...)
plus common keys (`name`, `expect`). Targets are given as a mapping
(`{image: ok.png, region: [0, 0, 800, 600]}`) or as a locator string in the
style of rpaframework: `image:ok.png + region:0,0,800,600 + offset:10,0`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

SCHEMA = "qcedge.flow/1"

BoxT = tuple[int, int, int, int]
PointT = tuple[int, int]

TARGET_KINDS = ("image", "text", "template", "point", "screen")
INPUT_ACTIONS = ("click", "double_click", "right_click", "type", "hotkey")
ACTIONS = (*INPUT_ACTIONS, "wait", "read", "check", "if", "for_each", "screenshot", "pause", "set")
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")

KEY_NAMES = frozenset(
    "ctrl alt shift win super enter return tab esc escape space backspace delete del insert home end pageup "
    "pagedown up down left right f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 capslock menu".split())


def key_combo(v: Any) -> list[str]:
    """`ctrl+s` or `[ctrl, s]` -> ['ctrl', 's'] (known key names or one ASCII character each)."""
    if isinstance(v, str):
        v = [k.strip() for k in v.split("+")] if v.strip() != "+" else ["+"]
    if not isinstance(v, list) or not v:
        raise ValueError("a key combination is like 'ctrl+s' or [ctrl, s]")
    out = []
    for k in v:
        if not isinstance(k, str):
            raise ValueError(f"a key is a name, not {type(k).__name__}")
        k = k.lower()
        if k not in KEY_NAMES and not (len(k) == 1 and k.isascii() and k.isprintable()):
            raise ValueError(f"unknown key '{k[:30]}' (a single ASCII character or one of: {', '.join(sorted(KEY_NAMES))})")
        out.append(k)
    return out


def key_sequence(v: Any) -> list[list[str]]:
    """`"end, shift+home, delete"` or `[end, shift+home, delete]` -> [['end'], ['shift', 'home'], ['delete']]."""
    if isinstance(v, str):
        v = [p.strip() for p in v.split(",")]
    if not isinstance(v, list) or not v or len(v) > 20:
        raise ValueError("a key sequence is a list of 1-20 key combinations, e.g. [end, shift+home, delete]")
    return [key_combo(c) for c in v]


class _Strict(BaseModel):
    # allow_inf_nan=False: a NaN threshold or timeout is refused as "a finite number", not "greater than 0"
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


def _ints(text: str, n: int, what: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != n or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise ValueError(f"{what} needs {n} integers separated by commas, not '{text}'")
    return [int(p) for p in parts]


def parse_locator(text: str) -> dict[str, Any]:
    """`image:a.png + region:0,0,800,600 + offset:5,0 + threshold:0.9` -> mapping of Target keys.

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
        if key in ("image", "text", "template", "screen", "field"):
            out[key] = value
        elif key in ("region", "box"):
            out[key] = _ints(value, 4, key)
        elif key in ("offset", "point", "size"):
            out[key] = _ints(value, 2, key)
        elif key == "threshold":
            try:
                out[key] = float(value)
            except ValueError:
                raise ValueError(f"threshold is a number, not '{value}'") from None
        elif key == "scales":
            try:
                out[key] = [float(v) for v in value.split(",")]
            except ValueError:
                raise ValueError(f"scales are numbers separated by commas, not '{value}'") from None
        else:
            raise ValueError(f"unknown locator key '{key}' (known: image, text, template, field, point, box, "
                             "screen, region, offset, size, threshold, scales)")
        if key in out and list(out).count(key) > 1:
            raise ValueError(f"locator key '{key}' given twice")
    return out


class Target(_Strict):
    """Something on the screen: an anchor image, a text found by OCR, a template's
    field/box/point, a named screen of the flow, or (discouraged) an absolute point.

    `region` limits the search (screen pixels). `offset` moves the click point
    from the found thing's centre, so a field can be clicked relative to a
    stable label next to it.
    """

    image: str | tuple[str, ...] | None = None
    text: str | None = None
    template: str | None = None
    screen: str | None = None
    field: str | None = None
    point: PointT | None = None
    box: BoxT | None = None
    region: BoxT | None = None
    offset: PointT = (0, 0)
    size: PointT | None = None
    threshold: float | None = Field(default=None, gt=0, le=1)
    scales: tuple[float, ...] | None = None
    exact: bool = False

    @field_validator("image")
    @classmethod
    def _image_names(cls, v: Any) -> Any:
        for name in ([v] if isinstance(v, str) else v or ()):
            if not name.strip():
                raise ValueError("an image name is empty")
            for part in Path(name).parts:
                if len(part.encode("utf-8", "surrogatepass")) > 255:
                    raise ValueError(f"image name '{name[:40]}...' has a part longer than 255 bytes")
        if isinstance(v, tuple) and not v:
            raise ValueError("the image list is empty")
        return v

    @field_validator("scales")
    @classmethod
    def _scales(cls, v: Any) -> Any:
        if v is not None and (not v or not all(0.2 <= s <= 5 for s in v)):
            raise ValueError("scales are numbers from 0.2 to 5")
        return v

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return parse_locator(data) if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_kind(self) -> "Target":
        kinds = [k for k in ("image", "text", "template", "screen") if getattr(self, k) is not None]
        if not kinds and self.point is not None:
            kinds = ["point"]
        if len(kinds) != 1:
            raise ValueError(f"a target is exactly one of image, text, template, screen or point (got "
                             f"{', '.join(kinds) or 'none'})")
        if self.template is None and (self.field is not None or self.box is not None):
            raise ValueError("'field' and 'box' need a 'template'")
        if self.template is not None and sum(v is not None for v in (self.field, self.box, self.point)) > 1:
            raise ValueError("with a template give one of field, box or point")
        if self.region is not None and (self.region[2] <= 0 or self.region[3] <= 0):
            raise ValueError("region is [x, y, width, height] with width and height > 0")
        if self.size is not None and (self.size[0] <= 0 or self.size[1] <= 0):
            raise ValueError("size is [width, height] with both > 0")
        if self.text is not None and not self.text.strip():
            raise ValueError("text target is empty")
        return self

    @property
    def kind(self) -> str:
        for k in ("image", "text", "template", "screen"):
            if getattr(self, k) is not None:
                return k
        return "point"

    @property
    def has_vars(self) -> bool:
        return any("${" in p for p in self.images) or (self.text is not None and "${" in self.text)

    @property
    def has_box(self) -> bool:
        """The target is a field's box (template field/box, or `size` around the point), not just a point."""
        return self.size is not None or (self.template is not None and (self.field is not None or self.box is not None))

    @property
    def images(self) -> list[str]:
        if self.image is None:
            return []
        return [self.image] if isinstance(self.image, str) else list(self.image)

    def describe(self) -> str:
        k = self.kind
        if k == "image":
            what = f"image {', '.join(self.images)}"
        elif k == "template":
            extra = f" field {self.field}" if self.field else f" box {list(self.box)}" if self.box else \
                f" point {list(self.point)}" if self.point else ""
            what = f"template {self.template}{extra}"
        elif k == "point":
            what = f"point {list(self.point)}"
        else:
            what = f"{k} '{getattr(self, k)}'"
        return what + (f" in region {list(self.region)}" if self.region else "")


class ScreenDef(_Strict):
    """What must be on screen (`all`) and what must not (`none`), or a reference to a named screen."""

    ref: str | None = None
    all: list[Target] = Field(default_factory=list)
    none: list[Target] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            loc = parse_locator(data)
            return {"ref": loc["screen"]} if list(loc) == ["screen"] else {"all": [loc]}
        if isinstance(data, dict) and not ({"ref", "all", "none"} & set(data)):
            return {"all": [data]}
        if isinstance(data, list):
            return {"all": data}
        return data

    @model_validator(mode="after")
    def _something(self) -> "ScreenDef":
        if self.ref is None and not self.all:
            raise ValueError("a screen needs 'all' (targets that must be visible) or a screen name")
        if self.ref is not None and (self.all or self.none):
            raise ValueError("a screen reference cannot also list targets")
        for t in self.all + self.none:
            if t.kind == "point":
                raise ValueError("a point cannot show that a screen is there: use an image, text or template")
        return self

    def describe(self) -> str:
        if self.ref:
            return f"screen '{self.ref}'"
        s = " and ".join(t.describe() for t in self.all)
        return s + (f", without {' or '.join(t.describe() for t in self.none)}" if self.none else "")


class Condition(_Strict):
    """Exactly one test: visible / not_visible (targets or screen names), equals,
    not_equals, matches (regex), empty, not_empty, or the combinators all / any / not."""

    visible: ScreenDef | None = None
    not_visible: ScreenDef | None = None
    equals: tuple[Any, Any] | None = None
    not_equals: tuple[Any, Any] | None = None
    matches: tuple[str, str] | None = None
    empty: Any = None
    not_empty: Any = None
    all: list["Condition"] | None = None
    any: list["Condition"] | None = None
    not_: "Condition | None" = Field(default=None, alias="not")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):  # `if: popup` -> the screen/target is visible
            return {"visible": data}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> "Condition":
        given = [k for k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("a condition is exactly one of visible, not_visible, equals, not_equals, matches, "
                             f"empty, not_empty, all, any, not (got {', '.join(given) or 'none'})")
        if self.matches is not None:
            try:
                re.compile(self.matches[1])
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        return self

    @property
    def op(self) -> str:
        return next(iter(self.model_fields_set))


class Settings(_Strict):
    """Defaults for the whole flow; steps may override timeout/poll/threshold."""

    timeout: float = Field(default=10.0, gt=0, description="seconds to wait for a target or a screen")
    poll: float = Field(default=0.1, gt=0, description="seconds between looks at the screen")
    threshold: float = Field(default=0.85, gt=0, le=1, description="image match score needed")
    scales: tuple[float, ...] = (1.0,)
    typing: Literal["auto", "keys", "xdotool", "clipboard"] = "auto"
    type_delay_ms: int = Field(default=12, ge=0, le=1000)
    paste_keys: str = "ctrl+v"
    clear_keys: list[list[str]] = Field(default_factory=lambda: [["end"], ["shift", "home"], ["delete"]],
                                        description="keys that empty a field (clear: true)")
    key_pause: float = Field(default=0.05, ge=0, le=2, description="pause after each mouse/key call")
    on_user_activity: Literal["pause", "abort"] = "pause"
    resume_after: float = Field(default=2.0, ge=0, description="quiet seconds before a paused flow resumes")
    max_pause: float = Field(default=300.0, gt=0, description="abort when the person is busy longer than this")
    require_expect: bool = True
    ocr_engine: str = "ppocr"

    @field_validator("scales")
    @classmethod
    def _scales(cls, v: Any) -> Any:
        if not v or not all(0.2 <= s <= 5 for s in v):
            raise ValueError("scales are numbers from 0.2 to 5")
        return v

    @field_validator("clear_keys", mode="before")
    @classmethod
    def _clear(cls, v: Any) -> Any:
        return key_sequence(v)

    @field_validator("paste_keys")
    @classmethod
    def _paste(cls, v: str) -> str:
        key_combo(v)
        return v

    @property
    def paste_keys_list(self) -> list[str]:
        return key_combo(self.paste_keys)


class _Step(_Strict):
    name: str | None = None
    expect: ScreenDef | None = None


class _ClickBase(_Step):
    timeout: float | None = Field(default=None, gt=0)
    verify: Condition | None = None
    verify_timeout: float | None = Field(default=None, gt=0)
    retries: int = Field(default=0, ge=0, le=5)

    @model_validator(mode="after")
    def _retry_needs_verify(self) -> "_ClickBase":
        if self.retries and self.verify is None:
            raise ValueError("'retries' needs 'verify' (a click is only repeated when its effect is missing)")
        return self


def _no_screen_click(t: Target) -> Target:
    if t.kind == "screen":
        raise ValueError("cannot click a whole screen: name an image, text, template field or point")
    return t


class ClickStep(_ClickBase):
    click: Target

    @field_validator("click")
    @classmethod
    def _not_screen(cls, v: Target) -> Target:
        return _no_screen_click(v)


class DoubleClickStep(_ClickBase):
    double_click: Target

    @field_validator("double_click")
    @classmethod
    def _not_screen(cls, v: Target) -> Target:
        return _no_screen_click(v)


class RightClickStep(_ClickBase):
    right_click: Target

    @field_validator("right_click")
    @classmethod
    def _not_screen(cls, v: Target) -> Target:
        return _no_screen_click(v)


class TypeStep(_Step):
    """Type text (with ${var}); `into` clicks a target first; `clear` empties the field first (true: the
    flow's `clear_keys`, or a key sequence of its own); `enter` presses Enter after."""

    type: str
    into: Target | None = None
    clear: bool | list[list[str]] = False
    enter: bool = False
    method: Literal["auto", "keys", "xdotool", "clipboard"] | None = None

    @field_validator("clear", mode="before")
    @classmethod
    def _clear(cls, v: Any) -> Any:
        return v if isinstance(v, bool) else key_sequence(v)

    @field_validator("type", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class HotkeyStep(_Step):
    """A key or key combination: `ctrl+s`, `enter`, `[alt, f4]`; `times` repeats it."""

    hotkey: list[str]
    times: int = Field(default=1, ge=1, le=100)

    @field_validator("hotkey", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return key_combo(v)


class WaitSpec(_Strict):
    """Wait until a target/screen appears (`appear`), vanishes (`vanish`) or a condition holds (`until`)."""

    appear: ScreenDef | None = None
    vanish: ScreenDef | None = None
    until: Condition | None = None
    timeout: float | None = Field(default=None, gt=0)
    poll: float | None = Field(default=None, gt=0)
    settle: float = Field(default=0.0, ge=0, description="the screen must also stop changing for this long")
    retries: int = Field(default=0, ge=0, le=10, description="look again this many more times after a timeout")
    on_timeout: Literal["fail", "continue"] = "fail"
    save_as: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"appear": data}
        return data

    @model_validator(mode="after")
    def _one(self) -> "WaitSpec":
        n = sum(x is not None for x in (self.appear, self.vanish, self.until))
        if n != 1:
            raise ValueError("a wait needs exactly one of appear, vanish, until (for a fixed delay use a 'pause' step)")
        return self


class WaitStep(_Step):
    wait: WaitSpec


class ReadSpec(_Strict):
    """Read fields of a template (all, or `fields`) into variables `<into>.<field>` (or `<field>`),
    or the text of a `target` region into the variable `into`."""

    template: str | None = None
    fields: list[str] | None = None
    target: Target | None = None
    into: str | None = None
    engine: str | None = None

    @model_validator(mode="after")
    def _what(self) -> "ReadSpec":
        if (self.template is None) == (self.target is None):
            raise ValueError("read either a 'template' or a 'target' region")
        if self.target is not None and not self.into:
            raise ValueError("reading a target needs 'into' (the variable to fill)")
        return self


class ReadStep(_Step):
    read: ReadSpec


class CheckStep(_Step):
    check: Condition
    message: str | None = None


class IfStep(_Step):
    if_: Condition = Field(alias="if")
    then: list["StepT"] = Field(default_factory=list)
    else_: list["StepT"] = Field(default_factory=list, alias="else")


class ForEachStep(_Step):
    """Run `steps` once per item of a list variable (records from --records are `records`)."""

    for_each: str | list[Any]
    as_: str = Field(default="record", alias="as", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    steps: list["StepT"] = Field(min_length=1)


class ScreenshotStep(_Step):
    screenshot: str = Field(pattern=r"^[A-Za-z0-9_.${}-]+$")


class PauseStep(_Step):
    pause: float = Field(ge=0, le=600)


class SetStep(_Step):
    set: dict[str, Any]

    @field_validator("set")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for k in v:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
                raise ValueError(f"'{k}' is not a variable name")
        return v


class _BadStep(_Strict):
    """Placeholder that always fails, with a message saying what is wrong with the step's keys."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _explain(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"a step is a mapping with one action key ({', '.join(ACTIONS)}), not {type(data).__name__}")
        acts = [k for k in data if k in ACTIONS]
        if len(acts) > 1:
            raise ValueError(f"a step has exactly one action, this one has {', '.join(acts)}")
        unknown = [k for k in data if k not in ("name", "expect")]
        hint = f"; unknown key(s): {', '.join(map(str, unknown))}" if unknown else ""
        raise ValueError(f"a step needs one action key: {', '.join(ACTIONS)}{hint}")


STEP_CLASSES: dict[str, type[_Step]] = {
    "click": ClickStep, "double_click": DoubleClickStep, "right_click": RightClickStep, "type": TypeStep,
    "hotkey": HotkeyStep, "wait": WaitStep, "read": ReadStep, "check": CheckStep, "if": IfStep,
    "for_each": ForEachStep, "screenshot": ScreenshotStep, "pause": PauseStep, "set": SetStep,
}


def _action_of(data: Any) -> str:
    if isinstance(data, dict):
        acts = [k for k in data if k in ACTIONS]
        if len(acts) == 1:
            return acts[0]
    elif isinstance(data, BaseModel):
        for k, cls in STEP_CLASSES.items():
            if isinstance(data, cls):
                return k
    return "invalid"


StepT = Annotated[
    Union[tuple(Annotated[cls, Tag(k)] for k, cls in STEP_CLASSES.items()) + (Annotated[_BadStep, Tag("invalid")],)],
    Discriminator(_action_of),
]

IfStep.model_rebuild()
ForEachStep.model_rebuild()


class OnScreen(_Strict):
    """An interrupt handler: whenever `screen` shows (checked before and during every input step),
    run `steps`, then go on with the interrupted step (started over from a safe point)."""

    name: str | None = None
    screen: ScreenDef
    steps: list[StepT] = Field(min_length=1)
    max_times: int = Field(default=1000, ge=1, description="stop the flow when it fires more often than this")

    def label(self, index: int) -> str:
        return self.name or f"on_screen {index + 1}"


def action_of(step: _Step) -> str:
    return _action_of(step)


class Flow(_Strict):
    """A flow file: id, title, settings, named screens, default variables, steps."""

    schema_: Literal["qcedge.flow/1"] = Field(default=SCHEMA, alias="schema")
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    version: str = "1"
    settings: Settings = Settings()
    screens: dict[str, ScreenDef] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    on_screen: list[OnScreen] = Field(default_factory=list)
    steps: list[StepT] = Field(min_length=1)

    path: Path | None = Field(default=None, exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def resolve(self, relpath: str) -> Path:
        """A file named in the flow, relative to the flow file's folder."""
        p = Path(relpath)
        return p if p.is_absolute() else self.base_dir / p
