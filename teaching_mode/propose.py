"""Propose fields from the text detected on a frame: label and value pairs with a guessed type.

Pure functions over `ocr_templates.engines.TextBox` lists, so they test without Qt.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qcedge.ocr_templates.engines.base import TextBox
from qcedge.ocr_templates.preprocess import to_grey
from qcedge.teaching_mode.labels import KNOWN_LABELS, PERSONAL_HINTS, label_key
from qcedge.teaching_mode.slots import enclosing_frame, find_slot, ink_bbox, union

UNITS = ("mGy·cm", "mGy*cm", "mGycm", "mGy", "mAs", "mA", "kV", "kVp", "ms", "s", "mm", "cm", "cGy·cm²", "dGy·cm²",
         "µGy·m²", "uGy·m²", "%", "kg", "岁", "cm²")

# "Label: value" (the label ends in a letter, not a digit: "18:24" is a time, not a pair)
_SEP = re.compile(r"^(?P<label>[^:：]*?[A-Za-z\u4e00-\u9fff)）\].][^:：\d]*?)\s*[:：]\s*(?P<value>\S.*)$")
# "Label 120 unit": a label of words followed by a number (and perhaps a unit)
_LABEL_THEN_NUMBER = re.compile(
    r"^(?P<label>[^\d:：]*[A-Za-z\u4e00-\u9fff)）\]][^\d:：]*?)(?:\s+|(?<=[\u4e00-\u9fff]))(?P<value>[-+]?\d[\d.,:/\-]*(\s*[A-Za-zµ%°·²/*岁]{0,8})?)$")


@dataclass
class Proposal:
    """A proposed field: its name, the label text, the value box and a guessed spec."""

    name: str
    label: str
    text: str
    box: list[int]
    spec: dict[str, Any] = field(default_factory=dict)
    label_box: list[int] | None = None
    personal: bool = False
    score: float = 0.0          # how surely this is a form field (ranked by it, highest first)
    in_widget: bool = False     # the value sits in an input widget or cell
    texts: list[str] = field(default_factory=list)   # the value on every frame it was learned from

    @property
    def likely(self) -> bool:
        """A form field rather than list, toolbar or status-bar text."""
        return self.score >= 1.0

    def to_field(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "label": self.label, "box": list(self.box)}
        data.update(self.spec)
        if self.personal:
            data["personal"] = True
        return data


def char_width(ch: str) -> float:
    return 2.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.0


_DATE = r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d{4}年\d{1,2}月\d{1,2}日?)"


def guess_spec(text: str, label: str = "") -> dict[str, Any]:
    """Guess type (and unit) of a value from its text and label."""
    t = text.strip()
    spec: dict[str, Any] = {}
    unit = None
    for u in sorted(UNITS, key=len, reverse=True):
        if t.endswith(u) and re.search(r"\d\s*" + re.escape(u) + "$", t):
            unit, t = u, t[: -len(u)].strip()
            break
    if unit is None:
        m = re.search(r"[(（\[]\s*([^)）\]]+?)\s*[)）\]]\s*$", label)
        if m and any(m.group(1).replace(" ", "") == u.replace(" ", "") for u in UNITS):
            unit = m.group(1).strip()
    if re.fullmatch(r"\d{8,}|0\d+", t):
        spec["type"] = "code"  # long digit strings and leading zeros are identifiers, not numbers
    elif re.fullmatch(r"[-+]?\d+", t):
        spec["type"] = "integer"
    elif re.fullmatch(r"[-+]?\d+[.,]\d+", t):
        spec["type"] = "decimal"
    elif re.fullmatch(_DATE + r"[ T]*\d{1,2}[:：]\d{2}([:：]\d{2})?", t):
        spec["type"] = "datetime"
    elif re.fullmatch(_DATE, t):
        spec["type"] = "date"
    elif re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", t):
        spec["type"] = "time"
    elif re.fullmatch(r"[A-Za-z]*\d[A-Za-z0-9\-_]{3,}", t) and re.search(r"\d{3,}", t):
        spec["type"] = "code"
    else:
        spec["type"] = "text"
    if unit:
        spec["unit"] = unit
    return spec


def name_for(label: str) -> tuple[str, bool]:
    """A field name and personal flag from a label ('检查号' -> accession; 'CTDIvol (mGy)' -> ctdivol)."""
    core = re.sub(r"[(（\[].*?[)）\]]", "", label).strip().rstrip(":：").strip()
    key = label_key(label)
    if key in KNOWN_LABELS:
        return KNOWN_LABELS[key]
    ascii_part = re.sub(r"[^0-9A-Za-z]+", "_", core).strip("_").lower()
    personal = any(h in core.lower() for h in PERSONAL_HINTS)
    if ascii_part:
        return ascii_part, personal
    for known, value in KNOWN_LABELS.items():
        if known in key:
            return value
    return "field", personal


def _split_box(box: tuple[int, int, int, int], text: str, start: int) -> list[int]:
    """The part of a detected box from character `start` on, by estimated character widths."""
    x, y, w, h = box
    widths = [char_width(c) for c in text]
    total = sum(widths) or 1.0
    left = sum(widths[:start]) / total
    nx = x + int(round(w * left))
    return [nx, y, max(1, x + w - nx), h]


def _same_line(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    top, bottom = max(a[1], b[1]), min(a[1] + a[3], b[1] + b[3])
    return bottom - top > 0.5 * min(a[3], b[3])


def _looks_like_label(text: str) -> bool:
    t = text.strip()
    if _ACCELERATOR.search(t):
        return False
    if t.endswith((":", "：")):
        return True
    return bool(t) and not re.search(r"\d", t) and len(t) <= 24


_ACCELERATOR = re.compile(r"[(（](?:[A-Z]|F\d{1,2})[)）]$")  # menu items and buttons: 保存(S), 登记(F2)


def _strong_label(text: str) -> bool:
    """A text that is surely a label: a known one, or one ending in a colon."""
    t = text.strip()
    return t.endswith((":", "：")) or label_key(t) in KNOWN_LABELS


def _looks_like_value(text: str) -> bool:
    t = text.strip()
    if not t or t.endswith((":", "：")) or t in UNITS or _ACCELERATOR.search(t) or _strong_label(t):
        return False
    return bool(re.search(r"\d", t)) or len(t) <= 24


def _is_text(text: str) -> bool:
    """Something worth proposing: at least two letters, digits or CJK characters."""
    return len(re.findall(r"[0-9A-Za-z\u4e00-\u9fff]", text)) >= 2 or bool(re.search(r"[\u4e00-\u9fff]", text))


def propose_fields(boxes: list[TextBox], image: np.ndarray | None = None,
                   taken: set[str] | None = None, margin: int = 3, max_gap: float = 3.0) -> list[Proposal]:
    """Label/value pairs from detected text lines, the surest form fields first.

    A line "kV: 120" or "kV 120" gives one field whose box covers the value part; a
    label line followed on the same line by a value line (no further than `max_gap`
    text heights away) gives a field on the value line. With the image, each value's box
    is its slot (the input widget or cell around it, or the free space up to the next
    text), not the ink of this frame's value; and each pair is scored: label/value pairs
    of a form rank above list rows, toolbar words and status-bar text.
    """
    taken = set(taken or ())
    ordered = sorted((b for b in boxes if _is_text(b.text)), key=lambda b: (b.box[1] + b.box[3] // 2, b.box[0]))
    all_boxes = [list(b.box) for b in ordered]
    used: set[int] = set()
    out: list[Proposal] = []

    def add(label: str, value_text: str, value_box: list[int], label_box: list[int] | None, k: int,
            gap: float = 0.0, slot: list[int] | None = None) -> None:
        name, personal = name_for(label)
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        in_widget = False
        if image is not None and slot is not None:
            value_box, in_widget = slot, True
        elif image is not None:
            frame = enclosing_frame(image, value_box)
            stops = [b for j, b in enumerate(all_boxes) if j != k and not _contains(b, value_box)]
            value_box = find_slot(image, value_box, stops, margin=margin)
            in_widget = frame is not None and value_box == frame
        spec = guess_spec(value_text, label)
        p = Proposal(name=name, label=label.strip().rstrip(":：").strip(), text=value_text.strip(),
                     box=value_box, spec=spec, label_box=label_box, personal=personal, in_widget=in_widget,
                     texts=[value_text.strip()])
        p.score = _score(p, label, ordered[k].box, all_boxes, image, gap)
        if image is not None and label_box is not None:
            lab = enclosing_frame(image, label_box)
            if lab is not None and lab[3] <= 2 * label_box[3] and lab[2] <= 3 * label_box[2] + 24:
                p.score -= 4.0  # a framed "label" is a tab or a button, not a form label
        out.append(p)

    # surely-labels ("检查号", "Patient ID:") pick their values first, then the rest, top to bottom
    order = sorted(range(len(ordered)), key=lambda k: (not _strong_label(ordered[k].text), k))
    for i in order:
        tb = ordered[i]
        if i in used:
            continue
        text = tb.text.strip()
        m = _SEP.match(text) or _LABEL_THEN_NUMBER.match(text)
        if m and m.group("label").strip() and m.group("value").strip():
            used.add(i)
            add(m.group("label"), m.group("value"), _split_box(tb.box, text, m.start("value")), None, i)
            continue
        if not _looks_like_label(text) or (len(text) < 2 and not _strong_label(text)):
            continue
        # the nearest value to the right on the same line
        best, best_gap = None, None
        for j, other in enumerate(ordered):
            if j == i or j in used or other.box[0] <= tb.box[0] + 0.6 * tb.box[2]:
                continue
            if not _same_line(tb.box, other.box):
                continue
            gap = other.box[0] - (tb.box[0] + tb.box[2])
            if gap > max_gap * min(tb.box[3], other.box[3]):
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = j, gap
        weak_single = best is not None and not _strong_label(text) and len(ordered[best].text.strip()) < 2
        if best is not None and _looks_like_value(ordered[best].text) and not weak_single:
            used.update((i, best))
            add(text, ordered[best].text, list(ordered[best].box), list(tb.box), best,
                gap=(best_gap or 0) / max(1, min(tb.box[3], ordered[best].box[3])))
    if image is not None:
        _pair_tiles(ordered, used, image, add)
    order_key = {id(p): n for n, p in enumerate(out)}
    out.sort(key=lambda p: (-p.score, p.box[1] // 8, p.box[0], order_key[id(p)]))
    return out


def _pair_tiles(ordered: list[TextBox], used: set[int], image: np.ndarray, add: Any) -> None:
    """Tiles of consoles: a label at the top of a framed tile, its value below it in the same tile
    ("kV" over "120"). The value's slot is the tile below the label."""
    for j, val in enumerate(ordered):
        if j in used or not re.search(r"\d", val.text) or not _looks_like_value(val.text):
            continue
        tile = enclosing_frame(image, list(val.box))
        if tile is None:
            continue
        tx, ty, tw, th = tile
        inside_tile = [b for b in ordered if tx <= b.box[0] + b.box[2] / 2 <= tx + tw
                       and ty <= b.box[1] + b.box[3] / 2 <= ty + th]
        if len(inside_tile) > 3 or tw > 12 * val.box[3] or th > 5 * val.box[3]:
            continue  # a list or a panel with more in it, not a tile
        best = None
        for i, lab in enumerate(ordered):
            if i in used or i == j or not _looks_like_label(lab.text) or re.search(r"\d", lab.text):
                continue
            lx, ly, lw, lh = lab.box
            cx, cy = lx + lw / 2, ly + lh / 2
            inside = tx - 2 <= cx <= tx + tw + 2 and ty - 2 <= cy <= ty + th + 2
            if inside and ly + lh <= val.box[1] + 0.5 * val.box[3] and (best is None or ly > ordered[best].box[1]):
                best = i
        if best is None:
            continue
        lab = ordered[best]
        top = max(ty, min(lab.box[1] + lab.box[3], val.box[1]))
        used.update((best, j))
        add(lab.text.strip(), val.text, list(val.box), list(lab.box), j, gap=1.5,
            slot=[tx, top, tw, max(1, ty + th - top)])


