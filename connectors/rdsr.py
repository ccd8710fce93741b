"""A CT Radiation Dose SR built from an OCR'd dose screen, as a "dose reporting station" does
(PS3.17 AA.3.2): X-Ray Radiation Dose SR, TID 10011 with TID 10012 (accumulated DLP) and one
TID 10013 per acquisition (CTDIvol, DLP, kV, tube current and mAs, phantom).

The record's field names come from the screen's template; `DoseFieldMap` (connectors.dose_record)
says which names to look for (defaults cover the sample CT template and common variants; a
station can override them). Values the screen does not show but TID 10013 requires (exposure
time, scanning length, collimation) are written as NUM items with the qualifier "Value
unknown", and "Source of Dose Information" says "Derived From Human-Readable Reports".

A record that needs review is refused (RdsrError) unless `allow_review=True`: then the SR is
written with Completion Flag PARTIAL and a comment naming what needs review. A wrong dose figure
that looks right must never reach the PACS as a clean one.

This module builds the SR: one small function per content group and per module of the IOD.
The model is connectors.ct_dose, reading the record connectors.dose_record; their public names
are importable from here too.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from qcedge.connectors import sr_codes as C
from qcedge.connectors.ct_dose import (
    XRAY_DOSE_SR, CtEvent, DeviceObserver, ReportingStation, StudyContext, derived_uid,
)
from qcedge.connectors.dose_record import (
    DoseFieldMap, DoseRecordReader, acquisition_type, age_at, exam_context, exam_end, exam_start, parse_age,
    phantom_code, region_code, review_reasons, same_person_name, screen_text, study_from_dataset,
)
from qcedge.connectors.errors import RdsrError
from qcedge.connectors.sr_tree import (
    code_item, coded_item, container, datetime_item, num_item, text_item, uid_item,
)
from qcedge.qc_client.record import Record

__all__ = [
    "XRAY_DOSE_SR", "DeviceObserver", "DoseFieldMap", "ReportingStation", "StudyContext", "acquisition_type",
    "age_at", "build_ct_rdsr", "derived_uid", "exam_context", "phantom_code", "region_code", "review_reasons",
    "same_person_name", "screen_text", "study_from_dataset", "write_rdsr",
]


@dataclass
class _Sr:
    """What the SR's parts are built from: the record read, the exam and the identity of the SR."""

    record: Record
    read: DoseRecordReader
    study: StudyContext
    reporter: ReportingStation
    now: datetime
    events: list[CtEvent]
    total_dlp: float
    review: list[str]
    exam: datetime = field(init=False)
    identity: str = field(init=False)
    study_uid: str = field(init=False)
    notes: list[str] = field(default_factory=list)  # said in the SR's comment

    def __post_init__(self) -> None:
        exam = exam_start(self.read, self.record.captured_at)
        self.exam = exam.astimezone() if exam.tzinfo is not None else exam  # local wall time, as the console showed it
        self.identity = self.record.identity or self.record.id  # the screen's identity: the same screen, the same UIDs
        self.study_uid = (self.study.study_instance_uid or self.read.text("study_instance_uid")
                          or derived_uid("study", self.record.station, self.identity))
        if self.study.source:
            self.notes.append(f"Study and patient from {self.study.source}")

    def uid(self, kind: str, *more: str) -> str:
        return derived_uid(kind, self.record.station, *more)


# --------------------------------------------------------------------------- what the record gives

def _events_and_total(r: DoseRecordReader, record: Record, mapping: DoseFieldMap) -> tuple[list[CtEvent], float]:
    """The acquisitions and the total DLP (shown, else the sum of the acquisitions'); RdsrError without."""
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
    return events, total_dlp


def _review(r: DoseRecordReader, record: Record, flags: list[str]) -> list[str]:
    """Every reason the record needs review: its invalid values, failed checks and the caller's flags."""
    review = sorted(set(r.review)) + [f"check {c.name}: {c.message}" for c in record.checks if not c.ok]
    if record.status == "needs_review":
        review += [reason for reason in review_reasons(record) if reason not in review]
        if not review:
            review.append("the record is marked needs_review, but no field or check says why")
    return review + list(flags)


# --------------------------------------------------------------------------- content (TID 10011)

def _observer_context(r: DoseRecordReader, device: DeviceObserver, station: str, notes: list[str]) -> list[Dataset]:
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


def _irradiation_times(sr: _Sr) -> list[Dataset]:
    """Start and end of irradiation; an end not shown (or before the start) is the start, noted."""
    end = exam_end(sr.read, sr.exam)
    if end is None or end < sr.exam:
        sr.notes.append("End of irradiation not shown on the screen" + (" (or before the start)" if end else "")
                        + ": set to the start")
        end = sr.exam
    return [datetime_item("HAS OBS CONTEXT", C.START_IRRADIATION, sr.exam),
            datetime_item("HAS OBS CONTEXT", C.END_IRRADIATION, end)]


