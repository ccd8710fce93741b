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

from connectors import sr_codes as C
from connectors.errors import RdsrError
from connectors.sr_tree import (
    code_item, coded_item, container, datetime_item, num_item, text_item, uid_item,
)
from qc_client.record import FieldValue, Record

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
            raise ValueError(f"unknown dose field mapping keys: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
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

def _observer_context(r: _Reader, station: str) -> list[Dataset]:
    name = r.text("station_name") or station
    items = [
        coded_item("HAS OBS CONTEXT", C.OBSERVER_TYPE, C.DEVICE),
        uid_item("HAS OBS CONTEXT", C.DEVICE_OBSERVER_UID, derived_uid("device", name)),
        text_item("HAS OBS CONTEXT", C.DEVICE_OBSERVER_NAME, name[:64]),
    ]
    for key, code in (("manufacturer", C.DEVICE_OBSERVER_MANUFACTURER), ("model", C.DEVICE_OBSERVER_MODEL),
                      ("device_serial", C.DEVICE_OBSERVER_SERIAL)):
        value = r.text(key)
        if value:
            items.append(text_item("HAS OBS CONTEXT", code, value[:64]))
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
    allow_review: bool = False,
    now: datetime | None = None,
) -> Dataset:
    """An X-Ray Radiation Dose SR (TID 10011) for the CT dose values in `record`.

    Raises RdsrError when the record has no acquisitions with dose values, or needs review
    (unless `allow_review`). The dataset has file meta and can be saved with `write_rdsr`.
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
    if record.status == "needs_review" and not review:
        review.append("record marked needs_review")
    if review and not allow_review:
        raise RdsrError(f"record {record.id} needs review before a dose report is sent: " + "; ".join(review))

    exam = _exam_datetime(r, record.captured_at)
    if exam.tzinfo is not None:
        exam = exam.astimezone()  # local wall time, as the console showed it
    study_uid = study.study_instance_uid or r.text("study_instance_uid") or derived_uid("study", record.station, record.id)
    notes: list[str] = []
    event_items = [
        _event_item(ev, derived_uid("event", record.id, str(i)), notes, i) for i, ev in enumerate(events)
    ]
    root_items: list[Dataset] = [
        coded_item("HAS CONCEPT MOD", C.PROCEDURE_REPORTED, C.CT_PROCEDURE, items=[
            coded_item("HAS CONCEPT MOD", C.HAS_INTENT, C.DIAGNOSTIC_INTENT),
        ]),
        *_observer_context(r, record.station),
        datetime_item("HAS OBS CONTEXT", C.START_IRRADIATION, exam),
        datetime_item("HAS OBS CONTEXT", C.END_IRRADIATION, exam),
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
    ds.SOPInstanceUID = derived_uid("rdsr", record.station, record.id)
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    ds.TimezoneOffsetFromUTC = now.strftime("%z")
    # Patient
    ds.PatientName = _pn(study.patient_name or r.text("patient_name"))
    ds.PatientID = (study.patient_id or r.text("patient_id") or "")[:64]
    ds.PatientBirthDate = study.patient_birth_date or _da(r.value("patient_birth_date"))
    sex = (study.patient_sex or r.text("patient_sex") or "").upper()[:1]
    ds.PatientSex = {"男": "M", "女": "F"}.get(sex, sex if sex in ("M", "F", "O") else "")
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
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
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
    ds.PerformedProcedureCodeSequence = Sequence([])
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
