"""Read a matched screen: crop each field, pre-process, recognise, parse, validate, check."""
from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from qcedge.ocr_templates import cover as covermod
from qcedge.ocr_templates.checks import run_checks
from qcedge.ocr_templates.engines.base import OcrEngine, get_engine
from qcedge.ocr_templates.fields import parse_value
from qcedge.ocr_templates.match import match_template
from qcedge.ocr_templates.model import Field_, TableField, Template, ValueSpec
from qcedge.ocr_templates.preprocess import DEFAULT, PrepSettings, prepare_crop
from qcedge.ocr_templates.results import FieldResult, MatchResult, ScreenReading

log = logging.getLogger(__name__)
_COVER_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qcedge-cover")

MARGIN = 0.15   # crop margin around a box, in box heights (absorbs a pixel or two of match error)
SECOND_SIZE_STEP = 8   # a second reading (weakly validated fields) scales the text this many px larger
SMALL_TEXT_SCALE = 0.85   # below this match scale every field is read twice
SMALL_CJK_BOX = 20        # px: a box this low in the frame holds CJK text of ~10 px, which PP-OCR misreads at
                          # high confidence ('头领' for '头颅'): free text there is left for review


@dataclass
class _Cell:
    """One box to recognise: where it is and how its text is typed."""

    name: str
    spec: ValueSpec
    box: tuple[int, int, int, int]          # frame coordinates
    image: np.ndarray | None = None         # prepared for the recogniser (None: no ink)
    second: np.ndarray | None = None        # the same text prepared at another size (a second opinion)
    second_id: int | None = None            # the cell that carries `second` to the recogniser
    disagree: str | None = None             # what the second reading said, when it differs
    ref_box: tuple[int, int, int, int] | None = None   # reference coordinates
    hidden: str | None = None               # why the box cannot be read (covered, outside the frame)
    cut: str | None = None                  # why the value may be longer than its box


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


_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff]")


def _weak(spec: ValueSpec) -> bool:
    """A field whose type and rules would let a misread pass: free text or a code with no pattern."""
    return spec.type in ("text", "code") and not (spec.regex or spec.choices or spec.allowed)


def _squash(text: str) -> str:
    return "".join(text.split())


def _result(cell: _Cell, text: str, conf: float, floor: float, personal: bool) -> FieldResult:
    if cell.hidden is not None:   # never read as a value: what shows there is not the field
        return FieldResult(name=cell.name, text="", value=None, confidence=0.0, valid=False,
                           reasons=[cell.hidden], box=cell.box, personal=personal, hidden=cell.hidden)
    value, valid, reasons = parse_value(text, cell.spec, conf, floor)
    if cell.cut is not None:
        reasons.append(cell.cut)
        valid = False
    if valid and not cell.spec.choices and cell.box[3] < SMALL_CJK_BOX and _CJK.search(text):
        reasons.append(f"Chinese text {cell.box[3]} px high: too small to trust a reading that no list of choices confirms")
        valid = False
    if cell.disagree is not None:
        reasons.append(f"a second reading at another size says '{cell.disagree}'")
        valid = False
    return FieldResult(name=cell.name, text=text, value=value, confidence=round(float(conf), 4), valid=valid,
                       reasons=reasons, box=cell.box, personal=personal)


