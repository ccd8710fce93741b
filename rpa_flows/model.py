"""The flow model: a YAML list of steps, validated with pydantic. See docs/flows.md.

A step is a mapping with exactly one action key (`click`, `type`, `wait`, ...)
plus common keys (`name`, `expect`). Targets (a mapping or a locator string in the
style of rpaframework) are the models of `rpa_flows.locators`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from qcedge.rpa_flows.locators import Locator, StrictModel, Target, parse_locator

SCHEMA = "qcedge.flow/1"

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


class ScreenDef(StrictModel):
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


class Condition(StrictModel):
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


class Settings(StrictModel):
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


class Step(StrictModel):
    """What every step has: a `name` (for messages and logs) and the screen it `expect`s."""

    name: str | None = None
    expect: ScreenDef | None = None


def step_label(index: int, step: Any) -> str:
    """"step 3 'save'": a step (a model or a mapping of the file) by its number and name."""
    name = step.get("name") if isinstance(step, dict) else getattr(step, "name", None)
    return f"step {index + 1}" + (f" '{name}'" if name else "")


class _ClickBase(Step):
    timeout: float | None = Field(default=None, gt=0)
    verify: Condition | None = None
    verify_timeout: float | None = Field(default=None, gt=0)
    retries: int = Field(default=0, ge=0, le=5)

    @model_validator(mode="after")
    def _retry_needs_verify(self) -> "_ClickBase":
        if self.retries and self.verify is None:
            raise ValueError("'retries' needs 'verify' (a click is only repeated when its effect is missing)")
        return self


def _no_screen_click(t: Locator) -> Locator:
    if t.kind == "screen":
        raise ValueError("cannot click a whole screen: name an image, text, template field or point")
    return t


ClickTarget = Annotated[Target, AfterValidator(_no_screen_click)]


class ClickStep(_ClickBase):
    click: ClickTarget


class DoubleClickStep(_ClickBase):
    double_click: ClickTarget


class RightClickStep(_ClickBase):
    right_click: ClickTarget


class TypeStep(Step):
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


class HotkeyStep(Step):
    """A key or key combination: `ctrl+s`, `enter`, `[alt, f4]`; `times` repeats it."""

    hotkey: list[str]
    times: int = Field(default=1, ge=1, le=100)

    @field_validator("hotkey", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return key_combo(v)


class WaitSpec(StrictModel):
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


class WaitStep(Step):
    wait: WaitSpec


class ReadSpec(StrictModel):
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


class ReadStep(Step):
    read: ReadSpec


class CheckStep(Step):
    check: Condition
    message: str | None = None


class IfStep(Step):
    if_: Condition = Field(alias="if")
    then: list["StepT"] = Field(default_factory=list)
    else_: list["StepT"] = Field(default_factory=list, alias="else")


class ForEachStep(Step):
    """Run `steps` once per item of a list variable (records from --records are `records`)."""

    for_each: str | list[Any]
    as_: str = Field(default="record", alias="as", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    steps: list["StepT"] = Field(min_length=1)


class ScreenshotStep(Step):
    screenshot: str = Field(pattern=r"^[A-Za-z0-9_.${}-]+$")


class PauseStep(Step):
    pause: float = Field(ge=0, le=600)


class SetStep(Step):
    set: dict[str, Any]

    @field_validator("set")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for k in v:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
                raise ValueError(f"'{k}' is not a variable name")
        return v


class _BadStep(StrictModel):
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


STEP_CLASSES: dict[str, type[Step]] = {
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


class OnScreen(StrictModel):
    """An interrupt handler: whenever `screen` shows (checked before and during every input step),
    run `steps`, then go on with the interrupted step (started over from a safe point)."""

    name: str | None = None
    screen: ScreenDef
    steps: list[StepT] = Field(min_length=1)
    max_times: int = Field(default=1000, ge=1, description="stop the flow when it fires more often than this")

    def label(self, index: int) -> str:
        return self.name or f"on_screen {index + 1}"


def action_of(step: Step) -> str:
    return _action_of(step)


class Flow(StrictModel):
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
