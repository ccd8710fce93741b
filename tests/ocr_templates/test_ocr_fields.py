"""Typed parsing and validation of recognised values: what makes a value clean or marked for review."""
from __future__ import annotations

import datetime as dt

import pytest

from qcedge.ocr_templates.fields import parse_value
from qcedge.ocr_templates.model import ValueSpec


def spec(**kw) -> ValueSpec:
    return ValueSpec(**kw)


@pytest.mark.parametrize("text,value", [
    ("120", 120), ("12O", 120), ("l20", 120), ("1Z0", 120), ("B0", 80), ("S5", 55), ("１２０", 120),
    ("120 kV", 120), ("120kV", 120), ("120 KV", 120),
])
def test_integer_with_confusions_and_unit(text, value):
    v, ok, reasons = parse_value(text, spec(type="integer", unit="kV", range=(40, 150)))
    assert (v, ok) == (value, True), reasons


@pytest.mark.parametrize("text,value", [
    ("12.34", 12.34), ("12,34", 12.34), ("12·34", 12.34), ("l2.3A", 12.34), ("12.34 mGy", 12.34),
    ("-0.50", -0.5), ("1263.9 mGy·cm", None),
])
def test_decimal(text, value):
    v, ok, reasons = parse_value(text, spec(type="decimal", unit="mGy", decimals=2))
    if value is None:
        assert not ok
    else:
        assert (v, ok) == (value, True), reasons


def test_decimal_unit_variants_as_ocr_returns_them():
    s = spec(type="decimal", unit="mGy·cm", decimals=1)
    for text in ("1263.9 mGy·cm", "1263.9 mGy-cm", "1263.9mGycm", "1263.9 mGy.cm", "1263.9 (mGy·cm)"):
        assert parse_value(text, s)[:2] == (1263.9, True), text


def test_dropped_decimal_point_is_never_clean():
    v, ok, reasons = parse_value("791223", spec(type="decimal", decimals=4))
    assert not ok and "decimal place" in reasons[0]
    v, ok, reasons = parse_value("1264", spec(type="decimal", decimals=1, range=(0, 5000)))
    assert not ok


def test_unit_letters_are_not_turned_into_digits():
    # 's' would read as 5 and 'G' as 6 if the unit were not stripped first
    assert parse_value("2.5 s", spec(type="decimal", unit="s"))[:2] == (2.5, True)
    assert parse_value("3.10 mGy", spec(type="decimal", unit="mGy", decimals=2))[:2] == (3.1, True)
    # without a declared unit, trailing letters make the value invalid rather than wrong
    v, ok, _ = parse_value("120 kV", spec(type="integer"))
    assert not ok


def test_range_regex_allowed_and_floor():
    s = spec(type="integer", range=(60, 150))
    assert parse_value("220", s)[1] is False
    v, ok, reasons = parse_value("120", s, confidence=0.55, floor=0.8)
    assert v == 120 and not ok and "below floor" in reasons[0]
    assert parse_value("120", spec(type="integer", confidence_floor=0.5), confidence=0.55, floor=0.8)[1]
    assert parse_value("P0012345", spec(type="code", regex=r"P\d{7}"))[1]
    assert not parse_value("P001234", spec(type="code", regex=r"P\d{7}"))[1]
    assert not parse_value("AB-12", spec(type="code", allowed="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))[1]


def test_thousands_separator_is_ambiguous_for_integers():
    v, ok, reasons = parse_value("1,234", spec(type="integer"))
    assert not ok and "separator" in reasons[0]


@pytest.mark.parametrize("text", ["2024-03-05", "2024/03/05", "2024.3.5", "2024年3月5日", "20240305", "2O24-03-O5"])
def test_dates(text):
    assert parse_value(text, spec(type="date"))[:2] == (dt.date(2024, 3, 5), True)


def test_bad_date_and_format():
    assert not parse_value("2024-13-05", spec(type="date"))[1]
    assert parse_value("05/03/2024", spec(type="date", format="%d/%m/%Y"))[0] == dt.date(2024, 3, 5)


def test_time_and_datetime():
    assert parse_value("08:05:09", spec(type="time"))[0] == dt.time(8, 5, 9)
    assert parse_value("8:05", spec(type="time"))[0] == dt.time(8, 5)
    assert not parse_value("25:00", spec(type="time"))[1]
    assert parse_value("2024-03-05 08:05:09", spec(type="datetime"))[0] == dt.datetime(2024, 3, 5, 8, 5, 9)
    assert parse_value("2024-03-0508:05", spec(type="datetime"))[0] == dt.datetime(2024, 3, 5, 8, 5)


def test_enum_and_text():
    s = spec(type="enum", choices=["头部", "胸部", "Chest"])
    assert parse_value("胸部", s)[:2] == ("胸部", True)
    assert parse_value("chest", s)[:2] == ("Chest", True)
    assert not parse_value("胸", s)[1]
    assert parse_value("  张 三 ", spec(type="text"))[0] == "张三"
    assert parse_value("LI^ NA", spec(type="text"))[0] == "LI^NA"
    assert parse_value("Dual  Spiral", spec(type="text"))[0] == "Dual Spiral"


def test_empty_required_and_optional():
    assert parse_value("", spec(type="integer")) == (None, False, ["empty: no text read"])
    assert parse_value(" ", spec(type="integer", required=False)) == (None, True, [])


def test_confusions_can_be_turned_off_or_replaced():
    assert not parse_value("12O", spec(type="integer", confusions=False))[1]
    assert parse_value("12#", spec(type="integer", confusions={"#": "0"}))[0] == 120


def test_format_dates_forgive_separators_but_not_lost_digits():
    s = spec(type="datetime", format="%Y/%m/%d %H:%M")
    for text in ("2025/03/12 09:23", "2025/03/12 09 23", "2025/03/12 09.23", "2025/03/1209:23"):
        assert parse_value(text, s)[:2] == (dt.datetime(2025, 3, 12, 9, 23), True), text
    for text in ("2025/03/12 09:2", "2025/3/12 09:23", "2025/03/12"):
        assert not parse_value(text, s)[1], text
    assert not parse_value("2024-03-5", spec(type="date"))[1]      # padded month, unpadded day
    assert parse_value("2024-3-5", spec(type="date"))[0] == dt.date(2024, 3, 5)


def test_month_names_keep_their_letters():
    assert parse_value("05 Oct 2024", spec(type="date", format="%d %b %Y"))[0] == dt.date(2024, 10, 5)
