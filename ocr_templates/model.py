"""The template model: one taught screen of one legacy program.

A template is a YAML file with a reference PNG beside it. Boxes are
`[x, y, width, height]` in the reference image's pixels. See docs/templates.md
for every key with an example.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

SCHEMA = "qcedge.template/1"

ValueType = Literal["text", "integer", "decimal", "date", "time", "datetime", "enum", "code"]
NUMERIC_TYPES = frozenset({"integer", "decimal"})


class _Strict(BaseModel):
    # allow_inf_nan=False: NaN and infinity are refused as "Input should be a finite number"
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Box(_Strict):
    """A rectangle in reference coordinates."""

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    w: int = Field(gt=0)
    h: int = Field(gt=0)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, (list, tuple)):
            if len(data) != 4:
                raise ValueError("a box is [x, y, width, height]")
            return dict(zip("xywh", data))
        return data

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


class Reference(_Strict):
    """The reference screenshot: its file (beside the template) and its size in pixels."""

    image: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class Anchor(_Strict):
    """A region that identifies the screen and locates it in a frame.

    An image anchor is the patch of the reference image under `box`. With
    `text`, the anchor is also confirmed by OCR of that region.
    """

    name: str
    box: Box
    text: str | None = None
    weight: float = Field(default=1.0, gt=0)


class MatchSettings(_Strict):
    """`threshold`: the weighted mean anchor score needed; `anchor_threshold`: what every single
    anchor must reach (default: the threshold); scales searched."""

    threshold: float = Field(default=0.8, gt=0, le=1)
    anchor_threshold: float | None = Field(default=None, gt=0, le=1)
    min_scale: float = Field(default=0.6, gt=0)   # 0.6: a 1080p console captured at 720p is 0.67
    max_scale: float = Field(default=1.6, gt=0)

    @model_validator(mode="after")
    def _scales(self) -> "MatchSettings":
        if self.min_scale > self.max_scale:
            raise ValueError(f"min_scale {self.min_scale} is above max_scale {self.max_scale}")
        return self

    @property
    def anchor_floor(self) -> float:
        return self.anchor_threshold if self.anchor_threshold is not None else self.threshold


class ValueSpec(_Strict):
    """How the text of one value is typed and validated."""

    type: ValueType = "text"
    unit: str | None = None
    regex: str | None = None
    range: tuple[float, float] | None = None
    allowed: str | None = None
    confusions: bool | dict[str, str] | None = None
    choices: list[str] | None = None
    format: str | None = None
    decimals: int | None = Field(default=None, ge=0)
    required: bool = True
    confidence_floor: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> "ValueSpec":
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum needs 'choices'")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError("range is [min, max] with min <= max")
        if self.regex is not None:
            import re

            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        return self


class Column(ValueSpec):
    """A column of a table field: horizontal span relative to the table box."""

    name: str
    x: int = Field(ge=0)
    w: int = Field(gt=0)


class Field_(ValueSpec):
    """A single value on the screen."""

    kind: Literal["value"] = "value"
    name: str
    label: str | None = None
    box: Box
    personal: bool = False


class TableField(_Strict):
    """A region of rows (one line per series, say), read row by row.

    Rows start `header` pixels below the box top and are `row_height` apart;
    reading stops at the first empty row or at `max_rows`.
    """

    kind: Literal["table"]
    name: str
    label: str | None = None
    box: Box
    row_height: int = Field(gt=0)
    header: int = Field(default=0, ge=0)
    max_rows: int = Field(default=50, gt=0)
    min_rows: int = Field(default=0, ge=0)
    columns: list[Column] = Field(min_length=1)
    personal: bool = False

    @model_validator(mode="after")
    def _rows(self) -> "TableField":
        if self.min_rows > self.max_rows:
            raise ValueError(f"min_rows {self.min_rows} is above max_rows {self.max_rows}")
        return self


def _field_kind(data: Any) -> str:
    kind = data.get("kind", "value") if isinstance(data, dict) else getattr(data, "kind", "value")
    return kind if kind in ("value", "table") else "value"


FieldDef = Annotated[
    Annotated[Field_, Tag("value")] | Annotated[TableField, Tag("table")], Discriminator(_field_kind)
]


class Check(_Strict):
    """A check across fields.

    - `sum`: `total` equals the sum of `of` ("table.column"), within `tolerance`.
    - `not_future`: the date/datetime `field` is not after now.
    - `compare`: `left` `op` `right`, each a field name or a number.
    """

    name: str
    kind: Literal["sum", "not_future", "compare"]
    total: str | None = None
    of: str | None = None
    field: str | None = None
    left: str | float | None = None
    op: Literal["<", "<=", "==", ">=", ">", "!="] | None = None
    right: str | float | None = None
    tolerance: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _args(self) -> "Check":
        need = {"sum": ("total", "of"), "not_future": ("field",), "compare": ("left", "op", "right")}
        missing = [k for k in need[self.kind] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a '{self.kind}' check needs {', '.join(missing)}")
        return self


class Template(_Strict):
    """One screen of one legacy program."""

    schema_: Literal["qcedge.template/1"] = Field(default=SCHEMA, alias="schema")
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str
    title: str
    program: str | None = None
    screen: str | None = None
    modality: str | None = None
    reference: Reference
    match: MatchSettings = MatchSettings()
    anchors: list[Anchor] = Field(min_length=1)
    fields: list[FieldDef] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    identity: list[str] = Field(default_factory=list)
    confidence_floor: float = Field(default=0.8, ge=0, le=1)

    # Where the file was loaded from (not part of the YAML).
    path: Path | None = Field(default=None, exclude=True)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _references(self) -> "Template":
        names = [f.name for f in self.fields]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"field names repeat: {', '.join(sorted(dup))}")
        known = set(names)
        tables = {f.name: {c.name for c in f.columns} for f in self.fields if isinstance(f, TableField)}
        for key in self.identity:
            if key not in known:
                raise ValueError(f"identity names unknown field '{key}'")
        for check in self.checks:
            for ref in (check.total, check.field, check.left, check.right):
                if isinstance(ref, str) and ref not in known:
                    raise ValueError(f"check '{check.name}' names unknown field '{ref}'")
            if check.of is not None:
                table, _, column = check.of.partition(".")
                if table not in tables or column not in tables[table]:
                    raise ValueError(f"check '{check.name}': '{check.of}' is not a table.column")
        return self

    def field(self, name: str) -> Field_ | TableField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def reference_path(self) -> Path | None:
        if self.path is None:
            return None
        return self.path.parent / self.reference.image
