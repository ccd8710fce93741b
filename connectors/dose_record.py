"""A dose screen's record read for a dose report: which fields hold what (`DoseFieldMap`), the
acquisitions as `CtEvent`s, the exam's times, the patient's age, what needs review, and the
codes (phantom, acquisition type, target region) that the shown text stands for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields as dc_fields
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Mapping

from pydicom.dataset import Dataset

from qcedge.connectors import sr_codes as C
from qcedge.connectors.ct_dose import CtEvent, DeviceObserver, StudyContext
from qcedge.connectors.errors import ConnectorConfigError
from qcedge.qc_client.record import FieldValue, Record
from qcedge.connectors.sr_codes import Code


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


# CtEvent field -> the DoseFieldMap entry naming its table column (the screen's scan type is
# the event's acquisition type)
SCREEN_COLUMNS: dict[str, str] = {name: "scan_type" if name == "acquisition_type" else name for name in (
    "series_number", "protocol", "acquisition_type", "target_region", "kv", "ma", "max_ma", "mas", "rotation_time",
    "exposure_time", "scan_length", "pitch", "collimation_single", "collimation_total", "ctdivol", "dlp", "phantom")}


# --------------------------------------------------------------------------- reading the record

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def parse_number(value: Any) -> float | None:
    """The first number in a value as shown ('12,5 mGy' -> 12.5); None when there is none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    match = _NUMBER.search(str(value))
    return float(match.group().replace(",", ".")) if match else None


class DoseRecordReader:
    """Takes values out of a dose screen's record by the mapping and remembers what needs review."""

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
        return parse_number(self.value(key))

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

    def events(self) -> list[CtEvent]:
        """The acquisitions of the record's table (rows without any dose value are left out)."""
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
        out: list[CtEvent] = []
        for i, row in enumerate(rows):
            ev = CtEvent()
            for name, key in SCREEN_COLUMNS.items():
                raw = self.cell(row, key, f"series[{i}]")
                if name in CtEvent.NUMBERS:
                    setattr(ev, name, parse_number(raw))
                elif raw not in (None, ""):
                    setattr(ev, name, str(raw))
            if ev.has_dose_values():
                out.append(ev)
        return out

def exam_start(r: DoseRecordReader, fallback: datetime) -> datetime:
    """When the exam began as the screen shows it (a date-time, or a date and a clock time); else `fallback`."""
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


def exam_end(r: DoseRecordReader, start: datetime) -> datetime | None:
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


def parse_age(text: str | None) -> str | None:
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
    return DoseRecordReader(record, mapping or DoseFieldMap()).text(key)


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
    r = DoseRecordReader(record, mapping or DoseFieldMap())
    return r.text("patient_id"), exam_start(r, record.captured_at)


# --------------------------------------------------------------------------- interpreting values

def phantom_code(text: str | None, protocol: str | None, region: str | None) -> tuple[Code, bool]:
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


def acquisition_type(text: str | None, protocol: str | None) -> tuple[Code, bool]:
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


def region_code(text: str | None, protocol: str | None) -> tuple[Code, bool]:
    """(target region code, inferred?) from the screen's region or the protocol name."""
    code = _region(text, protocol)
    if code is None:
        return C.UNKNOWN_REGION, True
    return code, not text


def _region(text: str | None, protocol: str | None) -> Code | None:
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
