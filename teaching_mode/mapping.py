"""Boxes between reference and frame coordinates, through a match (frame = reference * scale + offset)."""
from __future__ import annotations

import copy
from typing import Any

from qcedge.ocr_templates.results import MatchResult

Box = list[int]


def to_frame(box: Box, match: MatchResult | None) -> Box:
    """A reference box where it sits on the frame (unchanged without a match)."""
    if match is None:
        return [int(v) for v in box]
    return list(match.box_to_frame(tuple(int(v) for v in box)))


def to_reference(box: Box, match: MatchResult | None) -> Box:
    """A frame box in reference coordinates (the inverse of `to_frame`)."""
    if match is None:
        return [int(v) for v in box]
    s = match.scale or 1.0
    ox, oy = match.offset
    return [int(round((box[0] - ox) / s)), int(round((box[1] - oy) / s)),
            max(1, int(round(box[2] / s))), max(1, int(round(box[3] / s)))]


def item_to_frame(data: dict[str, Any], match: MatchResult | None) -> dict[str, Any]:
    """A field or anchor mapping with its box (and a table's row height, header, columns) on the frame."""
    out = copy.deepcopy(data)
    out["box"] = to_frame(data["box"], match)
    if match is not None and data.get("kind") == "table":
        s = match.scale
        for key in ("row_height", "header"):
            if key in out:
                out[key] = max(1, int(round(out[key] * s))) if key == "row_height" else int(round(out[key] * s))
        for col in out.get("columns", []):
            col["x"], col["w"] = int(round(col["x"] * s)), max(1, int(round(col["w"] * s)))
    return out
