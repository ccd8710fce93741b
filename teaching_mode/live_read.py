"""Read taught fields on the teaching frame exactly as the daemon would (no Qt here).

Each field is read through `ocr_templates.read.read_screen` with a one-field template and
an identity match (the teaching frame is the reference), so what the integrator sees is
what the station will produce.
"""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from qcedge.ocr_templates.loader import parse_template
from qcedge.ocr_templates.results import FieldResult, MatchResult, ScreenReading

log = logging.getLogger(__name__)


def identity_match(template_id: str) -> MatchResult:
    return MatchResult(template_id=template_id, score=1.0, matched=True, scale=1.0, offset=(0.0, 0.0))


def error_result(name: str, message: str, box: list[int] | None = None) -> FieldResult:
    return FieldResult(name=name, text="", value=None, confidence=0.0, valid=False, reasons=[message],
                       box=tuple(box) if box else None)


def read_fields(image: np.ndarray, data: dict[str, Any], names: Iterable[str], engine: Any = None) -> dict[str, FieldResult]:
    """Read the named fields of template mapping `data` on `image` (reference coordinates)."""
    from qcedge.ocr_templates.read import read_screen

    fields = {f["name"]: f for f in data.get("fields", [])}
    out: dict[str, FieldResult] = {}
    for name in names:
        spec = fields.get(name)
        if spec is None:
            continue
        sub = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("fields", "checks", "identity")}
        sub["fields"] = [copy.deepcopy(spec)]
        if not sub.get("anchors"):
            # a template needs an anchor; the live read does not match, so any region will do
            sub["anchors"] = [{"name": "_live", "box": list(spec["box"])}]
        try:
            template = parse_template(sub, "<live>")
        except Exception as exc:  # noqa: BLE001 - shown to the integrator as the field's problem
            out[name] = error_result(name, str(exc).removeprefix("<live>: "), spec.get("box"))
            continue
        try:
            reading = read_screen(image, template, match=identity_match(template.id), engine=engine)
        except Exception as exc:  # noqa: BLE001
            log.warning("live read of a field failed: %s", type(exc).__name__)
            out[name] = error_result(name, f"read failed: {exc}", spec.get("box"))
            continue
        if name in reading.fields:
            out[name] = reading.fields[name]
    return out


def read_all(image: np.ndarray, data: dict[str, Any], engine: Any = None) -> ScreenReading:
    """Read the whole template on its own teaching frame (checks included)."""
    from qcedge.ocr_templates.read import read_screen

    template = parse_template(data, "<taught template>")
    t0 = time.perf_counter()
    reading = read_screen(image, template, match=identity_match(template.id), engine=engine)
    log.debug("read %d fields in %.0f ms", len(reading.fields), 1000 * (time.perf_counter() - t0))
    return reading


def format_value(result: FieldResult) -> str:
    """A short display form of a typed value (tables: row count)."""
    if result.rows is not None:
        return f"{len(result.rows)} rows"
    value = result.value
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