def _contains(a: list[int], b: list[int]) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a[0] + a[2] >= b[0] + b[2] and a[1] + a[3] >= b[1] + b[3]


def _score(p: Proposal, label: str, line: tuple[int, int, int, int] | list[int], all_boxes: list[list[int]],
           image: np.ndarray | None, gap: float) -> float:
    """How surely a pair is a form field: + widget, known or colon label, typed value, aligned gap;
    - list rows, status bars and the taskbar, toolbar words."""
    score = 0.0
    score += 2.0 if p.in_widget else 0.0
    score += 2.0 if _strong_label(label) or label.strip().endswith((":", "：")) else 0.0
    score += 1.0 if p.spec.get("type") not in (None, "text") else 0.0
    score += 1.0 if gap >= 1.5 else 0.0
    x, y, w, h = line
    # a list: rows packed tighter than form rows, or a column line between label and value
    stacked = sum(1 for b in all_boxes if abs(b[0] - x) <= 4 and b[1] != y and abs(b[1] - y) <= 0.75 * h
                  and abs(b[3] - h) <= max(4, 0.3 * h))
    if (stacked >= 1 and not p.in_widget) or (image is not None and _column_line_between(image, p, line)):
        score -= 3.0
    if p.label_box is not None and h > 2 * p.label_box[3]:
        score -= 3.0  # a value box taller than two lines: texts of a list column merged, not one value
    # toolbar and tab captions: two short words, no digits, no widget, no label mark
    if not p.in_widget and not _strong_label(label) and not re.search(r"\d", p.text) and len(p.text) <= 4 \
            and len(label.strip()) <= 4:
        score -= 2.0
    if image is not None and _status_bar(image, line):
        score -= 5.0
    return score


