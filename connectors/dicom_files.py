"""DICOM files into records: header fields, dose SR values, screen saves as images for OCR.

What each SOP class gives (see docs/connectors.md):
- image storage classes (CT, DX, CR, MG, XA, RF, MR, US, ...): the header fields of `HEADER_FIELDS`;
- X-Ray Radiation Dose SR (and any SR titled "X-Ray Radiation Dose Report"): the header plus the
  dose values (CT: `total_dlp` and a `series` table with CTDIvol, DLP, kV, mA, mAs, phantom per
  acquisition; projection X-ray: `total_dap` and per-event DAP);
- secondary captures and screen saves: the header and `kind="screen"` with the pixels as a BGR
  image, for the OCR pipeline (the composition root picks the template);
- other standard storage classes (RT plan, waveforms, ...): a minimal record with the header;
- a SOP class that is not a standard storage class: `UnknownSopClassError`, unless a plugin
  (entry point `qcedge.connectors`) accepts the dataset.
Patient name, ID and birth date are flagged `personal`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID
from pydicom.valuerep import DA, DT, TM

from qcedge.connectors.dose_sr import SR_CLASS_PREFIX, DoseReport, event_columns, is_dose_report, read_dose_report
from qcedge.connectors.errors import ConnectorError, DicomReadError, UnknownSopClassError
from qcedge.connectors.plugins import DicomParser, apply_parsers, dicom_parsers
from qcedge.qc_client.record import CheckValue, FieldValue, Record

log = logging.getLogger(__name__)

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


HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("patient_name", ("PatientName",), "name", personal=True),
    HeaderField("patient_id", ("PatientID",), personal=True),
    HeaderField("patient_birth_date", ("PatientBirthDate",), "date", personal=True),
    HeaderField("patient_sex", ("PatientSex",)),
    HeaderField("patient_age", ("PatientAge",)),
    HeaderField("patient_weight_kg", ("PatientWeight",), "float"),
    HeaderField("accession_number", ("AccessionNumber",)),
    HeaderField("study_instance_uid", ("StudyInstanceUID",)),
    HeaderField("series_instance_uid", ("SeriesInstanceUID",)),
    HeaderField("sop_instance_uid", ("SOPInstanceUID",)),
    HeaderField("sop_class_uid", ("SOPClassUID",)),
    HeaderField("modality", ("Modality",)),
    HeaderField("station_name", ("StationName",)),
    HeaderField("institution", ("InstitutionName",)),
    HeaderField("department", ("InstitutionalDepartmentName",)),
    HeaderField("manufacturer", ("Manufacturer",)),
    HeaderField("model", ("ManufacturerModelName",)),
    HeaderField("device_serial", ("DeviceSerialNumber",)),
    HeaderField("software_versions", ("SoftwareVersions",)),
    HeaderField("operator", ("OperatorsName",), "name"),
    HeaderField("protocol", ("ProtocolName", "PerformedProcedureStepDescription")),
    HeaderField("study_description", ("StudyDescription",)),
    HeaderField("series_description", ("SeriesDescription",)),
    HeaderField("body_part", ("BodyPartExamined",)),
    HeaderField("laterality", ("ImageLaterality", "Laterality")),
    HeaderField("view_position", ("ViewPosition",)),
    HeaderField("image_type", ("ImageType",)),
    HeaderField("series_number", ("SeriesNumber",), "int"),
    HeaderField("instance_number", ("InstanceNumber",), "int"),
    HeaderField("kvp", ("KVP",), "float"),
    HeaderField("tube_current_ma", ("XRayTubeCurrentInmA", "XRayTubeCurrent", "XRayTubeCurrentInuA"), "float",
                scale={"XRayTubeCurrentInuA": 0.001}),
    HeaderField("exposure_time_ms", ("ExposureTimeInms", "ExposureTime", "ExposureTimeInuS"), "float",
                scale={"ExposureTimeInuS": 0.001}),
    HeaderField("exposure_mas", ("ExposureInmAs", "Exposure", "ExposureInuAs"), "float",
                scale={"ExposureInuAs": 0.001}),
    HeaderField("exposure_index", ("ExposureIndex",), "float"),
    HeaderField("target_exposure_index", ("TargetExposureIndex",), "float"),
    HeaderField("deviation_index", ("DeviationIndex",), "float"),
    HeaderField("sensitivity", ("Sensitivity",), "float"),
    HeaderField("relative_xray_exposure", ("RelativeXRayExposure",), "float"),
    HeaderField("dap_dgy_cm2", ("ImageAndFluoroscopyAreaDoseProduct",), "float"),
    HeaderField("entrance_dose_mgy", ("EntranceDoseInmGy",), "float"),
    HeaderField("organ_dose_dgy", ("OrganDose",), "float"),
    HeaderField("body_part_thickness_mm", ("BodyPartThickness",), "float"),
    HeaderField("compression_force_n", ("CompressionForce",), "float"),
    HeaderField("distance_source_to_detector_mm", ("DistanceSourceToDetector",), "float"),
    HeaderField("ctdivol", ("CTDIvol",), "float"),
    HeaderField("spiral_pitch_factor", ("SpiralPitchFactor",), "float"),
    HeaderField("slice_thickness_mm", ("SliceThickness",), "float"),
    HeaderField("filter_type", ("FilterType",)),
    HeaderField("grid", ("Grid",)),
)

DATETIME_FIELDS = (
    ("study_datetime", "StudyDate", "StudyTime", None),
    ("series_datetime", "SeriesDate", "SeriesTime", None),
    ("acquisition_datetime", "AcquisitionDate", "AcquisitionTime", "AcquisitionDateTime"),
    ("content_datetime", "ContentDate", "ContentTime", None),
)


@dataclass(slots=True)
class DicomReading:
    """One DICOM object read: its kind, the record, and for a screen save the image to OCR."""

    kind: Kind
    record: Record
    dataset: Dataset
    image: np.ndarray | None = None  # BGR uint8, only for kind == "screen"
    plugins: list[str] = field(default_factory=list)

    @property
    def needs_ocr(self) -> bool:
        return self.kind == "screen"


# --------------------------------------------------------------------------- reading files

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _scrub(exc: Exception) -> str:
    """An exception's text with quoted values taken out: they may be patient data."""
    return _QUOTED.sub("'...'", f"{type(exc).__name__}: {exc}")[:300]


