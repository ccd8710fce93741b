"""Typed parsing and validation of one recognised value.

`parse_value(text, spec)` turns recognised text into a typed value and says
whether it is valid, with reasons. Anything doubtful is invalid: a wrong value
that looks right is the worst outcome.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from qcedge.ocr_templates.model import NUMERIC_TYPES, ValueSpec

# Letters a recogniser returns for digits (numeric, date and time fields only).
DIGIT_CONFUSIONS: dict[str, str] = {
    "O": "0", "o": "0", "D": "0", "Q": "0", "U": "0",
    "l": "1", "I": "1", "i": "1", "|": "1", "!": "1", "J": "1",
    "Z": "2", "z": "2",
    "A": "4",
    "S": "5", "s": "5",
    "G": "6", "b": "6",
    "T": "7",
    "B": "8",
    "g": "9", "q": "9",
}
POINTS = {",": ".", "，": ".", "·": ".", "。": ".", "．": ".", "˙": ".", "•": ".", "、": "."}
MINUS = {"−": "-", "–": "-", "—": "-", "－": "-", "~": "-"}

_DATE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
    re.compile(r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})$"),
]
_TIME = re.compile(r"^(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2}))?$")
_TIME_COMPACT = re.compile(r"^(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?$")
_INT = re.compile(r"^[+-]?\d+$")
_DEC = re.compile(r"^[+-]?(\d+(\.\d+)?|\.\d+)$")


def normalise(text: str) -> str:
    """NFKC (full-width to ASCII), collapse whitespace, strip."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text).strip()


_CJK = "\u2e80-\u9fff\uf900-\ufaff"
_JOINERS = r"\^_/\\·@#"   # symbols that join parts of one token (DICOM names 'LI^NA', codes 'A/B')
_STRAY_SPACE = re.compile(rf"(?<=[{_JOINERS}])\s+|\s+(?=[{_JOINERS}])|(?<=[{_CJK}])\s+(?=[{_CJK}])")


def tidy_spaces(text: str) -> str:
    """Collapse whitespace; drop the spaces recognisers put next to joining symbols ('CAI^ GANG')
    and between CJK characters ('张 三'). Spaces between words stay."""
    text = re.sub(r"\s+", " ", text).strip()
    return _STRAY_SPACE.sub("", text)


def _unit_pattern(unit: str) -> re.Pattern[str]:
    """A forgiving pattern for a unit as OCR returns it ('mGy·cm' ~ 'mGy-cm', 'mGycm', 'mGy cm')."""
    unit = normalise(unit)
    parts = []
    for ch in unit:
        if ch in "·.*-/ ×x":
            parts.append(r"[\s·.*\-/×xX]{0,3}")
        elif ch.isalpha():
            alts = {ch, ch.lower(), ch.upper()}
            if ch.lower() == "l" or ch == "I":
                alts |= {"l", "I", "1", "|"}
            if ch.lower() == "o":
                alts |= {"0"}
            parts.append("[" + "".join(re.escape(a) for a in sorted(alts)) + "]")
        else:
            parts.append(re.escape(ch))
    return re.compile(r"\s*[\(\[（]?\s*" + "".join(parts) + r"\s*[\)\]）]?\s*$")


def strip_unit(text: str, unit: str | None) -> tuple[str, bool]:
    """(text without the trailing unit, whether a unit was removed)."""
    if not unit:
        return text, False
    m = _unit_pattern(unit).search(text)
    if m and m.start() > 0:
        return text[: m.start()].rstrip(), True
    return text, False


def _confusion_map(spec: ValueSpec) -> dict[str, str]:
    if spec.confusions is False:
        return {}
    if isinstance(spec.confusions, dict):
        return dict(spec.confusions)
    if spec.confusions is True or spec.type in NUMERIC_TYPES:
        return dict(DIGIT_CONFUSIONS)
    if spec.type in ("date", "time", "datetime"):
        if spec.format and _tolerant(spec.format) is None:
            return {}  # month names ('Oct') must keep their letters
        mapping = dict(DIGIT_CONFUSIONS)
        if spec.type == "datetime":
            mapping.pop("T", None)  # ISO 'T' between date and time
        return mapping
    return {}