def _accumulated(sr: _Sr) -> Dataset:
    """TID 10012 CT Accumulated Dose Data."""
    return container("CONTAINS", C.CT_ACCUMULATED, [
        num_item("CONTAINS", C.TOTAL_EVENTS, len(sr.events), "events"),
        num_item("CONTAINS", C.DLP_TOTAL, sr.total_dlp, "mGy.cm"),
    ], template="10012")


def _source_parameters(ev: CtEvent, atype: C.Code) -> Dataset:
    """CT X-Ray Source Parameters: kV, tube currents (mA from mAs and rotation time when not
    shown), rotation time (rotating acquisitions only) and exposure."""
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
    return container("CONTAINS", C.SOURCE_PARAMETERS, source)


def _acquisition_parameters(ev: CtEvent, atype: C.Code) -> Dataset:
    """CT Acquisition Parameters (values not shown are 'Value unknown'); pitch for spirals only."""
    params = [
        num_item("CONTAINS", C.EXPOSURE_TIME, ev.exposure_time, "s"),
        num_item("CONTAINS", C.SCANNING_LENGTH, ev.scan_length, "mm"),
        num_item("CONTAINS", C.SINGLE_COLLIMATION, ev.collimation_single, "mm"),
        num_item("CONTAINS", C.TOTAL_COLLIMATION, ev.collimation_total, "mm"),
    ]
    if atype == C.SPIRAL:
        params.append(num_item("CONTAINS", C.PITCH_FACTOR, ev.pitch, "ratio"))
    params += [num_item("CONTAINS", C.NUMBER_OF_SOURCES, 1, "sources"), _source_parameters(ev, atype)]
    return container("CONTAINS", C.CT_ACQUISITION_PARAMETERS, params)


def _ct_dose(ev: CtEvent, label: str, notes: list[str]) -> Dataset:
    """CT Dose: CTDIvol, its phantom (assumed from the protocol when not shown, noted) and DLP."""
    phantom, inferred = phantom_code(ev.phantom, ev.protocol, ev.target_region)
    if inferred:
        notes.append(f"{label}: phantom {phantom.meaning} assumed")
    return container("CONTAINS", C.CT_DOSE, [
        num_item("CONTAINS", C.MEAN_CTDIVOL, ev.ctdivol, "mGy"),
        coded_item("CONTAINS", C.PHANTOM_TYPE, phantom),
        num_item("CONTAINS", C.DLP, ev.dlp, "mGy.cm"),
    ])


def _event_item(ev: CtEvent, uid: str, notes: list[str], index: int) -> Dataset:
    """TID 10013 CT Irradiation Event Data for one acquisition; what was assumed is noted."""
    label = ev.label(index)
    atype, atype_inferred = acquisition_type(ev.acquisition_type, ev.protocol)
    if atype_inferred:
        notes.append(f"{label}: acquisition type {atype.meaning} assumed")
    region, region_inferred = region_code(ev.target_region, ev.protocol)
    if region_inferred:
        notes.append(f"{label}: target region {region.meaning} " + (
            "from the protocol name" if ev.protocol and region != C.UNKNOWN_REGION else "assumed (not shown)"))
    items = [text_item("CONTAINS", C.ACQUISITION_PROTOCOL, ev.protocol[:1024])] if ev.protocol else []
    items += [
        coded_item("CONTAINS", C.TARGET_REGION, region),
        coded_item("CONTAINS", C.CT_ACQUISITION_TYPE, atype),
        uid_item("CONTAINS", C.IRRADIATION_EVENT_UID, uid),
        _acquisition_parameters(ev, atype),
    ]
    if ev.ctdivol is not None or ev.dlp is not None:
        items.append(_ct_dose(ev, label, notes))
    return container("CONTAINS", C.CT_ACQUISITION, items, template="10013")


def _comment(sr: _Sr) -> list[Dataset]:
    """The Comment: what needs review, which template read the screen, and every note."""
    comment = ["NEEDS REVIEW: " + "; ".join(sr.review)] if sr.review else []
    if sr.record.template is not None:
        comment.append(f"Read from screen by qcedge template {sr.record.template.id} {sr.record.template.version}")
    comment += sr.notes
    return [text_item("CONTAINS", C.COMMENT, ". ".join(comment)[:10240])] if comment else []


def _content(sr: _Sr, device: DeviceObserver) -> list[Dataset]:
    """The root container's items (TID 10011), in template order (the notes in the order found)."""
    times = _irradiation_times(sr)
    events = [_event_item(ev, sr.uid("event", sr.identity, str(i)), sr.notes, i) for i, ev in enumerate(sr.events)]
    observer = _observer_context(sr.read, device, sr.record.station, sr.notes)
    items = [
        coded_item("HAS CONCEPT MOD", C.PROCEDURE_REPORTED, C.CT_PROCEDURE, items=[
            coded_item("HAS CONCEPT MOD", C.HAS_INTENT, C.DIAGNOSTIC_INTENT),
        ]),
        *observer,
        *times,
        coded_item("HAS OBS CONTEXT", C.SCOPE_OF_ACCUMULATION, C.STUDY, items=[
            uid_item("HAS PROPERTIES", C.STUDY_INSTANCE_UID, sr.study_uid),
        ]),
        _accumulated(sr),
        *events,
        coded_item("CONTAINS", C.SOURCE_OF_DOSE, C.FROM_HUMAN_READABLE),
    ]
    return items + _comment(sr)