def _column_line_between(image: np.ndarray, p: Proposal, line: tuple[int, int, int, int] | list[int]) -> bool:
    """A table's column line between the label and the value (taller than the text row: a grid, not a widget)."""
    from qcedge.teaching_mode.slots import LINE_DIFF, background_level

    if p.label_box is None:
        return False
    g = to_grey(image)
    H, W = g.shape
    lx, ly, lw, lh = p.label_box
    vx = int(line[0])
    x0, x1 = lx + lw, vx
    if x1 - x0 < 2:
        return False
    yc = ly + lh // 2
    reach = int(1.6 * lh)
    bg = background_level(g, [x0, ly, x1 - x0, lh])
    col = np.abs(g[max(0, yc - reach):min(H, yc + reach), x0:x1].astype(np.int16) - bg) > LINE_DIFF / 2
    return bool(len(col) and (col.mean(axis=0) > 0.95).any())


def _status_bar(image: np.ndarray, line: tuple[int, int, int, int] | list[int]) -> bool:
    """A text on a status bar or the taskbar: between long lines just above and below it (outside
    the panel it may sit in), or at the very bottom of the frame."""
    from qcedge.teaching_mode.slots import LINE_DIFF, background_level

    g = to_grey(image)
    H, W = g.shape
    if line[1] + line[3] > 0.95 * H:
        return True
    ink = ink_bbox(image, list(line))
    if ink is None:
        return False
    x, y, w, h = ink
    frame = enclosing_frame(image, list(line))
    top, bottom = (frame[1] - 1, frame[1] + frame[3] + 1) if frame is not None else (y, y + h)
    x0, x1 = max(0, x - 10 * h), min(W, x + w + 10 * h)
    reach = int(1.2 * h) + 2

    def long_line(rows: range) -> bool:  # a row unlike the band's own background all along
        rows = [r for r in rows if 0 <= r < H]
        if not rows:
            return False
        bg = background_level(g, [x0, rows[0], x1 - x0, len(rows)])
        return any((np.abs(g[r, x0:x1].astype(np.int16) - bg) > LINE_DIFF / 2).mean() > 0.9 for r in rows)

    return long_line(range(top - reach, top)) and long_line(range(bottom, bottom + reach))