def read_screen(image: np.ndarray, template: Template, match: MatchResult | None = None,
                engine: OcrEngine | None = None, settings: PrepSettings = DEFAULT, hide: bool = True
                ) -> ScreenReading:
    """Read every field of `template` from `image`.

    Without `match`, the template is matched first. When the template does not
    match, fields are still read where the best guess puts them, but every field
    (and every table cell) is marked invalid (the reading needs review).
    With `hide` (default), fields that another window, the pointer or the
    frame's edge hides never give a value: what hides them is worked out beside
    the recognition (one shared worker thread), and their recognised text is then
    dropped; they are marked for review with the reason.
    """
    t0 = time.perf_counter()
    engine = engine or get_engine("ppocr")
    if match is None:
        match = match_template(image, template, engine=engine)
    floor = template.confidence_floor

    singles: list[tuple[Field_, _Cell]] = []
    for f in template.fields:
        if isinstance(f, Field_):
            cell = _Cell(f.name, f, match.box_to_frame(f.box.as_tuple()), ref_box=f.box.as_tuple())
            singles.append((f, cell))

    tables: list[tuple[TableField, list[dict[str, _Cell]]]] = []
    for f in template.fields:
        if isinstance(f, TableField):
            tables.append((f, _table_cells(image, f, match, settings)))

    # what covers the fields is worked out beside the recognition (OpenCV and ONNX Runtime release the GIL):
    # a covered field's text is then simply not used
    hiding = _COVER_POOL.submit(_mark_hidden, image, template, match, singles, tables) if hide else None
    for _, cell in singles:
        cell.image = _prepare(image, cell.box, settings)

    cells = [c for _, c in singles if c.image is not None]
    cells += [c for _, rows in tables for row in rows for c in row.values() if c.image is not None]
    policy = getattr(engine, "second_reading", "weak")
    if policy == "weak" and match.scale < SMALL_TEXT_SCALE:
        policy = "all"  # text smaller than taught (a capture card scaling down): every field twice
    second = replace(settings, text_height=settings.text_height + SECOND_SIZE_STEP)
    seconds = []
    for c in cells:
        if policy == "all" or (policy == "weak" and _weak(c.spec)):
            c.second = _prepare(image, c.box, second)
            if c.second is not None:
                seconds.append(_Cell(c.name, c.spec, c.box, c.second))
                c.second_id = id(seconds[-1])
    texts = recognize_cells(engine, cells + seconds)
    if hiding is not None:
        hiding.result()
    for c in cells:
        if c.second_id is not None and id(c) in texts:
            first, other = texts[id(c)][0], texts[c.second_id][0]
            if _squash(first) != _squash(other):
                c.disagree = other

    fields: dict[str, FieldResult] = {}
    for f, cell in singles:
        text, conf = texts.get(id(cell), ("", 0.0))
        fields[f.name] = _result(cell, text, conf, floor, f.personal)
    for f, rows in tables:
        fields[f.name] = _table_result(f, rows, texts, floor, match)

    if not match.matched:
        why = f"template did not match (score {match.score:.2f}, needs {template.match.threshold:.2f}"
        if match.anchor_scores:
            name, low = min(match.anchor_scores.items(), key=lambda kv: kv[1])
            why += f"; anchor '{name}' {low:.2f}, needs {template.match.anchor_floor:.2f}"
        why += ")"
        for r in fields.values():
            r.valid = False
            r.reasons.insert(0, why)
            for row in r.rows or ():
                for c in row.values():
                    c.valid = False
                    c.reasons.insert(0, why)
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
            ref = (bx + col.x, top, col.w, f.row_height)
            box = match.box_to_frame(ref)
            cell = _Cell(f"{f.name}[{i}].{col.name}", col, box, ref_box=ref)
            cell.image = _prepare(image, box, settings)
            row[col.name] = cell
        if all(c.image is None for c in row.values()):
            break
        rows.append(row)
    return rows


def _mark_hidden(image: np.ndarray, template: Template, match: MatchResult,
                 singles: list[tuple[Field_, _Cell]], tables: list[tuple[TableField, list[dict[str, _Cell]]]]) -> None:
    """Set `hidden` on every cell that another window, the pointer or the frame's edge hides."""
    visible_anchors = [a.box.as_tuple() for a in template.anchors if a.name not in match.hidden]
    place = covermod.placement(image, template, match.scale, match.offset, anchors=visible_anchors)
    if place is None:
        return
    grey = place.frame
    frame_boxes = [c.box for _, c in singles] + [match.box_to_frame(f.box.as_tuple()) for f, _ in tables]
    pointers = covermod.search_pointers(grey, frame_boxes, match.scale)
    variable = [f.box.as_tuple() for f in template.fields]
    for f, cell in singles:
        others = [b for b in variable if b != cell.ref_box]
        cell.hidden = covermod.hidden_reason(place, cell.ref_box, others, pointers)   # type: ignore[arg-type]
        if cell.hidden is None:
            cell.cut = covermod.cut_off_reason(place, cell.ref_box, others)   # type: ignore[arg-type]
    for f, rows in tables:
        others = [b for b in variable if b != f.box.as_tuple()]
        whole = covermod.hidden_reason(place, f.box.as_tuple(), others, ())
        for row in rows:
            for cell in row.values():
                fb = cell.box
                if whole is not None and whole != covermod.OUTSIDE:
                    cell.hidden = whole
                elif place.inside(cell.ref_box) < 0.999:     # type: ignore[arg-type]
                    cell.hidden = covermod.OUTSIDE
                elif any(p.overlaps(fb) for p in pointers):
                    cell.hidden = covermod.POINTER
                # (no per-cell ground test: a selected row is drawn on another ground)
            for cell in row.values():
                if cell.hidden is None:
                    neighbours = [c.ref_box for c in row.values() if c is not cell]
                    cell.cut = covermod.cut_off_reason(place, cell.ref_box, neighbours)   # type: ignore[arg-type]


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