# --------------------------------------------------------------------------- the IOD's modules

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


def _patient(ds: Dataset, sr: _Sr) -> None:
    """Patient module: name, ID, birth date and sex (the study context first, else the screen)."""
    study, r = sr.study, sr.read
    ds.PatientName = _pn(study.patient_name or r.text("patient_name"))
    ds.PatientID = (study.patient_id or r.text("patient_id") or "")[:64]
    ds.PatientBirthDate = study.patient_birth_date or _da(r.value("patient_birth_date"))
    sex = (study.patient_sex or r.text("patient_sex") or "").upper()[:1]
    ds.PatientSex = {"男": "M", "女": "F"}.get(sex, sex if sex in ("M", "F", "O") else "")


def _patient_study(ds: Dataset, sr: _Sr) -> None:
    """Patient Study module (IHE REM asks for age, size and weight: given where the screen or
    worklist has them) and the admitting diagnoses."""
    study, r = sr.study, sr.read
    age = parse_age(study.patient_age) or parse_age(r.text("patient_age")) or age_at(ds.PatientBirthDate, sr.exam.date())
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


def _general_study(ds: Dataset, sr: _Sr) -> None:
    study, r = sr.study, sr.read
    ds.StudyInstanceUID = sr.study_uid
    ds.StudyDate = sr.exam.strftime("%Y%m%d")
    ds.StudyTime = sr.exam.strftime("%H%M%S")
    ds.ReferringPhysicianName = study.referring_physician or ""
    ds.StudyID = (study.study_id or study.accession_number or r.text("accession_number") or "")[:16]
    ds.AccessionNumber = (study.accession_number or r.text("accession_number") or "")[:16]
    description = study.study_description or r.text("study_description")
    if description:
        ds.StudyDescription = description[:64]


def _sr_series(ds: Dataset, sr: _Sr) -> None:
    """SR Document Series module, with the MPPS the study context references."""
    ds.Modality = "SR"
    ds.SeriesInstanceUID = sr.uid("rdsr-series", sr.study_uid)
    ds.SeriesNumber = 9901
    ds.SeriesDescription = "Radiation Dose Report (from screen)"
    pps = []
    for sop_class, sop_instance in sr.study.referenced_pps:
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_instance
        pps.append(item)
    ds.ReferencedPerformedProcedureStepSequence = Sequence(pps)


def _equipment(ds: Dataset, sr: _Sr) -> None:
    """General and Enhanced General Equipment: the reporting station."""
    reporter = sr.reporter
    ds.Manufacturer = reporter.manufacturer
    ds.ManufacturerModelName = reporter.model
    ds.DeviceSerialNumber = reporter.serial[:64] or "0"
    ds.SoftwareVersions = reporter.software
    ds.StationName = sr.record.station[:16]
    if reporter.institution:
        ds.InstitutionName = reporter.institution


def _sr_document(ds: Dataset, sr: _Sr, content: list[Dataset]) -> None:
    """SR Document General and SR Document Content: the root container, TID 10011."""
    ds.InstanceNumber = 1
    ds.CompletionFlag = "PARTIAL" if sr.review else "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ContentDate = sr.now.strftime("%Y%m%d")
    ds.ContentTime = sr.now.strftime("%H%M%S")
    ds.PerformedProcedureCodeSequence = Sequence([code_item(c) for c in sr.study.procedure_codes])
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([code_item(C.XRAY_DOSE_REPORT)])
    ds.ContinuityOfContent = "SEPARATE"
    tpl = Dataset()
    tpl.MappingResource = "DCMR"
    tpl.TemplateIdentifier = "10011"
    ds.ContentTemplateSequence = Sequence([tpl])
    ds.ContentSequence = Sequence(content)


def _file_meta(ds: Dataset) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "QCEDGE"
    return meta


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
    r = DoseRecordReader(record, mapping)
    events, total_dlp = _events_and_total(r, record, mapping)
    review = _review(r, record, flags or [])
    if review and not allow_review:
        raise RdsrError(f"record {record.id} needs review before a dose report is sent: " + "; ".join(review))
    sr = _Sr(record, r, study or StudyContext(), reporter or ReportingStation(serial=record.station),
             (now or datetime.now(timezone.utc)).astimezone(), events, total_dlp, review)
    content = _content(sr, device or DeviceObserver())

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = XRAY_DOSE_SR
    ds.SOPInstanceUID = sr.uid("rdsr", sr.identity)
    ds.InstanceCreationDate = sr.now.strftime("%Y%m%d")
    ds.InstanceCreationTime = sr.now.strftime("%H%M%S")
    ds.TimezoneOffsetFromUTC = sr.now.strftime("%z")
    for module in (_patient, _patient_study, _general_study, _sr_series, _equipment):
        module(ds, sr)
    _sr_document(ds, sr, content)
    ds.file_meta = _file_meta(ds)
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