def _truncation(ds: Dataset) -> str | None:
    """Name the first top-level element whose value is shorter than its declared length."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if isinstance(raw, RawDataElement) and raw.length not in (0xFFFFFFFF, None) and raw.value is not None:
            if len(raw.value) < raw.length:
                return f"element {tag} declares {raw.length} bytes but the file holds {len(raw.value)}"
    return None


def _pixel_shortfall(ds: Dataset) -> str | None:
    if "PixelData" not in ds or ds.file_meta.get("TransferSyntaxUID") is None:
        return None
    ts = UID(ds.file_meta.TransferSyntaxUID)
    if not ts.is_transfer_syntax or ts.is_compressed:
        return None
    try:
        from pydicom.pixels.utils import get_expected_length

        expected = get_expected_length(ds)
    except Exception:
        return None
    actual = len(ds.PixelData)
    if actual < expected:
        return f"pixel data holds {actual} bytes, {expected} expected"
    return None


def read_dataset(source: str | os.PathLike | Any, *, stop_before_pixels: bool = False) -> Dataset:
    """Read and fully decode a DICOM file; DicomReadError names the file and what is wrong."""
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else str(getattr(source, "name", "stream"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(source, (str, os.PathLike)):  # a transfer syntax we cannot know: say so, do not guess
                ts = pydicom.filereader.read_file_meta_info(source).get("TransferSyntaxUID")
                if ts is not None and not UID(str(ts)).is_transfer_syntax:
                    raise DicomReadError(name, f"unknown transfer syntax '{str(ts)[:64]}' in the file meta")
            ds = pydicom.dcmread(source, stop_before_pixels=stop_before_pixels)
            problem = _truncation(ds)
            if problem:
                raise DicomReadError(name, f"truncated: {problem}")
            for _ in ds.iterall():  # convert every raw element now, so decoding errors show here
                pass
    except DicomReadError:
        raise
    except InvalidDicomError:
        raise DicomReadError(name, "not a DICOM file (no 'DICM' prefix and file meta information)") from None
    except FileNotFoundError:
        raise DicomReadError(name, "no such file") from None
    except IsADirectoryError:
        raise DicomReadError(name, "is a directory") from None
    except PermissionError:
        raise DicomReadError(name, "permission denied") from None
    except (EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError) as exc:
        raise DicomReadError(name, f"corrupt or truncated ({_scrub(exc)})") from None
    except Exception as exc:  # pydicom raises a variety (struct.error, NotImplementedError, ...)
        raise DicomReadError(name, f"cannot be decoded ({_scrub(exc)})") from None
    if not stop_before_pixels:
        short = _pixel_shortfall(ds)
        if short:
            raise DicomReadError(name, f"truncated: {short}")
    if "SOPClassUID" not in ds:
        raise DicomReadError(name, "no SOP Class UID: not a composite object (truncated header?)")
    return ds


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
    sop = str(ds.get("SOPClassUID", ""))
    if sop in SECONDARY_CAPTURE_CLASSES:
        return True
    image_type = {str(v).strip().upper() for v in (ds.get("ImageType") or [])}
    if image_type & SCREEN_IMAGE_TYPES:
        return True
    return str(ds.get("ConversionType", "")).upper() in SCREEN_CONVERSION_TYPES and "PixelData" in ds


def classify(ds: Dataset) -> Kind:
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

def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _convert(spec: HeaderField, keyword: str, raw: Any) -> FieldValue:
    text = _text(raw).strip()
    fv = FieldValue(text=text, personal=spec.personal)
    try:
        if spec.type == "float":
            first = raw[0] if isinstance(raw, (list, tuple)) or type(raw).__name__ == "MultiValue" else raw
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


# --------------------------------------------------------------------------- dose reports

def _num(value: float | None, unit: str = "") -> FieldValue:
    return FieldValue(value=value, text="" if value is None else f"{value:g}" + (f" {unit}" if unit else ""))


def dose_fields(report: DoseReport) -> tuple[dict[str, FieldValue], list[CheckValue]]:
    fields: dict[str, FieldValue] = {}
    checks: list[CheckValue] = []
    if report.kind == "CT":
        if report.total_dlp is not None:
            fields["total_dlp"] = _num(report.total_dlp, "mGy.cm")
        rows = []
        for ev in report.events:
            row = {k: FieldValue(value=v, text=f"{v:g}" if isinstance(v, float) else str(v))
                   for k, v in event_columns(ev).items()}
            rows.append(row)
        fields["series"] = FieldValue(
            value=[{k: fv.value for k, fv in row.items()} for row in rows], text=f"{len(rows)} acquisitions", rows=rows,
        )
        dlps = [ev.dlp for ev in report.events if ev.dlp is not None]
        if report.total_dlp is not None and dlps:
            total = sum(dlps)
            ok = abs(total - report.total_dlp) <= max(0.5, 0.01 * report.total_dlp)
            checks.append(CheckValue(
                name="total_dlp_is_sum", ok=ok,
                message=f"total DLP {report.total_dlp:g} vs sum of acquisitions {total:g} mGy.cm",
            ))
    else:
        if report.total_dap is not None:
            fields["total_dap"] = _num(report.total_dap, "Gy.m2")
        if report.event_daps:
            fields["event_dap"] = FieldValue(value=report.event_daps, text=f"{len(report.event_daps)} events")
    if report.total_events is not None:
        fields["total_events"] = FieldValue(value=report.total_events, text=str(report.total_events))
    for key, value in report.observer.items():
        fields[f"device_observer_{key}"] = FieldValue(value=value, text=value)
    if report.procedure:
        fields["procedure_reported"] = FieldValue(value=report.procedure, text=report.procedure)
    if report.sources_of_dose:
        fields["source_of_dose"] = FieldValue(value=report.sources_of_dose, text=", ".join(report.sources_of_dose))
    return fields, checks


# --------------------------------------------------------------------------- records

def identity_of(ds: Dataset) -> str:
    key = f"dicom:{ds.get('SOPInstanceUID', '')}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def record_from_dataset(
    ds: Dataset,
    station: str,
    site: str,
    *,
    source: str = "dicom",
    parsers: list[DicomParser] | None = None,
) -> Record:
    """The record for one dataset (see the module docstring for what each SOP class gives).

    `parsers` defaults to the plugins found through the `qcedge.connectors` entry points;
    pass [] to use none. Raises UnknownSopClassError for a non-standard SOP class that no
    plugin accepts.
    """
    record, _ = _record_and_plugins(ds, station, site, source=source, parsers=parsers)
    return record


def _record_and_plugins(
    ds: Dataset, station: str, site: str, *, source: str, parsers: list[DicomParser] | None
) -> tuple[Record, list[str]]:
    kind = classify(ds)
    fields = header_fields(ds)
    checks: list[CheckValue] = []
    modality = str(ds.get("Modality", "") or "") or None
    if kind == "dose_sr":
        report = read_dose_report(ds)
        dose, checks = dose_fields(report)
        fields.update(dose)
        if report.kind == "CT":
            modality = "CT"
    record = Record(
        station=station, site=site, source=source, kind="dicom", modality=modality,
        identity=identity_of(ds), fields=fields, checks=checks,
    )
    used: list[str] = []
    chosen = dicom_parsers() if parsers is None else parsers
    if chosen:
        record, used = apply_parsers(ds, record, chosen)
    if kind == "unknown" and not used:
        raise UnknownSopClassError(source, str(ds.get("SOPClassUID", "")))
    record.status = _status(record)
    return record, used


def _status(record: Record) -> Literal["complete", "needs_review"]:
    ok = all(f.valid for f in record.fields.values()) and all(c.ok for c in record.checks)
    return "complete" if ok else "needs_review"


# --------------------------------------------------------------------------- screen images

_LUT_DATA = ("RedPaletteColorLookupTableData", "SegmentedRedPaletteColorLookupTableData")


def screen_image(ds: Dataset, frame: int = 0, *, name: str | None = None) -> np.ndarray:
    """The pixels of (one frame of) an image as BGR uint8, ready for the OCR pipeline.

    DicomReadError names `name` (the file; else "dataset") and the problem: no pixel data,
    pixel data that cannot be decoded, PALETTE COLOR without its lookup table."""
    source = name or "dataset"
    if "PixelData" not in ds:
        raise DicomReadError(source, "holds no pixel data")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR" and not any(k in ds for k in _LUT_DATA) and "PaletteColorLookupTableUID" not in ds:
        raise DicomReadError(source, "PALETTE COLOR image without a colour lookup table: cannot be shown")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decoder warnings are about this file: our message says it
            return _screen_image(ds, frame, photometric)
    except DicomReadError:
        raise
    except Exception as exc:  # pixel decoders and LUT code raise many kinds
        raise DicomReadError(source, f"pixel data cannot be decoded ({_scrub(exc)})") from None


def _screen_image(ds: Dataset, frame: int, photometric: str) -> np.ndarray:
    import cv2
    from pydicom.pixels import apply_color_lut, apply_voi_lut

    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if frames > 1:
        arr = arr[min(frame, frames - 1)]
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        samples = 3
    if samples == 1:
        grey = arr.astype(np.float64)
        if "WindowCenter" in ds or "VOILUTSequence" in ds:
            try:
                grey = apply_voi_lut(arr, ds).astype(np.float64)
            except Exception:
                pass
        lo, hi = float(grey.min()), float(grey.max())
        if arr.dtype == np.uint8 and "WindowCenter" not in ds:
            out = arr.astype(np.uint8)
        else:
            out = np.zeros(grey.shape, np.uint8) if hi <= lo else ((grey - lo) * (255.0 / (hi - lo))).round().astype(np.uint8)
        if photometric == "MONOCHROME1":
            out = 255 - out
        return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    rgb = arr
    if rgb.dtype != np.uint8:
        bits = int(ds.get("BitsStored", 8) or 8)
        rgb = (rgb.astype(np.float64) * (255.0 / (2**bits - 1))).clip(0, 255).round().astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)


def reading_from_dataset(
    ds: Dataset,
    station: str,
    site: str,
    *,
    parsers: list[DicomParser] | None = None,
    source: str = "dicom",
    name: str | None = None,
) -> DicomReading:
    """A dataset's kind, record and (for screen saves, `needs_ocr`) the BGR image to OCR.
    `name` (the file) is what errors name."""
    record, used = _record_and_plugins(ds, station, site, source=name or source, parsers=parsers)
    record.source = source
    kind = classify(ds)
    image = screen_image(ds, name=name) if kind == "screen" else None
    if image is not None:
        record.evidence.frame_sha256 = hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()
    return DicomReading(kind=kind, record=record, dataset=ds, image=image, plugins=used)


def read_dicom(
    path: str | os.PathLike,
    station: str,
    site: str,
    *,
    parsers: list[DicomParser] | None = None,
    source: str | None = None,
) -> DicomReading:
    """Read one file: its kind, record and (for screen saves) the BGR image to OCR."""
    ds = read_dataset(path)
    name = os.fspath(path)
    try:
        return reading_from_dataset(ds, station, site, parsers=parsers, source=source or f"file:{Path(path).name}",
                                    name=name)
    except ConnectorError:
        raise
    except Exception as exc:  # a header that parsed but whose values break what reads them
        raise DicomReadError(name, f"cannot be read ({_scrub(exc)})") from None
