"""Value types as the editors show them (translated; the YAML keeps the English key), and numbers typed into forms."""
from __future__ import annotations

VALUE_TYPES = ["text", "integer", "decimal", "date", "time", "datetime", "enum", "code"]


def type_name(value_type: str) -> str:
    """A value type as shown (translated); the YAML keeps the English key."""
    from PySide6.QtCore import QCoreApplication

    names = {"text": QCoreApplication.translate("types", "text"),
             "integer": QCoreApplication.translate("types", "integer"),
             "decimal": QCoreApplication.translate("types", "decimal"),
             "date": QCoreApplication.translate("types", "date"), "time": QCoreApplication.translate("types", "time"),
             "datetime": QCoreApplication.translate("types", "date and time"),
             "enum": QCoreApplication.translate("types", "choice (enum)"),
             "code": QCoreApplication.translate("types", "code (ID, number as text)")}
    return names.get(value_type, value_type)



def parse_number(text: str) -> float | int | None:
    """A number typed into a form: int when written without a point, None when empty (ValueError: not a number)."""
    text = text.strip()
    if not text:
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value



def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
