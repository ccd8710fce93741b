"""Small helpers to read and write SR content items (PS3.3 C.17.3) with pydicom."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.valuerep import DSfloat, format_number_as_ds

from qcedge.connectors.sr_codes import UNITS, VALUE_UNKNOWN, Code


# --------------------------------------------------------------------------- reading

def concept(item: Dataset) -> tuple[str, str] | None:
    """(code value, scheme) of an item's concept name, or None."""
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        return None
    code = seq[0]
    value = code.get("CodeValue") or code.get("LongCodeValue") or code.get("URNCodeValue") or ""
    return (str(value), str(code.get("CodingSchemeDesignator", "")))


def is_concept(item: Dataset, code: Code) -> bool:
    return concept(item) == (code.value, code.scheme_designator)


def children(item: Dataset) -> list[Dataset]:
    return list(item.get("ContentSequence") or [])


def walk(item: Dataset, depth: int = 0, limit: int = 64) -> Iterator[Dataset]:
    """Every content item below `item`, depth first (not `item` itself)."""
    if depth > limit:
        return
    for child in children(item):
        yield child
        yield from walk(child, depth + 1, limit)


def find(item: Dataset, code: Code, *, deep: bool = False) -> Dataset | None:
    for child in walk(item) if deep else children(item):
        if is_concept(child, code):
            return child
    return None


def find_all(item: Dataset, code: Code, *, deep: bool = False) -> list[Dataset]:
    return [c for c in (walk(item) if deep else children(item)) if is_concept(c, code)]


class Measured(NamedTuple):
    """A NUM item's value (None when it has none) and its unit's code value."""

    value: float | None
    unit: str


def num(item: Dataset | None) -> Measured:
    """The value and unit of a NUM item; (None, "") when absent or without a value."""
    if item is None or item.get("ValueType") != "NUM":
        return Measured(None, "")
    mv = item.get("MeasuredValueSequence")
    if not mv:
        return Measured(None, "")
    value = mv[0].get("NumericValue")
    units = mv[0].get("MeasurementUnitsCodeSequence")
    unit = str(units[0].get("CodeValue", "")) if units else ""
    try:
        return Measured(float(value) if value not in (None, "") else None, unit)
    except (TypeError, ValueError):
        return Measured(None, unit)


def num_of(item: Dataset, code: Code, *, deep: bool = False) -> float | None:
    return num(find(item, code, deep=deep)).value


def code_value(item: Dataset | None) -> Code | None:
    """The concept code of a CODE item."""
    if item is None:
        return None
    seq = item.get("ConceptCodeSequence")
    if not seq:
        return None
    c = seq[0]
    return Code(str(c.get("CodeValue", "")), str(c.get("CodingSchemeDesignator", "")), str(c.get("CodeMeaning", "")))


def text_of(item: Dataset, code: Code, *, deep: bool = False) -> str | None:
    found = find(item, code, deep=deep)
    if found is None:
        return None
    vt = found.get("ValueType")
    if vt == "TEXT":
        return str(found.get("TextValue", ""))
    if vt == "UIDREF":
        return str(found.get("UID", ""))
    if vt == "CODE":
        cv = code_value(found)
        return cv.meaning if cv else None
    if vt == "DATETIME":
        return str(found.get("DateTime", ""))
    return None


# --------------------------------------------------------------------------- writing

def code_item(code: Code) -> Dataset:
    ds = Dataset()
    ds.CodeValue, ds.CodingSchemeDesignator, ds.CodeMeaning = code
    return ds


def _item(relationship: str | None, value_type: str, name: Code) -> Dataset:
    ds = Dataset()
    if relationship:
        ds.RelationshipType = relationship
    ds.ValueType = value_type
    ds.ConceptNameCodeSequence = Sequence([code_item(name)])
    return ds


def container(relationship: str | None, name: Code, items: list[Dataset], template: str | None = None) -> Dataset:
    ds = _item(relationship, "CONTAINER", name)
    ds.ContinuityOfContent = "SEPARATE"
    if template:
        tpl = Dataset()
        tpl.MappingResource = "DCMR"
        tpl.TemplateIdentifier = template
        ds.ContentTemplateSequence = Sequence([tpl])
    ds.ContentSequence = Sequence(items)
    return ds


def ds_string(value: float) -> str:
    """A Decimal String of at most 16 characters for `value`."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format_number_as_ds(float(value))


def num_item(relationship: str, name: Code, value: float | None, unit: str) -> Dataset:
    """A NUM item; without a value it carries the qualifier 'Value unknown' (CID 42)."""
    ds = _item(relationship, "NUM", name)
    if value is None:
        ds.MeasuredValueSequence = Sequence([])
        ds.NumericValueQualifierCodeSequence = Sequence([code_item(VALUE_UNKNOWN)])
        return ds
    mv = Dataset()
    mv.MeasurementUnitsCodeSequence = Sequence([code_item(UNITS[unit])])
    mv.NumericValue = DSfloat(ds_string(value), auto_format=False)
    ds.MeasuredValueSequence = Sequence([mv])
    return ds


def text_item(relationship: str, name: Code, text: str) -> Dataset:
    ds = _item(relationship, "TEXT", name)
    ds.TextValue = text
    return ds


def coded_item(relationship: str, name: Code, value: Code, items: list[Dataset] | None = None) -> Dataset:
    ds = _item(relationship, "CODE", name)
    ds.ConceptCodeSequence = Sequence([code_item(value)])
    if items:
        ds.ContentSequence = Sequence(items)
    return ds


def uid_item(relationship: str, name: Code, uid: str) -> Dataset:
    ds = _item(relationship, "UIDREF", name)
    ds.UID = uid
    return ds


def datetime_item(relationship: str, name: Code, when: datetime) -> Dataset:
    ds = _item(relationship, "DATETIME", name)
    ds.DateTime = dicom_datetime(when)
    return ds


def dicom_datetime(when: datetime) -> str:
    text = when.strftime("%Y%m%d%H%M%S")
    if when.utcoffset() is not None:
        text += when.strftime("%z")
    return text
