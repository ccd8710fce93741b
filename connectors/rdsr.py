"""A CT Radiation Dose SR built from an OCR'd dose screen, as a "dose reporting station" does
(PS3.17 AA.3.2): X-Ray Radiation Dose SR, TID 10011 with TID 10012 (accumulated DLP) and one
TID 10013 per acquisition (CTDIvol, DLP, kV, tube current and mAs, phantom).

The record's field names come from the screen's template; `DoseFieldMap` says which names to
look for (defaults cover the sample CT template and common variants; a station can override
them). Values the screen does not show but TID 10013 requires (exposure time, scanning length,
collimation) are written as NUM items with the qualifier "Value unknown", and "Source of Dose
Information" says "Derived From Human-Readable Reports".

A record that needs review is refused (RdsrError) unless `allow_review=True`: then the SR is
written with Completion Flag PARTIAL and a comment naming what needs review. A wrong dose figure
that looks right must never reach the PACS as a clean one.
"""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field, fields as dc_fields
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from qcedge.connectors import sr_codes as C
from qcedge.connectors.errors import ConnectorConfigError, RdsrError
from qcedge.connectors.sr_tree import (
    code_item, coded_item, container, datetime_item, num_item, text_item, uid_item,
)
from qcedge.qc_client.record import FieldValue, Record

XRAY_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
_NAMESPACE = uuid.UUID("0b7c6f0e-4e0c-4f7e-9d43-7a1c8a5e2d10")  # qcedge's namespace for derived UIDs


def derived_uid(*parts: str) -> str:
    """A stable UID (2.25 form) derived from `parts`: same inputs, same UID."""
    return f"2.25.{uuid.uuid5(_NAMESPACE, '|'.join(parts)).int}"


