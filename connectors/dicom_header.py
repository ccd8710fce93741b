"""What a DICOM header says: its kind (image, dose SR, screen save, ...) and the record fields
of `HEADER_FIELDS` (patient name, ID and birth date flagged `personal`)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from pydicom.dataset import Dataset
from pydicom.uid import UID
from pydicom.valuerep import DA, DT, TM

from qcedge.connectors.dose_sr import SR_CLASS_PREFIX, is_dose_report
from qcedge.qc_client.record import FieldValue

Kind = Literal["image", "dose_sr", "sr", "screen", "other", "unknown"]

SECONDARY_CAPTURE_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.7",      # Secondary Capture Image
    "1.2.840.10008.5.1.4.1.1.7.1",    # Multi-frame Single Bit SC
    "1.2.840.10008.5.1.4.1.1.7.2",    # Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",    # Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4",    # Multi-frame True Color SC
}
SCREEN_IMAGE_TYPES = {"SCREEN SAVE", "SCREENSHOT", "DOSE_INFO", "DOSE INFO", "DOSE REPORT", "DOSE_REPORT"}
SCREEN_CONVERSION_TYPES = {"WSD", "SYN", "DRW"}  # workstation, synthetic, drawing


@dataclass(frozen=True, slots=True)
class HeaderField:
    """One record field taken from the first present of `keywords`."""

    name: str
    keywords: tuple[str, ...]
    type: Literal["text", "float", "int", "date", "time", "datetime", "name"] = "text"
    personal: bool = False
    scale: dict[str, float] = field(default_factory=dict)  # keyword -> factor to the field's unit


def _fields(kind: Literal["text", "float"], pairs: str) -> tuple[HeaderField, ...]:
    """Header fields of one type from "name Keyword" lines (one keyword each)."""
    return tuple(HeaderField(name, (keyword,), kind) for name, keyword in (line.split() for line in pairs.split(";")))


HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("patient_name", ("PatientName",), "name", personal=True),
    HeaderField("patient_id", ("PatientID",), personal=True),
    HeaderField("patient_birth_date", ("PatientBirthDate",), "date", personal=True),
    *_fields("text", "patient_sex PatientSex; patient_age PatientAge"),
    HeaderField("patient_weight_kg", ("PatientWeight",), "float"),
    *_fields("text", "accession_number AccessionNumber; study_instance_uid StudyInstanceUID; "
                     "series_instance_uid SeriesInstanceUID; sop_instance_uid SOPInstanceUID; "
                     "sop_class_uid SOPClassUID; modality Modality; station_name StationName; "
                     "institution InstitutionName; department InstitutionalDepartmentName; "
                     "manufacturer Manufacturer; model ManufacturerModelName; device_serial DeviceSerialNumber; "
                     "software_versions SoftwareVersions"),
    HeaderField("operator", ("OperatorsName",), "name"),
    HeaderField("protocol", ("ProtocolName", "PerformedProcedureStepDescription")),
    *_fields("text", "study_description StudyDescription; series_description SeriesDescription; "
                     "body_part BodyPartExamined"),
    HeaderField("laterality", ("ImageLaterality", "Laterality")),
    *_fields("text", "view_position ViewPosition; image_type ImageType"),
    HeaderField("series_number", ("SeriesNumber",), "int"),
    HeaderField("instance_number", ("InstanceNumber",), "int"),
    HeaderField("kvp", ("KVP",), "float"),
    HeaderField("tube_current_ma", ("XRayTubeCurrentInmA", "XRayTubeCurrent", "XRayTubeCurrentInuA"), "float",
                scale={"XRayTubeCurrentInuA": 0.001}),
    HeaderField("exposure_time_ms", ("ExposureTimeInms", "ExposureTime", "ExposureTimeInuS"), "float",
                scale={"ExposureTimeInuS": 0.001}),
    HeaderField("exposure_mas", ("ExposureInmAs", "Exposure", "ExposureInuAs"), "float",
                scale={"ExposureInuAs": 0.001}),
    *_fields("float", "exposure_index ExposureIndex; target_exposure_index TargetExposureIndex; "
                      "deviation_index DeviationIndex; sensitivity Sensitivity; "
                      "relative_xray_exposure RelativeXRayExposure; dap_dgy_cm2 ImageAndFluoroscopyAreaDoseProduct; "
                      "entrance_dose_mgy EntranceDoseInmGy; organ_dose_dgy OrganDose; "
                      "body_part_thickness_mm BodyPartThickness; compression_force_n CompressionForce; "
                      "distance_source_to_detector_mm DistanceSourceToDetector; ctdivol CTDIvol; "
                      "spiral_pitch_factor SpiralPitchFactor; slice_thickness_mm SliceThickness"),
    *_fields("text", "filter_type FilterType; grid Grid"),
)

DATETIME_FIELDS = (
    ("study_datetime", "StudyDate", "StudyTime", None),
    ("series_datetime", "SeriesDate", "SeriesTime", None),
    ("acquisition_datetime", "AcquisitionDate", "AcquisitionTime", "AcquisitionDateTime"),
    ("content_datetime", "ContentDate", "ContentTime", None),
)


# --------------------------------------------------------------------------- classification

def sop_class_name(uid: str) -> str | None:
    """The standard name of a storage SOP class, or None when the dictionary does not know it."""
    try:
        u = UID(uid)
        if not u.is_valid or u.type != "SOP Class":
            return None
        return u.name if u.name != uid else None
    except Exception:
        return None


def is_screen_save(ds: Dataset) -> bool:
    """A secondary capture, or an image whose Image Type or Conversion Type says it is a screen."""
    sop = str(ds.get("SOPClassUID", ""))
    if sop in SECONDARY_CAPTURE_CLASSES:
        return True
    image_type = {str(v).strip().upper() for v in (ds.get("ImageType") or [])}
    if image_type & SCREEN_IMAGE_TYPES:
        return True
    return str(ds.get("ConversionType", "")).upper() in SCREEN_CONVERSION_TYPES and "PixelData" in ds


def classify(ds: Dataset) -> Kind:
    """What kind of object a dataset is (see connectors.dicom_files for what each kind gives)."""
    sop = str(ds.get("SOPClassUID", ""))
    if is_dose_report(ds):
        return "dose_sr"
    if is_screen_save(ds):
        return "screen"
    if sop.startswith(SR_CLASS_PREFIX):
        return "sr"
    if sop_class_name(sop) is None:
        return "unknown"
    if "PixelData" in ds or "Rows" in ds:
        return "image"
    return "other"


# --------------------------------------------------------------------------- header fields

def is_multi(value: Any) -> bool:
    """Whether a DICOM value holds several values (a MultiValue, list or tuple)."""
    return isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue"


def _text(value: Any) -> str:
    if is_multi(value):
        return "\\".join(str(v) for v in value)
    return str(value)


def _convert(spec: HeaderField, keyword: str, raw: Any) -> FieldValue:
    text = _text(raw).strip()
    fv = FieldValue(text=text, personal=spec.personal)
    try:
        if spec.type == "float":
            first = raw[0] if is_multi(raw) else raw
            fv.value = round(float(first) * spec.scale.get(keyword, 1.0), 6)
        elif spec.type == "int":
            fv.value = int(float(raw))
        elif spec.type == "date":
            d = DA(raw)
            fv.value = d.isoformat() if d is not None else None
        elif spec.type == "name":
            fv.value = str(raw).replace("^", " ").strip()
        else:
            fv.value = text
    except (TypeError, ValueError, OverflowError) as exc:
        fv.value, fv.valid = None, False
        fv.reasons = [f"{keyword} value '{text[:40]}' is not a valid {spec.type}: {exc}"]
    return fv


def _datetime(ds: Dataset, date_kw: str, time_kw: str, dt_kw: str | None) -> FieldValue | None:
    if dt_kw and ds.get(dt_kw):
        raw = str(ds.get(dt_kw))
        try:
            return FieldValue(value=DT(raw).isoformat(), text=raw)
        except (TypeError, ValueError):
            return FieldValue(text=raw, valid=False, reasons=[f"{dt_kw} '{raw}' is not a DICOM date-time"])
    raw_d = str(ds.get(date_kw) or "")
    if not raw_d:
        return None
    raw_t = str(ds.get(time_kw) or "")
    try:
        d: date = DA(raw_d)
        t: time | None = TM(raw_t) if raw_t else None
        value = datetime.combine(d, t).isoformat() if t is not None else d.isoformat()
        return FieldValue(value=value, text=f"{raw_d} {raw_t}".strip())
    except (TypeError, ValueError):
        return FieldValue(text=f"{raw_d} {raw_t}".strip(), valid=False,
                          reasons=[f"{date_kw}/{time_kw} '{raw_d} {raw_t}' is not a DICOM date and time"])


def header_fields(ds: Dataset) -> dict[str, FieldValue]:
    """The record fields a dataset's header gives (`HEADER_FIELDS`, dates and times, the SOP class name)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid values are reported in the fields, not as warnings
        return _header_fields(ds)


def _header_fields(ds: Dataset) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    for spec in HEADER_FIELDS:
        for keyword in spec.keywords:
            raw = ds.get(keyword)
            if raw is None or _text(raw).strip() == "":
                continue
            out[spec.name] = _convert(spec, keyword, raw)
            break
    for name, date_kw, time_kw, dt_kw in DATETIME_FIELDS:
        fv = _datetime(ds, date_kw, time_kw, dt_kw)
        if fv is not None:
            out[name] = fv
    sop = str(ds.get("SOPClassUID", ""))
    class_name = sop_class_name(sop)
    if class_name:
        out["sop_class"] = FieldValue(value=class_name, text=class_name)
    return out
