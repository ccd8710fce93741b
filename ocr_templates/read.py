"""Read a matched screen: crop each field, pre-process, recognise, parse, validate, check."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ocr_templates.checks import run_checks
from ocr_templates.engines.base import OcrEngine, get_engine
from ocr_templates.fields import parse_value
from ocr_templates.match import match_template
from ocr_templates.model import Field_, TableField, Template, ValueSpec
from ocr_templates.preprocess import DEFAULT, PrepSettings, prepare_crop
from ocr_templates.results import FieldResult, MatchResult, ScreenReading

log = logging.getLogger(__name__)

MARGIN = 0.15   # crop margin around a box, in box heights (absorbs a pixel or two of match error)


@dataclass
class _Cell:
    """One box to recognise: where it is and how its text is typed."""

    name: str
    spec: ValueSpec
    box: tuple[int, int, int, int]          # frame coordinates
    image: np.ndarray | None = None         # prepared for the recogniser (None: no ink)


def crop_box(image: np.ndarray, box: tuple[int, int, int, int], margin: float = MARGIN
             ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The box cut from the frame with a margin, and the box itself inside the cut (x0, y0, x1, y1)."""
    H, W = image.shape[:2]
    x, y, w, h = box
    m = max(1, round(h * margin))
    x0, y0 = max(0, x - m), max(0, y - m)
    x1, y1 = min(W, x + w + m), min(H, y + h + m)
    crop = image[y0:y1, x0:x1]
    inner = (x - x0, y - y0, min(x + w, W) - x0, min(y + h, H) - y0)
    return crop, inner


def _prepare(image: np.ndarray, box: tuple[int, int, int, int], settings: PrepSettings) -> np.ndarray | None:
    crop, inner = crop_box(image, box)
    if crop.size == 0:
        return None
    return prepare_crop(crop, inner, settings)


def recognize_cells(engine: OcrEngine, cells: list[_Cell]) -> dict[int, tuple[str, float]]:
    """Recognise the prepared images of `cells`; identical images (a column of '120') are recognised once."""
    unique: dict[bytes, int] = {}
    images: list[np.ndarray] = []
    slot: list[int] = []
    for c in cells:
        img = c.image
        key = img.shape[:2] + (hash(img.tobytes()),)  # type: ignore[operator]
        key = repr(key).encode()
        if key not in unique:
            unique[key] = len(images)
            images.append(img)
        slot.append(unique[key])
    recs = engine.recognize(images) if images else []
    return {id(c): (recs[i].text, recs[i].confidence) for c, i in zip(cells, slot)}


def _result(cell: _Cell, text: str, conf: float, floor: float, personal: bool) -> FieldResult:
    value, valid, reasons = parse_value(text, cell.spec, conf, floor)
    return FieldResult(name=cell.name, text=text, value=value, confidence=round(float(conf), 4), valid=valid,
                       reasons=reasons, box=cell.box, personal=personal)


def read_screen(image: np.ndarray, template: Template, match: MatchResult | None = None,
                engine: OcrEngine | None = None, settings: PrepSettings = DEFAULT) -> ScreenReading:
    """Read every field of `template` from `image`.

    Without `match`, the template is matched first. When the template does not
    match, fields are still read where the best guess puts them, but every field
    is marked invalid (the reading needs review).
    """
    t0 = time.perf_counter()
    if match is None:
        match = match_template(image, template)
    engine = engine or get_engine("ppocr")
    floor = template.confidence_floor

    singles: list[tuple[Field_, _Cell]] = []
    for f in template.fields:
        if isinstance(f, Field_):
            cell = _Cell(f.name, f, match.box_to_frame(f.box.as_tuple()))
            cell.image = _prepare(image, cell.box, settings)
            singles.append((f, cell))

    tables: list[tuple[TableField, list[dict[str, _Cell]]]] = []
    for f in template.fields:
        if isinstance(f, TableField):
            tables.append((f, _table_cells(image, f, match, settings)))

    cells = [c for _, c in singles if c.image is not None]
    cells += [c for _, rows in tables for row in rows for c in row.values() if c.image is not None]
    texts = recognize_cells(engine, cells)

    fields: dict[str, FieldResult] = {}
    for f, cell in singles:
        text, conf = texts.get(id(cell), ("", 0.0))
        fields[f.name] = _result(cell, text, conf, floor, f.personal)
    for f, rows in tables:
        fields[f.name] = _table_result(f, rows, texts, floor, match)

    if not match.matched:
        why = f"template did not match (score {match.score:.2f} < {template.match.threshold:.2f})"
        for r in fields.values():
            r.valid = False
            r.reasons.insert(0, why)
    checks = run_checks(template, fields)
    return ScreenReading(template_id=template.id, template_version=template.version, match=match,
                         fields=fields, checks=checks, seconds=time.perf_counter() - t0)


def _table_cells(image: np.ndarray, f: TableField, match: MatchResult, settings: PrepSettings
                 ) -> list[dict[str, _Cell]]:
    rows: list[dict[str, _Cell]] = []
    bx, by, bw, bh = f.box.as_tuple()
    for i in range(f.max_rows):
        top = by + f.header + i * f.row_height
        if top + f.row_height > by + bh + 1:
            break
        row: dict[str, _Cell] = {}
        for col in f.columns:
            box = match.box_to_frame((bx + col.x, top, col.w, f.row_height))
            cell = _Cell(f"{f.name}[{i}].{col.name}", col, box)
            cell.image = _prepare(image, box, settings)
            row[col.name] = cell
        if all(c.image is None for c in row.values()):
            break
        rows.append(row)
    return rows


def _table_result(f: TableField, rows: list[dict[str, _Cell]], texts: dict[int, tuple[str, float]], floor: float,
                  match: MatchResult) -> FieldResult:
    out_rows: list[dict[str, FieldResult]] = []
    values: list[dict[str, object]] = []
    reasons: list[str] = []
    confs: list[float] = []
    for i, row in enumerate(rows):
        rr: dict[str, FieldResult] = {}
        for name, cell in row.items():
            text, conf = texts.get(id(cell), ("", 0.0))
            rr[name] = _result(cell, text, conf, floor, f.personal)
            confs.append(rr[name].confidence)
            if not rr[name].valid:
                reasons.append(f"row {i + 1} {name}: " + "; ".join(rr[name].reasons))
        out_rows.append(rr)
        values.append({k: v.value for k, v in rr.items()})
    if len(rows) < f.min_rows:
        reasons.append(f"{len(rows)} row(s) read, at least {f.min_rows} expected")
    text = "\n".join(" | ".join(c.text for c in r.values()) for r in out_rows)
    return FieldResult(name=f.name, text=text, value=values, confidence=round(min(confs), 4) if confs else 0.0,
                       valid=not reasons, reasons=reasons, box=match.box_to_frame(f.box.as_tuple()),
                       personal=f.personal, rows=out_rows)