def fix_confusions(text: str, mapping: dict[str, str], numeric: bool) -> tuple[str, list[str]]:
    """Apply letter->digit fixes (and decimal point/minus fixes for numbers). Returns (text, notes)."""
    notes: list[str] = []
    out = []
    for ch in text:
        rep = mapping.get(ch)
        if numeric and rep is None:
            rep = POINTS.get(ch) or MINUS.get(ch)
        if rep is not None and rep != ch:
            notes.append(f"{ch}->{rep}")
            out.append(rep)
        else:
            out.append(ch)
    return "".join(out), notes


_DIRECTIVE = {"Y": r"(\d{4})", "m": r"(\d{2})", "d": r"(\d{2})", "H": r"(\d{2})", "M": r"(\d{2})", "S": r"(\d{2})"}
_SEPARATORS = r"[\s:：.,;/\-]{0,2}"


def _tolerant(fmt: str) -> tuple[re.Pattern[str], list[str]] | None:
    """A pattern for a numeric format whose separators OCR may have misread or dropped.

    Only formats made of %Y %m %d %H %M %S (fixed width) and separators qualify:
    with fixed widths, '09 23' or '0923' for %H:%M is unambiguous.
    """
    parts, order, i = [], [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d not in _DIRECTIVE:
                return None
            parts.append(_DIRECTIVE[d])
            order.append(d)
            i += 2
        else:
            if fmt[i].isalnum():
                return None
            j = i
            while j < len(fmt) and fmt[j] != "%":
                j += 1
            parts.append(_SEPARATORS)
            i = j
    return re.compile("^" + "".join(parts) + "$"), order


def _strptime(s: str, fmt: str) -> dt.datetime | None:
    """Parse with a strftime format.

    A numeric format (%Y %m %d %H %M %S and separators) is read with fixed widths,
    as strftime writes it: '9:5' is not '%H:%M' (a digit was lost), while a
    misread or dropped separator is forgiven ('09 23', '0923'). Other formats
    go to strptime (and again without spaces).
    """
    tol = _tolerant(fmt)
    if tol is None:
        for text, form in ((s, fmt), (s.replace(" ", ""), fmt.replace(" ", ""))):
            try:
                return dt.datetime.strptime(text, form)
            except ValueError:
                continue
        return None
    m = tol[0].match(s.strip())
    if not m:
        return None
    got = dict(zip(tol[1], (int(g) for g in m.groups())))
    try:
        return dt.datetime(got.get("Y", 1900), got.get("m", 1), got.get("d", 1), got.get("H", 0), got.get("M", 0),
                           got.get("S", 0))
    except ValueError:
        return None


def _parse_date(s: str, fmt: str | None) -> dt.date | None:
    if fmt:
        v = _strptime(s, fmt)
        return v.date() if v else None
    for pat in _DATE_PATTERNS:
        m = pat.match(s)
        if m:
            mo, d = m["m"], m["d"]
            # a zero-padded display pads both: '2024-03-5' lost a digit
            if (mo.startswith("0") or d.startswith("0")) and (len(mo) == 1 or len(d) == 1):
                return None
            try:
                return dt.date(int(m["y"]), int(mo), int(d))
            except ValueError:
                return None
    return None


def _parse_time(s: str, fmt: str | None) -> dt.time | None:
    if fmt:
        v = _strptime(s, fmt)
        return v.time() if v else None
    m = _TIME.match(s) or _TIME_COMPACT.match(s)
    if not m:
        return None
    try:
        return dt.time(int(m["H"]), int(m["M"]), int(m["S"] or 0))
    except ValueError:
        return None


def _parse_datetime(s: str, fmt: str | None) -> dt.datetime | None:
    if fmt:
        return _strptime(s, fmt)
    m = re.match(r"^(.*?\d)[ T]+(\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)$", s)
    if not m:
        m = re.match(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{4}年\d{1,2}月\d{1,2}日)(\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)$", s)
    if not m:
        return None
    d, t = _parse_date(m.group(1).strip(), None), _parse_time(m.group(2), None)
    return dt.datetime.combine(d, t) if d and t else None


def parse_value(text: str, spec: ValueSpec, confidence: float | None = None,
                floor: float | None = None) -> tuple[Any, bool, list[str]]:
    """Typed value, valid, reasons for one recognised text.

    `confidence` and `floor` (the template's confidence floor unless the spec
    has its own) add the confidence check. The regex is matched (in full)
    against the value text after unit removal and confusion fixes.
    """
    reasons: list[str] = []
    floor = spec.confidence_floor if spec.confidence_floor is not None else floor
    s = normalise(text) if spec.type != "text" else tidy_spaces(text)
    if not s:
        if spec.required:
            return None, False, ["empty: no text read"]
        return None, True, []
    if confidence is not None and floor is not None and confidence < floor:
        reasons.append(f"confidence {confidence:.2f} below floor {floor:.2f}")

    s, _ = strip_unit(s, spec.unit)
    numeric = spec.type in NUMERIC_TYPES
    mapping = _confusion_map(spec)
    if mapping or numeric:
        if numeric:
            s = s.replace(" ", "")
        s, fixes = fix_confusions(s, mapping, numeric)
    value: Any = None
    t = spec.type
    if t == "integer":
        cand = s
        if re.fullmatch(r"[+-]?\d{1,3}([.,]\d{3})+", cand) and spec.decimals is None:
            reasons.append(f"'{s}' has a separator: thousands or a decimal point?")
        elif _INT.match(cand):
            value = int(cand)
        else:
            reasons.append(f"'{s}' is not an integer")
    elif t == "decimal":
        if s.count(".") > 1:
            reasons.append(f"'{s}' has more than one decimal point")
        elif _DEC.match(s):
            value = float(s)
            if spec.decimals is not None:
                got = len(s.split(".", 1)[1]) if "." in s else 0
                if got != spec.decimals:
                    reasons.append(f"'{s}' has {got} decimal place(s), expected {spec.decimals}")
        else:
            reasons.append(f"'{s}' is not a number")
    elif t == "date":
        value = _parse_date(s if spec.format else s.replace(" ", ""), spec.format)
        if value is None:
            reasons.append(f"'{s}' is not a date" + (f" ({spec.format})" if spec.format else ""))
    elif t == "time":
        value = _parse_time(s if spec.format else s.replace(" ", ""), spec.format)
        if value is None:
            reasons.append(f"'{s}' is not a time" + (f" ({spec.format})" if spec.format else ""))
    elif t == "datetime":
        value = _parse_datetime(s, spec.format)
        if value is None:
            reasons.append(f"'{s}' is not a date and time" + (f" ({spec.format})" if spec.format else ""))
    elif t == "enum":
        choices = spec.choices or []
        if s in choices:
            value = s
        else:
            folded = {normalise(c).casefold(): c for c in choices}
            key = normalise(s).casefold().replace(" ", "")
            hits = [c for k, c in folded.items() if k.replace(" ", "") == key]
            if len(hits) == 1:
                value = hits[0]
            else:
                reasons.append(f"'{s}' is not one of {', '.join(choices)}")
    elif t == "code":
        s = s.replace(" ", "")
        value = s
    else:  # text
        value = s

    if spec.regex is not None and not re.fullmatch(spec.regex, s):
        reasons.append(f"'{s}' does not match the pattern {spec.regex}")
    if spec.allowed is not None:
        bad = sorted({c for c in s if c not in spec.allowed and not (c == " " and t == "text")})
        if bad:
            reasons.append(f"characters not allowed: {''.join(bad)}")
    if spec.range is not None and value is not None and isinstance(value, (int, float)):
        lo, hi = spec.range
        if not (lo <= value <= hi):
            reasons.append(f"{value:g} outside the range [{lo:g}, {hi:g}]")
    return value, not reasons, reasons