def _same_labels(mine: list[Proposal], by_label: dict[str, Proposal]
                 ) -> Iterator[tuple[Proposal, Proposal, list[int], list[int]]]:
    """Each of `mine` with the other frame's proposal of its label, and the box that places each of the
    two (its label box, else its value box)."""
    for p in mine:
        q = by_label.get(p.label)
        if q is not None:
            yield p, q, p.label_box or p.box, q.label_box or q.box


def merge_frames(reference: list[Proposal], others: list[list[Proposal]], min_labels: int = 2) -> list[Proposal]:
    """Learn the reference frame's proposals from other frames of the same screen.

    Each other frame is aligned to the reference by the labels both show (the median shift
    of their label boxes, or of the value boxes' left-top corners for one-line pairs); a frame
    sharing fewer than `min_labels` labels is another screen and is skipped. Each value box
    grows to hold the slot on every frame (the longest value seen); the type is inferred
    over all the values, and a few short words repeated across frames become an enum.
    """
    merged = [Proposal(**{**p.__dict__, "box": list(p.box), "texts": list(p.texts or [p.text]),
                          "spec": dict(p.spec)}) for p in reference]
    for props in others:
        by_label: dict[str, Proposal] = {}
        for q in props:
            by_label.setdefault(q.label, q)
        shifts = [(a[0] - b[0], a[1] - b[1]) for p, q, a, b in _same_labels(reference, by_label)
                  if (p.label_box is None) == (q.label_box is None)]
        if len(shifts) < min_labels:
            continue
        dx = float(np.median([s[0] for s in shifts]))
        dy = float(np.median([s[1] for s in shifts]))
        for p, q, a, b in _same_labels(merged, by_label):
            if abs(a[0] - b[0] - dx) > 4 or abs(a[1] - b[1] - dy) > 4:
                continue  # the same label somewhere else: not this field
            moved = [int(round(q.box[0] + dx)), int(round(q.box[1] + dy)), q.box[2], q.box[3]]
            p.box = union(p.box, moved)
            p.texts.append(q.text)
            p.in_widget = p.in_widget or q.in_widget
    for p in merged:
        p.spec = infer_spec(p.texts, p.label)
    return merged


def infer_spec(texts: list[str], label: str = "") -> dict[str, Any]:
    """The type (and unit) that fits every value seen; a few repeated short words become an enum."""
    specs = [guess_spec(t, label) for t in texts if t.strip()]
    if not specs:
        return {"type": "text"}
    types = {s["type"] for s in specs}
    units = {s.get("unit") for s in specs} - {None}
    if len(types) == 1:
        kind = types.pop()
    elif types <= {"integer", "decimal"}:
        kind = "decimal"
    elif types <= {"integer", "code"}:
        kind = "code"
    elif types <= {"date", "datetime"}:
        kind = "datetime" if all(s["type"] == "datetime" for s in specs) else "text"
    else:
        kind = "text"
    spec: dict[str, Any] = {"type": kind}
    if len(units) == 1:
        spec["unit"] = units.pop()
    values = [t.strip() for t in texts if t.strip()]
    distinct = sorted(set(values))
    if kind == "text" and len(values) >= 3 and 2 <= len(distinct) <= max(2, len(values) // 2) \
            and all(len(v) <= 4 and not re.search(r"\d", v) for v in distinct):
        spec = {"type": "enum", "choices": distinct}
    return spec
