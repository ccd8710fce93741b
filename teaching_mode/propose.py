"""Propose fields from the text detected on a frame: label and value pairs with a guessed type.

Pure functions over `ocr_templates.engines.TextBox` lists, so they test without Qt.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ocr_templates.engines.base import TextBox
from teaching_mode.snap import snap_box

# Chinese labels seen on consoles, RIS and HIS screens -> field name, personal flag.
KNOWN_LABELS: dict[str, tuple[str, bool]] = {
    "姓名": ("patient_name", True), "患者姓名": ("patient_name", True), "病人姓名": ("patient_name", True),
    "患者id": ("patient_id", True), "病人id": ("patient_id", True), "病历号": ("patient_id", True),
    "住院号": ("inpatient_no", True), "门诊号": ("outpatient_no", True), "身份证号": ("id_card", True),
    "电话": ("phone", True), "联系电话": ("phone", True), "地址": ("address", True),
    "检查号": ("accession", False), "登记号": ("accession", False), "检查单号": ("accession", False),
    "性别": ("sex", False), "年龄": ("age", False), "出生日期": ("birth_date", True),
    "检查日期": ("exam_date", False), "检查时间": ("exam_time", False), "登记时间": ("registered_at", False),
    "检查部位": ("body_part", False), "部位": ("body_part", False), "设备": ("device", False),
    "检查项目": ("procedure", False), "科室": ("department", False), "申请科室": ("department", False),
    "技师": ("technologist", False), "医生": ("physician", False), "申请医生": ("physician", False),
    "序列": ("series", False), "管电压": ("kv", False), "管电流": ("ma", False), "曝光时间": ("exposure_time", False),
    "剂量": ("dose", False), "层厚": ("slice_thickness", False), "协议": ("protocol", False),
}
PERSONAL_HINTS = ("name", "patient_id", "patient id", "patientid", "birth", "phone", "address", "mrn")
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
    key = core.lower().replace(" ", "")
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
    key = re.sub(r"[(（\[].*?[)）\]]", "", t).rstrip(":：").replace(" ", "").lower()
    return t.endswith((":", "：")) or key in KNOWN_LABELS


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
    """Label/value pairs from detected text lines, left to right, top to bottom.

    A line "kV: 120" or "kV 120" gives one field whose box covers the value part; a
    label line followed on the same line by a value line (no further than `max_gap`
    text heights away) gives a field on the value line.
    """
    taken = set(taken or ())
    ordered = sorted((b for b in boxes if _is_text(b.text)), key=lambda b: (b.box[1] + b.box[3] // 2, b.box[0]))
    used: set[int] = set()
    out: list[Proposal] = []

    def add(label: str, value_text: str, value_box: list[int], label_box: list[int] | None) -> None:
        name, personal = name_for(label)
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        if image is not None:
            value_box = snap_box(image, value_box, margin=margin)
        out.append(Proposal(name=name, label=label.strip().rstrip(":：").strip(), text=value_text.strip(),
                            box=value_box, spec=guess_spec(value_text, label), label_box=label_box,
                            personal=personal))

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
            add(m.group("label"), m.group("value"), _split_box(tb.box, text, m.start("value")), None)
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
            add(text, ordered[best].text, list(ordered[best].box), list(tb.box))
    return out
