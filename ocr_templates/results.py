"""What matching and reading a screen give back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class MatchResult:
    """Where a template sits in a frame: frame = reference * scale + offset."""

    template_id: str
    score: float
    matched: bool
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)
    anchor_scores: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    hidden: dict[str, str] = field(default_factory=dict)   # anchors not visible: name -> why (covered, outside)

    def __post_init__(self) -> None:
        # plain Python numbers at the boundary: numpy scalars from OpenCV do not serialise to JSON
        self.score = float(self.score)
        self.scale = float(self.scale)
        self.offset = (float(self.offset[0]), float(self.offset[1]))
        self.anchor_scores = {str(k): float(v) for k, v in self.anchor_scores.items()}

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        """Map a point from reference to frame coordinates."""
        return (x * self.scale + self.offset[0], y * self.scale + self.offset[1])

    def box_to_frame(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        x, y = self.to_frame(box[0], box[1])
        return (round(x), round(y), max(1, round(box[2] * self.scale)), max(1, round(box[3] * self.scale)))


@dataclass(slots=True)
class FieldResult:
    """One value read from the screen.

    `valid` is False when parsing, validation or the confidence floor failed;
    `reasons` says why. For a table field, `rows` holds a FieldResult per cell
    and `value` the list of typed row values.
    """

    name: str
    text: str
    value: Any
    confidence: float
    valid: bool
    reasons: list[str] = field(default_factory=list)
    box: tuple[int, int, int, int] | None = None
    personal: bool = False
    rows: list[dict[str, "FieldResult"]] | None = None
    hidden: str | None = None   # why the field could not be read (covered, outside the frame), or None

    def __post_init__(self) -> None:
        self.confidence = float(self.confidence)
        if self.box is not None:
            self.box = tuple(int(v) for v in self.box)  # type: ignore[assignment]


@dataclass(slots=True)
class CheckResult:
    name: str
    ok: bool
    message: str = ""


@dataclass(slots=True)
class ScreenReading:
    """Everything read from one frame with one template."""

    template_id: str
    template_version: str
    match: MatchResult
    fields: dict[str, FieldResult]
    checks: list[CheckResult]
    seconds: float = 0.0

    @property
    def status(self) -> Literal["complete", "needs_review"]:
        ok = all(f.valid for f in self.fields.values()) and all(c.ok for c in self.checks)
        return "complete" if ok else "needs_review"
