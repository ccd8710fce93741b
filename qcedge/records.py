"""Turn what was read from a screen into a feed record (qcedge.record/1)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import numpy as np

from qcedge.json_values import jsonable
from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.results import FieldResult, ScreenReading
from qcedge.qc_client.record import CheckValue, Evidence, FieldValue, Record, TemplateRef


def _field_value(result: FieldResult) -> FieldValue:
    rows = None
    if result.rows is not None:
        rows = [{name: _field_value(cell) for name, cell in row.items()} for row in result.rows]
    return FieldValue(
        value=jsonable(result.value), text=result.text, confidence=round(float(result.confidence), 4),
        valid=result.valid, reasons=list(result.reasons), personal=result.personal, rows=rows,
    )


def identity_of(reading: ScreenReading, template: Template) -> str:
    """A stable digest of the template id and its identity fields' values.

    Without identity fields, all field values form the identity (a screen whose
    values change is a new record).
    """
    names = template.identity or sorted(reading.fields)
    key = {"template": template.id, **{n: jsonable(reading.fields[n].value) if n in reading.fields else None for n in names}}
    return hashlib.sha256(json.dumps(key, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


def frame_digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def record_from_reading(
    reading: ScreenReading,
    template: Template,
    *,
    station: str,
    site: str,
    source: str,
    captured_at: datetime | None = None,
    image: np.ndarray | None = None,
) -> Record:
    """Build the record for one screen reading. Privacy policy is applied afterwards."""
    return Record(
        station=station,
        site=site,
        source=source,
        kind="screen",
        modality=template.modality,
        template=TemplateRef(id=template.id, version=template.version),
        captured_at=captured_at or datetime.now(timezone.utc),
        identity=identity_of(reading, template),
        fields={name: _field_value(result) for name, result in reading.fields.items()},
        checks=[CheckValue(name=c.name, ok=c.ok, message=c.message) for c in reading.checks],
        status=reading.status,
        evidence=Evidence(frame_sha256=frame_digest(image) if image is not None else None),
    )