@dataclass
class DoseFieldMap:
    """Which record field (or table column) names hold each value; the first present wins.

    Names compare case-insensitively. Override any entry, e.g. from a station's TOML:
    `DoseFieldMap.from_mapping({"total_dlp": ["dlp_gesamt"], "kv": ["kv", "spannung"]})`.
    """

    # record fields
    total_dlp: list[str] = field(default_factory=lambda: ["total_dlp", "dlp_total", "total_dlp_mgycm", "total"])
    series: list[str] = field(default_factory=lambda: ["series", "acquisitions", "events", "dose_table", "scans"])
    total_events: list[str] = field(default_factory=lambda: ["total_events", "series_count", "event_count"])
    patient_name: list[str] = field(default_factory=lambda: ["patient_name", "name"])
    patient_id: list[str] = field(default_factory=lambda: ["patient_id", "mrn", "patient_number"])
    patient_birth_date: list[str] = field(default_factory=lambda: ["patient_birth_date", "birth_date", "dob"])
    patient_sex: list[str] = field(default_factory=lambda: ["patient_sex", "sex", "gender"])
    accession_number: list[str] = field(default_factory=lambda: ["accession_number", "accession", "acc_no"])
    study_instance_uid: list[str] = field(default_factory=lambda: ["study_instance_uid", "study_uid"])
    exam_datetime: list[str] = field(default_factory=lambda: ["exam_datetime", "study_datetime", "scan_datetime", "exam_time"])
    exam_date: list[str] = field(default_factory=lambda: ["exam_date", "study_date", "scan_date", "date"])
    exam_clock: list[str] = field(default_factory=lambda: ["exam_clock", "study_time", "scan_time", "time"])
    exam_end: list[str] = field(default_factory=lambda: ["exam_end", "end_of_irradiation", "end_time", "exam_end_time"])
    patient_age: list[str] = field(default_factory=lambda: ["patient_age", "age"])
    patient_weight: list[str] = field(default_factory=lambda: ["patient_weight", "patient_weight_kg", "weight", "weight_kg"])
    patient_size: list[str] = field(default_factory=lambda: ["patient_size", "patient_height", "height", "height_cm", "size"])
    station_name: list[str] = field(default_factory=lambda: ["station_name", "station", "scanner"])
    manufacturer: list[str] = field(default_factory=lambda: ["manufacturer", "vendor"])
    model: list[str] = field(default_factory=lambda: ["model", "scanner_model"])
    device_serial: list[str] = field(default_factory=lambda: ["device_serial", "serial_number"])
    study_description: list[str] = field(default_factory=lambda: ["study_description", "exam", "exam_name"])
    # table columns (one row per acquisition)
    series_number: list[str] = field(default_factory=lambda: ["series_no", "series_number", "no", "series_nr"])
    protocol: list[str] = field(default_factory=lambda: ["protocol", "series_description", "description", "scan", "series_name", "name"])
    scan_type: list[str] = field(default_factory=lambda: ["scan_type", "type", "acquisition_type", "mode"])
    target_region: list[str] = field(default_factory=lambda: ["target_region", "region", "body_part", "anatomy"])
    kv: list[str] = field(default_factory=lambda: ["kv", "kvp", "kilovolt"])
    ma: list[str] = field(default_factory=lambda: ["ma", "tube_current", "current"])
    max_ma: list[str] = field(default_factory=lambda: ["max_ma", "maximum_ma"])
    mas: list[str] = field(default_factory=lambda: ["mas", "effective_mas", "eff_mas", "ref_mas", "exposure"])
    rotation_time: list[str] = field(default_factory=lambda: ["rotation_time", "rot_time", "rotation"])
    exposure_time: list[str] = field(default_factory=lambda: ["exposure_time", "scan_time_s"])
    scan_length: list[str] = field(default_factory=lambda: ["scan_length", "length"])
    pitch: list[str] = field(default_factory=lambda: ["pitch", "pitch_factor"])
    collimation_single: list[str] = field(default_factory=lambda: ["single_collimation", "slice_collimation"])
    collimation_total: list[str] = field(default_factory=lambda: ["total_collimation", "collimation"])
    ctdivol: list[str] = field(default_factory=lambda: ["ctdivol", "ctdi_vol", "ctdi", "ctdivol_mgy"])
    dlp: list[str] = field(default_factory=lambda: ["dlp", "dlp_mgycm"])
    phantom: list[str] = field(default_factory=lambda: ["phantom", "phantom_type", "ctdi_phantom", "phantom_cm"])

    @classmethod
    def from_mapping(cls, data: Mapping[str, str | list[str]]) -> "DoseFieldMap":
        known = {f.name for f in dc_fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConnectorConfigError(f"unknown dose field mapping keys: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        return cls(**{k: [v] if isinstance(v, str) else list(v) for k, v in data.items()})


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
    procedure_codes: list[tuple[str, str, str]] = field(default_factory=list)  # (value, scheme, meaning)
    admitting_codes: list[tuple[str, str, str]] = field(default_factory=list)
    referenced_pps: list[tuple[str, str]] = field(default_factory=list)  # (SOP class, SOP instance) of the MPPS
    source: str | None = None  # where this came from, named in the SR's comment

    def merged(self, other: "StudyContext") -> "StudyContext":
        """This context with its gaps filled from `other` (this one wins where both have a value)."""
        out = StudyContext()
        for f in dc_fields(StudyContext):
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


@dataclass
class _Event:
    series_number: str | None = None
    protocol: str | None = None
    scan_type: str | None = None
    target_region: str | None = None
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


# --------------------------------------------------------------------------- reading the record

def _lookup(values: Mapping[str, Any], names: list[str]) -> Any:
    lowered = {k.lower(): v for k, v in values.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    match = _NUMBER.search(str(value))
    return float(match.group().replace(",", ".")) if match else None


class _Reader:
    """Takes values out of a record by the mapping and remembers what needs review."""

    def __init__(self, record: Record, mapping: DoseFieldMap) -> None:
        self.record, self.map = record, mapping
        self.review: list[str] = []

    def field(self, key: str) -> FieldValue | None:
        names = getattr(self.map, key)
        lowered = {k.lower(): (k, v) for k, v in self.record.fields.items()}
        for name in names:
            if name.lower() in lowered:
                real, fv = lowered[name.lower()]
                if not fv.valid and (fv.reasons or fv.rows is None):  # a table's cells say why themselves
                    self.review.append(f"{real}: {'; '.join(fv.reasons) or 'marked invalid'}")
                return fv
        return None

    def value(self, key: str) -> Any:
        fv = self.field(key)
        return None if fv is None else fv.value

    def text(self, key: str) -> str | None:
        v = self.value(key)
        return None if v in (None, "") else str(v)

    def number(self, key: str) -> float | None:
        return _number(self.value(key))

    def cell(self, row: Mapping[str, FieldValue], key: str, where: str) -> Any:
        names = getattr(self.map, key)
        lowered = {k.lower(): (k, v) for k, v in row.items()}
        for name in names:
            if name.lower() in lowered:
                real, fv = lowered[name.lower()]
                if isinstance(fv, FieldValue):
                    if not fv.valid:
                        self.review.append(f"{where}.{real}: {'; '.join(fv.reasons) or 'marked invalid'}")
                    return fv.value
                return fv
        return None

    def events(self) -> list[_Event]:
        table = self.field("series")
        if table is None:
            return []
        rows: list[Mapping[str, Any]]
        if table.rows is not None:
            rows = table.rows
        elif isinstance(table.value, list):
            rows = [{k: FieldValue(value=v) for k, v in r.items()} for r in table.value if isinstance(r, dict)]
        else:
            return []
        out: list[_Event] = []
        numeric = {"kv", "ma", "max_ma", "mas", "rotation_time", "exposure_time", "scan_length", "pitch",
                   "collimation_single", "collimation_total", "ctdivol", "dlp"}
        for i, row in enumerate(rows):
            ev = _Event()
            for f in dc_fields(_Event):
                raw = self.cell(row, f.name, f"series[{i}]")
                if f.name in numeric:
                    setattr(ev, f.name, _number(raw))
                elif raw not in (None, ""):
                    setattr(ev, f.name, str(raw))
            if any(getattr(ev, k) is not None for k in ("ctdivol", "dlp", "kv", "mas", "ma")):
                out.append(ev)
        return out


def _exam_datetime(r: _Reader, fallback: datetime) -> datetime:
    value = r.value("exam_datetime")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    d, t = r.value("exam_date"), r.value("exam_clock")
    try:
        if isinstance(d, str):
            d = date.fromisoformat(d)
        if isinstance(t, str):
            t = time.fromisoformat(t)
        if isinstance(d, date):
            return datetime.combine(d, t if isinstance(t, time) else time(0, 0))
    except ValueError:
        pass
    return fallback


def _exam_end(r: _Reader, start: datetime) -> datetime | None:
    """The end of irradiation the screen shows (a date-time, or a clock time on the start's day)."""
    value = r.value("exam_end")
    try:
        if isinstance(value, datetime):
            end = value
        elif isinstance(value, time):
            end = datetime.combine(start.date(), value)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            end = datetime.combine(start.date(), time.fromisoformat(text)) if len(text) <= 8 else datetime.fromisoformat(text)
        else:
            return None
    except ValueError:
        return None
    if end.tzinfo is None and start.tzinfo is not None:
        end = end.replace(tzinfo=start.tzinfo)
    elif end.tzinfo is not None and start.tzinfo is None:
        end = end.astimezone().replace(tzinfo=None)
    return end


def age_at(birth_date: str | None, when: date) -> str | None:
    """DICOM AS ('045Y') from a YYYYMMDD birth date at `when`; None if unknown or implausible."""
    try:
        born = datetime.strptime(birth_date or "", "%Y%m%d").date()
    except ValueError:
        return None
    years = when.year - born.year - ((when.month, when.day) < (born.month, born.day))
    if years >= 1:
        return f"{min(years, 999):03d}Y" if years < 1000 else None
    months = (when.year - born.year) * 12 + when.month - born.month - (when.day < born.day)
    if months >= 1:
        return f"{months:03d}M"
    days = (when - born).days
    return f"{days:03d}D" if days >= 0 else None


_AGE = re.compile(r"^\d{3}[DWMY]$")


def _age(text: str | None) -> str | None:
    """'45', '45Y', '045Y', '45岁' -> '045Y'; None when it cannot be an age."""
    if not text:
        return None
    t = text.strip().upper().replace("岁", "Y").replace(" ", "")
    if _AGE.match(t):
        return t
    m = re.match(r"^(\d{1,3})([DWMY]?)$", t)
    return f"{int(m.group(1)):03d}{m.group(2) or 'Y'}" if m else None


def review_reasons(record: Record) -> list[str]:
    """Why a record needs review: every invalid field and table cell (with its reasons) and
    every failed check, named."""
    out: list[str] = []
    for name, fv in record.fields.items():
        if fv.rows is not None:
            for i, row in enumerate(fv.rows):
                for col, cell in row.items():
                    if isinstance(cell, FieldValue) and not cell.valid:
                        out.append(f"{name}[{i}].{col}: {'; '.join(cell.reasons) or 'marked invalid'}")
            if not fv.valid and fv.reasons:
                out.append(f"{name}: {'; '.join(fv.reasons)}")
        elif not fv.valid:
            out.append(f"{name}: {'; '.join(fv.reasons) or 'marked invalid'}")
    out += [f"check {c.name}: {c.message or 'failed'}" for c in record.checks if not c.ok]
    return out


def screen_text(record: Record, key: str, mapping: DoseFieldMap | None = None) -> str | None:
    """The text of one DoseFieldMap entry (e.g. "patient_name") as the screen shows it."""
    return _Reader(record, mapping or DoseFieldMap()).text(key)


def same_person_name(a: str, b: str) -> bool:
    """Whether two person names are the same name written differently ('ZHANG^SAN' and
    'Zhang San', '张三' and '张^三'): compared without case, separators and ideographic groups."""
    def norm(name: str) -> str:
        first = name.split("=")[0] or name
        return re.sub(r"[\s^,.\-]+", "", first).casefold()
    return norm(a) == norm(b)


def study_from_dataset(ds: Dataset, source: str) -> tuple[StudyContext, DeviceObserver]:
    """The study, patient and device a DICOM object (a CT's screen save) carries."""
    def text(keyword: str) -> str | None:
        value = ds.get(keyword)
        return str(value).strip() or None if value not in (None, "") else None

    def number(keyword: str) -> float | None:
        try:
            value = ds.get(keyword)
            return float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    study = StudyContext(
        study_instance_uid=text("StudyInstanceUID"), accession_number=text("AccessionNumber"),
        patient_name=text("PatientName"), patient_id=text("PatientID"), patient_birth_date=text("PatientBirthDate"),
        patient_sex=text("PatientSex"), study_id=text("StudyID"), study_description=text("StudyDescription"),
        referring_physician=text("ReferringPhysicianName"), patient_age=text("PatientAge"),
        patient_weight=number("PatientWeight"), patient_size=number("PatientSize"),
        admitting_diagnoses=text("AdmittingDiagnosesDescription"), source=source,
    )
    device = DeviceObserver(name=text("StationName"), manufacturer=text("Manufacturer"),
                            model=text("ManufacturerModelName"), serial=text("DeviceSerialNumber"))
    return study, device


def exam_context(record: Record, mapping: DoseFieldMap | None = None) -> tuple[str | None, datetime]:
    """(patient ID, exam time) as the screen shows them: what a worklist query needs."""
    r = _Reader(record, mapping or DoseFieldMap())
    return r.text("patient_id"), _exam_datetime(r, record.captured_at)


# --------------------------------------------------------------------------- interpreting values

def phantom_code(text: str | None, protocol: str | None, region: str | None) -> tuple[C.Code, bool]:
    """(phantom code, inferred?) from '16', '32 cm', 'Head', 'BODY32', '头部'..."""
    if text:
        t = text.lower()
        if "16" in t or "head" in t or "头" in t:
            return C.HEAD_PHANTOM, False
        if "32" in t or "body" in t or "体" in t:
            return C.BODY_PHANTOM, False
    hint = f"{protocol or ''} {region or ''}".lower()
    if any(w in hint for w in ("head", "brain", "skull", "头", "颅", "脑")):
        return C.HEAD_PHANTOM, True
    return C.BODY_PHANTOM, True


def acquisition_type(text: str | None, protocol: str | None) -> tuple[C.Code, bool]:
    """(CT acquisition type code, inferred?) from the screen's scan type or the protocol name."""
    for candidate, inferred in ((text, False), (protocol, True)):
        if not candidate:
            continue
        t = candidate.lower().replace("-", "_").replace(" ", "_")
        for key, code in C.ACQUISITION_TYPES.items():
            if key in t:
                return code, inferred
        if any(w in candidate for w in ("定位", "平扫定位")):
            return C.CONSTANT_ANGLE, inferred
        if "螺旋" in candidate:
            return C.SPIRAL, inferred
        if "轴扫" in candidate or "序列" in candidate:
            return C.SEQUENCED, inferred
    return C.SPIRAL, True


def region_code(text: str | None, protocol: str | None) -> tuple[C.Code, bool]:
    """(target region code, inferred?) from the screen's region or the protocol name."""
    code = _region(text, protocol)
    if code is None:
        return C.UNKNOWN_REGION, True
    return code, not text


def _region(text: str | None, protocol: str | None) -> C.Code | None:
    for candidate in (text, protocol):
        if not candidate:
            continue
        t = candidate.lower()
        if "chest" in t and "abd" in t and "pelv" in t:
            return C.TARGET_REGIONS["chest_abdomen_pelvis"]
        if "abd" in t and "pelv" in t:
            return C.TARGET_REGIONS["abdomen_pelvis"]
        for key, code in C.TARGET_REGIONS.items():
            if key.split("_")[0] in t:
                return code
        for word, key in (("胸", "chest"), ("腹", "abdomen"), ("盆", "pelvis"), ("头", "head"), ("颅", "head"),
                          ("颈", "neck"), ("脊", "spine"), ("thor", "chest"), ("lung", "chest"), ("skull", "head")):
            if word in t:
                return C.TARGET_REGIONS[key]
    return None


# --------------------------------------------------------------------------- building the SR

def _observer_context(r: _Reader, device: DeviceObserver, station: str, notes: list[str]) -> list[Dataset]:
    """TID 1002/1004: the CT console as the device observer, from `device` (station config or
    the screen save's header), else from the screen; its name falls back to the station id."""
    manufacturer = device.manufacturer or r.text("manufacturer")
    model = device.model or r.text("model")
    serial = device.serial or r.text("device_serial")
    name = device.name or r.text("station_name") or station
    uid = device.uid or derived_uid("device", manufacturer or "", model or "", serial or "", name)
    items = [
        coded_item("HAS OBS CONTEXT", C.OBSERVER_TYPE, C.DEVICE),
        uid_item("HAS OBS CONTEXT", C.DEVICE_OBSERVER_UID, uid),
        text_item("HAS OBS CONTEXT", C.DEVICE_OBSERVER_NAME, name[:64]),
    ]
    for value, code in ((manufacturer, C.DEVICE_OBSERVER_MANUFACTURER), (model, C.DEVICE_OBSERVER_MODEL),
                        (serial, C.DEVICE_OBSERVER_SERIAL), (device.location, C.DEVICE_OBSERVER_LOCATION)):
        if value:
            items.append(text_item("HAS OBS CONTEXT", code, value[:64]))
    missing = [w for w, v in (("manufacturer", manufacturer), ("model", model)) if not v]
    if missing:
        notes.append(f"Device observer {' and '.join(missing)} not known (set them in the station config)")
    return items


def _event_item(ev: _Event, uid: str, notes: list[str], index: int) -> Dataset:
    label = ev.protocol or (f"series {ev.series_number}" if ev.series_number else f"acquisition {index + 1}")
    atype, atype_inferred = acquisition_type(ev.scan_type, ev.protocol)
    if atype_inferred:
        notes.append(f"{label}: acquisition type {atype[2]} assumed")
    region, region_inferred = region_code(ev.target_region, ev.protocol)
    if region_inferred:
        notes.append(f"{label}: target region {region[2]} " + ("from the protocol name" if ev.protocol and region != C.UNKNOWN_REGION else "assumed (not shown)"))
    ma, max_ma = ev.ma, ev.max_ma
    if ma is None and ev.mas is not None and ev.rotation_time:
        ma = round(ev.mas / ev.rotation_time, 2)
    if max_ma is None:
        max_ma = ma
    source = [
        text_item("CONTAINS", C.SOURCE_ID, "A"),
        num_item("CONTAINS", C.KVP, ev.kv, "kV"),
        num_item("CONTAINS", C.MAX_TUBE_CURRENT, max_ma, "mA"),
        num_item("CONTAINS", C.TUBE_CURRENT, ma, "mA"),
    ]
    if atype not in (C.CONSTANT_ANGLE, C.STATIONARY, C.FREE):
        source.append(num_item("CONTAINS", C.ROTATION_TIME, ev.rotation_time, "s"))
    if ev.mas is not None:
        source.append(num_item("CONTAINS", C.EXPOSURE, ev.mas * 1000.0, "uA.s"))
    params = [
        num_item("CONTAINS", C.EXPOSURE_TIME, ev.exposure_time, "s"),
        num_item("CONTAINS", C.SCANNING_LENGTH, ev.scan_length, "mm"),
        num_item("CONTAINS", C.SINGLE_COLLIMATION, ev.collimation_single, "mm"),
        num_item("CONTAINS", C.TOTAL_COLLIMATION, ev.collimation_total, "mm"),
    ]
    if atype == C.SPIRAL:
        params.append(num_item("CONTAINS", C.PITCH_FACTOR, ev.pitch, "ratio"))
    params += [
        num_item("CONTAINS", C.NUMBER_OF_SOURCES, 1, "sources"),
        container("CONTAINS", C.SOURCE_PARAMETERS, source),
    ]
    items = []
    if ev.protocol:
        items.append(text_item("CONTAINS", C.ACQUISITION_PROTOCOL, ev.protocol[:1024]))
    items += [
        coded_item("CONTAINS", C.TARGET_REGION, region),
        coded_item("CONTAINS", C.CT_ACQUISITION_TYPE, atype),
        uid_item("CONTAINS", C.IRRADIATION_EVENT_UID, uid),
        container("CONTAINS", C.CT_ACQUISITION_PARAMETERS, params),
    ]
    if ev.ctdivol is not None or ev.dlp is not None:
        phantom, inferred = phantom_code(ev.phantom, ev.protocol, ev.target_region)
        if inferred:
            notes.append(f"{label}: phantom {phantom[2]} assumed")
        items.append(container("CONTAINS", C.CT_DOSE, [
            num_item("CONTAINS", C.MEAN_CTDIVOL, ev.ctdivol, "mGy"),
            coded_item("CONTAINS", C.PHANTOM_TYPE, phantom),
            num_item("CONTAINS", C.DLP, ev.dlp, "mGy.cm"),
        ]))
    return container("CONTAINS", C.CT_ACQUISITION, items, template="10013")


def _pn(value: str | None) -> str:
    """A person name as shown. Without '^' the whole name is taken as the family name
    ('张三' -> '张三^'): the screen does not say where family and given names split."""
    text = (value or "").strip()[:63]
    return text if not text or "^" in text or "=" in text else text + "^"


def _da(value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    text = re.sub(r"[^0-9]", "", str(value or ""))
    return text[:8] if len(text) >= 8 else ""


def build_ct_rdsr(
    record: Record,
    *,
    mapping: DoseFieldMap | None = None,
    study: StudyContext | None = None,
    reporter: ReportingStation | None = None,
    device: DeviceObserver | None = None,
    flags: list[str] | None = None,
    allow_review: bool = False,
    now: datetime | None = None,
) -> Dataset:
    """An X-Ray Radiation Dose SR (TID 10011) for the CT dose values in `record`.

    UIDs are derived from the record's identity (the same screen gives the same SOP Instance,
    Series and Study UIDs), unless `study` gives the Study UID (worklist, screen save). `device`
    is the CT as device observer. `flags` are further reasons for review found by the caller
    (e.g. a worklist name that differs from the screen's).

    Raises RdsrError when the record has no acquisitions with dose values, or needs review
    (unless `allow_review`), naming every reason. The dataset has file meta and can be saved
    with `write_rdsr`.
    """
    mapping = mapping or DoseFieldMap()
    study = study or StudyContext()
    reporter = reporter or ReportingStation(serial=record.station)
    now = (now or datetime.now(timezone.utc)).astimezone()
    r = _Reader(record, mapping)
    events = r.events()
    if not events:
        raise RdsrError(f"record {record.id} has no acquisitions with dose values "
                        f"(looked for a table field named {' / '.join(mapping.series)})")
    total_dlp = r.number("total_dlp")
    if total_dlp is None:
        dlps = [e.dlp for e in events if e.dlp is not None]
        if len(dlps) != len(events):
            raise RdsrError(f"record {record.id} shows no total DLP and not every acquisition has a DLP")
        total_dlp = round(sum(dlps), 2)
    failed_checks = [f"check {c.name}: {c.message}" for c in record.checks if not c.ok]
    review = sorted(set(r.review)) + failed_checks
    if record.status == "needs_review":
        review += [reason for reason in review_reasons(record) if reason not in review]
        if not review:
            review.append("the record is marked needs_review, but no field or check says why")
    review += list(flags or [])
    if review and not allow_review:
        raise RdsrError(f"record {record.id} needs review before a dose report is sent: " + "; ".join(review))

    exam = _exam_datetime(r, record.captured_at)
    if exam.tzinfo is not None:
        exam = exam.astimezone()  # local wall time, as the console showed it
    identity = record.identity or record.id  # the screen's identity: the same screen, the same UIDs
    study_uid = study.study_instance_uid or r.text("study_instance_uid") or derived_uid("study", record.station, identity)
    notes: list[str] = []
    if study.source:
        notes.append(f"Study and patient from {study.source}")
    end = _exam_end(r, exam)
    if end is None or end < exam:
        notes.append("End of irradiation not shown on the screen" + (" (or before the start)" if end else "")
                     + ": set to the start")
        end = exam
    event_items = [
        _event_item(ev, derived_uid("event", record.station, identity, str(i)), notes, i) for i, ev in enumerate(events)
    ]
    observer = _observer_context(r, device or DeviceObserver(), record.station, notes)
    root_items: list[Dataset] = [
        coded_item("HAS CONCEPT MOD", C.PROCEDURE_REPORTED, C.CT_PROCEDURE, items=[
            coded_item("HAS CONCEPT MOD", C.HAS_INTENT, C.DIAGNOSTIC_INTENT),
        ]),
        *observer,
        datetime_item("HAS OBS CONTEXT", C.START_IRRADIATION, exam),
        datetime_item("HAS OBS CONTEXT", C.END_IRRADIATION, end),
        coded_item("HAS OBS CONTEXT", C.SCOPE_OF_ACCUMULATION, C.STUDY, items=[
            uid_item("HAS PROPERTIES", C.STUDY_INSTANCE_UID, study_uid),
        ]),
        container("CONTAINS", C.CT_ACCUMULATED, [
            num_item("CONTAINS", C.TOTAL_EVENTS, len(events), "events"),
            num_item("CONTAINS", C.DLP_TOTAL, total_dlp, "mGy.cm"),
        ], template="10012"),
        *event_items,
        coded_item("CONTAINS", C.SOURCE_OF_DOSE, C.FROM_HUMAN_READABLE),
    ]
    comment = []
    if review:
        comment.append("NEEDS REVIEW: " + "; ".join(review))
    if record.template is not None:
        comment.append(f"Read from screen by qcedge template {record.template.id} {record.template.version}")
    comment += notes
    if comment:
        root_items.append(text_item("CONTAINS", C.COMMENT, ". ".join(comment)[:10240]))

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = XRAY_DOSE_SR
    ds.SOPInstanceUID = derived_uid("rdsr", record.station, identity)
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    ds.TimezoneOffsetFromUTC = now.strftime("%z")
    # Patient
    ds.PatientName = _pn(study.patient_name or r.text("patient_name"))
    ds.PatientID = (study.patient_id or r.text("patient_id") or "")[:64]
    ds.PatientBirthDate = study.patient_birth_date or _da(r.value("patient_birth_date"))
    sex = (study.patient_sex or r.text("patient_sex") or "").upper()[:1]
    ds.PatientSex = {"男": "M", "女": "F"}.get(sex, sex if sex in ("M", "F", "O") else "")
    # Patient Study (IHE REM asks for age, size and weight: given where the screen or worklist has them)
    age = _age(study.patient_age) or _age(r.text("patient_age")) or age_at(ds.PatientBirthDate, exam.date())
    if age:
        ds.PatientAge = age
    weight = study.patient_weight if study.patient_weight is not None else r.number("patient_weight")
    if weight is not None and 0 < weight < 1000:
        ds.PatientWeight = f"{weight:.6g}"
    size = study.patient_size if study.patient_size is not None else r.number("patient_size")
    if size is not None and size > 3:  # a screen shows centimetres; DICOM wants metres
        size = size / 100.0
    if size is not None and 0 < size < 3:
        ds.PatientSize = f"{size:.4g}"
    if study.admitting_diagnoses:
        ds.AdmittingDiagnosesDescription = study.admitting_diagnoses[:64]
    if study.admitting_codes:
        ds.AdmittingDiagnosesCodeSequence = Sequence([code_item(c) for c in study.admitting_codes])
    # General Study
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = exam.strftime("%Y%m%d")
    ds.StudyTime = exam.strftime("%H%M%S")
    ds.ReferringPhysicianName = study.referring_physician or ""
    ds.StudyID = (study.study_id or study.accession_number or r.text("accession_number") or "")[:16]
    ds.AccessionNumber = (study.accession_number or r.text("accession_number") or "")[:16]
    description = study.study_description or r.text("study_description")
    if description:
        ds.StudyDescription = description[:64]
    # SR Document Series
    ds.Modality = "SR"
    ds.SeriesInstanceUID = derived_uid("rdsr-series", record.station, study_uid)
    ds.SeriesNumber = 9901
    ds.SeriesDescription = "Radiation Dose Report (from screen)"
    pps = []
    for sop_class, sop_instance in study.referenced_pps:
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_instance
        pps.append(item)
    ds.ReferencedPerformedProcedureStepSequence = Sequence(pps)
    # General and Enhanced General Equipment (the reporting station)
    ds.Manufacturer = reporter.manufacturer
    ds.ManufacturerModelName = reporter.model
    ds.DeviceSerialNumber = reporter.serial[:64] or "0"
    ds.SoftwareVersions = reporter.software
    ds.StationName = record.station[:16]
    if reporter.institution:
        ds.InstitutionName = reporter.institution
    # SR Document General
    ds.InstanceNumber = 1
    ds.CompletionFlag = "PARTIAL" if review else "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.PerformedProcedureCodeSequence = Sequence([code_item(c) for c in study.procedure_codes])
    # SR Document Content: the root container, TID 10011
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([code_item(C.XRAY_DOSE_REPORT)])
    ds.ContinuityOfContent = "SEPARATE"
    tpl = Dataset()
    tpl.MappingResource = "DCMR"
    tpl.TemplateIdentifier = "10011"
    ds.ContentTemplateSequence = Sequence([tpl])
    ds.ContentSequence = Sequence(root_items)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "QCEDGE"
    ds.file_meta = meta
    return ds


def write_rdsr(ds: Dataset, path: str | os.PathLike) -> Path:
    """Write the SR as a DICOM file, fsync'd."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    with open(tmp, "wb") as f:
        ds.save_as(f, enforce_file_format=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target
