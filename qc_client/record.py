"""The record schema `qcedge.record/1`: what a station sends to the central QC engine."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = "qcedge.record/1"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class FieldValue(BaseModel):
    """One field as read: typed value, raw text, confidence, validity, reasons.

    For a table field, `rows` holds one mapping of column -> FieldValue per row.
    """

    model_config = ConfigDict(extra="forbid")

    value: Any = None
    text: str = ""
    confidence: float = 1.0
    valid: bool = True
    reasons: list[str] = Field(default_factory=list)
    personal: bool = False
    rows: list[dict[str, "FieldValue"]] | None = None


class CheckValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    ok: bool
    message: str = ""


class TemplateRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: str


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frame_sha256: str | None = None
    crops: dict[str, str] = Field(default_factory=dict)  # field name -> base64 PNG, only if allowed


class Record(BaseModel):
    """A structured QC record from one screen (or one DICOM object)."""

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["qcedge.record/1"] = Field(default=SCHEMA, alias="schema")
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    station: str
    site: str
    source: str
    kind: Literal["screen", "dicom", "http"] = "screen"
    modality: str | None = None
    template: TemplateRef | None = None
    captured_at: datetime = Field(default_factory=_now)
    identity: str | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    checks: list[CheckValue] = Field(default_factory=list)
    status: Literal["complete", "needs_review"] = "complete"
    evidence: Evidence = Field(default_factory=Evidence)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, data: str | bytes) -> "Record":
        return cls.model_validate_json(data)


def summarize(record: Record, max_values: int = 6) -> dict[str, Any]:
    """A record's non-personal gist: ids, template, status and a few scalar values."""
    values: dict[str, Any] = {}
    for name, fv in record.fields.items():
        if len(values) >= max_values:
            break
        if fv.personal or fv.rows is not None or fv.value is None or isinstance(fv.value, (dict, list)):
            continue
        values[name] = fv.value
    return {"station": record.station, "site": record.site, "record_id": record.id,
            "template": f"{record.template.id}@{record.template.version}" if record.template else None,
            "modality": record.modality, "status": record.status, "values": values}
