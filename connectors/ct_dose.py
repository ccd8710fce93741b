"""The CT dose model: one irradiation event, a dose report, and what a dose SR is written about
(the study and patient, the CT as device observer, the station that writes it).

Both directions use it: `dose_sr` reads an RDSR into a `DoseReport` of `CtEvent`s; `rdsr`
builds one from a dose screen's record, read into `CtEvent`s by `dose_record`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from typing import Any

from qcedge.connectors.sr_codes import Code

XRAY_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
_NAMESPACE = uuid.UUID("0b7c6f0e-4e0c-4f7e-9d43-7a1c8a5e2d10")  # qcedge's namespace for derived UIDs


def derived_uid(*parts: str) -> str:
    """A stable UID (2.25 form) derived from `parts`: same inputs, same UID."""
    return f"2.25.{uuid.uuid5(_NAMESPACE, '|'.join(parts)).int}"


@dataclass(slots=True)
class CtEvent:
    """One CT irradiation event (one acquisition / series on a dose screen); units: kV, mA, mAs,
    s, mm, mGy, mGy.cm. Text values as shown (a screen) or as the SR's code meaning (an SR)."""

    series_number: str | None = None
    protocol: str | None = None
    target_region: str | None = None
    acquisition_type: str | None = None
    event_uid: str | None = None
    kv: float | None = None
    ma: float | None = None
    max_ma: float | None = None
    mas: float | None = None
    rotation_time: float | None = None
    exposure_time: float | None = None
    scan_length: float | None = None
    pitch: float | None = None
    collimation_single: float | None = None
    collimation_total: float | None = None
    ctdivol: float | None = None
    dlp: float | None = None
    phantom: str | None = None
    ssde: float | None = None

    NUMBERS = ("kv", "ma", "max_ma", "mas", "rotation_time", "exposure_time", "scan_length", "pitch",
               "collimation_single", "collimation_total", "ctdivol", "dlp", "ssde")

    def has_dose_values(self) -> bool:
        """Whether the event shows any of CTDIvol, DLP, kV, mAs or mA (else it is no acquisition)."""
        return any(getattr(self, k) is not None for k in ("ctdivol", "dlp", "kv", "mas", "ma"))

    def label(self, index: int) -> str:
        """How notes name the event: its protocol, else its series, else its place."""
        return self.protocol or (f"series {self.series_number}" if self.series_number else f"acquisition {index + 1}")


def event_columns(ev: CtEvent) -> dict[str, Any]:
    """The event as the record's `series` table row (only the values present)."""
    return {f.name: getattr(ev, f.name) for f in fields(CtEvent) if getattr(ev, f.name) is not None}


@dataclass(slots=True)
class DoseReport:
    """What a dose SR says, in plain values (units: mGy, mGy.cm, kV, mA, mAs, s, mm)."""

    kind: str  # "CT" or "XR" (projection)
    total_dlp: float | None = None
    total_events: int | None = None
    total_dap: float | None = None  # Gy.m2
    events: list[CtEvent] = field(default_factory=list)
    event_daps: list[float | None] = field(default_factory=list)
    observer: dict[str, str] = field(default_factory=dict)
    procedure: str | None = None
    start: str | None = None
    sources_of_dose: list[str] = field(default_factory=list)


@dataclass
class StudyContext:
    """What the screen may lack, filled in from a worklist or PACS query (or given)."""

    study_instance_uid: str | None = None
    accession_number: str | None = None
    patient_name: str | None = None
    patient_id: str | None = None
    patient_birth_date: str | None = None  # YYYYMMDD
    patient_sex: str | None = None
    study_id: str | None = None
    study_description: str | None = None
    referring_physician: str | None = None
    patient_age: str | None = None  # DICOM AS: "045Y"
    patient_weight: float | None = None  # kg
    patient_size: float | None = None  # m
    admitting_diagnoses: str | None = None
    procedure_codes: list[Code] = field(default_factory=list)
    admitting_codes: list[Code] = field(default_factory=list)
    referenced_pps: list[tuple[str, str]] = field(default_factory=list)  # (SOP class, SOP instance) of the MPPS
    source: str | None = None  # where this came from, named in the SR's comment

    def merged(self, other: "StudyContext") -> "StudyContext":
        """This context with its gaps filled from `other` (this one wins where both have a value)."""
        out = StudyContext()
        for f in fields(StudyContext):
            mine = getattr(self, f.name)
            setattr(out, f.name, mine if mine not in (None, "", []) else getattr(other, f.name))
        return out


@dataclass
class DeviceObserver:
    """The CT the dose was read from (TID 1004 Device Observer). The station config (or a DICOM
    screen save's header) gives these; the host name of the station is not the CT's name."""

    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    location: str | None = None
    uid: str | None = None


@dataclass
class ReportingStation:
    """The equipment that writes the SR: this kit, on the station (Enhanced General Equipment)."""

    manufacturer: str = "qcedge"
    model: str = "qcedge dose reporting station"
    serial: str = "0"
    software: str = "qcedge"
    institution: str | None = None
