"""A table field's columns: found between the grid lines or text gaps of the image, and as the editor's cells.

Pure numpy: no Qt.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from qcedge.teaching_mode.snap import ink_mask
from qcedge.teaching_mode.value_types import parse_number

COLUMN_KEYS = ("name", "x", "w", "type", "unit", "regex", "range", "choices")


def auto_columns(image: np.ndarray, box: list[int], header: int = 0, min_gap: int = 12) -> list[dict[str, Any]]:
    """Split a table box into columns: between its vertical grid lines when it has them,
    else at the middle of each blank gap between columns of text."""
    x, y, w, h = box
    crop = image[y + header:y + h, x:x + w]
    if crop.size == 0:
        return []
    mask = ink_mask(crop)
    mask[mask.mean(axis=1) > 0.6, :] = 0  # horizontal grid lines
    line_cols = np.flatnonzero(mask.mean(axis=0) > 0.6)
    mask[:, line_cols] = 0
    ink = mask.max(axis=0) > 0
    bounds: list[int] = [0]
    if len(line_cols):
        for c in line_cols:
            if c - bounds[-1] > 2:
                bounds.append(int(c))
            else:
                bounds[-1] = int(c)
    else:
        run_start, gap = None, 0
        for i, v in enumerate(ink):
            if not v:
                gap += 1
                if run_start is None:
                    run_start = i
            else:
                if run_start is not None and gap >= min_gap and run_start > 0:
                    bounds.append(run_start + gap // 2)
                run_start, gap = None, 0
    bounds.append(w)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        if b - a > 4 and ink[a:b].any():
            out.append({"name": f"col{len(out) + 1}", "x": int(a + 2), "w": int(b - a - 3)})
    return out



def column_cells(col: dict[str, Any]) -> list[str]:
    """A column as the text of its editor cells, in COLUMN_KEYS order (range as 'lo..hi', choices comma separated)."""
    cells = []
    for key in COLUMN_KEYS:
        value = col.get(key, "text" if key == "type" else "")
        if key == "range" and value:
            value = f"{value[0]}..{value[1]}"
        elif key == "choices" and value:
            value = ", ".join(map(str, value))
        cells.append("" if value is None else str(value))
    return cells


def column_from_cells(cells: list[str], row: int) -> dict[str, Any] | None:
    """A column from the stripped text of its editor cells (COLUMN_KEYS order, row `row`); None when x or w
    is not a number."""
    text = dict(zip(COLUMN_KEYS, cells))
    try:
        col: dict[str, Any] = {"name": text["name"] or f"col{row + 1}", "x": int(float(text["x"] or 0)),
                               "w": max(1, int(float(text["w"] or 1)))}
    except ValueError:
        return None
    if text["type"] and text["type"] != "text":
        col["type"] = text["type"]
    for key in ("unit", "regex"):
        if text[key]:
            col[key] = text[key]
    lo, _, hi = text["range"].replace("…", "..").partition("..")
    try:
        if parse_number(lo) is not None and parse_number(hi) is not None:
            col["range"] = [parse_number(lo), parse_number(hi)]
    except ValueError:
        pass
    choices = [c.strip() for c in text["choices"].replace("，", ",").split(",") if c.strip()]
    if choices:
        col["choices"] = choices
    return col
