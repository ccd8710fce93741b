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

This module reads files and makes the records; what the header says is connectors.dicom_header,
the dose values connectors.dose_sr, the pixels connectors.dicom_pixels (their public names are
importable from here too).
"""
from __future__ import annotations

import hashlib
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from qcedge.connectors.dicom_header import (
    DATETIME_FIELDS, HEADER_FIELDS, SCREEN_CONVERSION_TYPES, SCREEN_IMAGE_TYPES, SECONDARY_CAPTURE_CLASSES,
    HeaderField, Kind, classify, header_fields, is_screen_save, sop_class_name,
)
from qcedge.connectors.dicom_pixels import screen_image
from qcedge.connectors.dose_sr import dose_fields, read_dose_report
from qcedge.connectors.errors import ConnectorError, DicomReadError, UnknownSopClassError, scrubbed
from qcedge.connectors.plugins import DicomParser, apply_parsers, dicom_parsers
from qcedge.qc_client.record import CheckValue, Record

__all__ = [
    "DATETIME_FIELDS", "HEADER_FIELDS", "SCREEN_CONVERSION_TYPES", "SCREEN_IMAGE_TYPES", "SECONDARY_CAPTURE_CLASSES",
    "DicomReading", "HeaderField", "Kind", "classify", "dose_fields", "header_fields", "identity_of",
    "is_screen_save", "read_dataset", "read_dicom", "reading_from_dataset", "record_from_dataset", "screen_image",
    "sop_class_name",
]

log = logging.getLogger(__name__)


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
        raise DicomReadError(name, f"corrupt or truncated ({scrubbed(exc)})") from None
    except Exception as exc:  # pydicom raises a variety (struct.error, NotImplementedError, ...)
        raise DicomReadError(name, f"cannot be decoded ({scrubbed(exc)})") from None
    if not stop_before_pixels:
        short = _pixel_shortfall(ds)
        if short:
            raise DicomReadError(name, f"truncated: {short}")
    if "SOPClassUID" not in ds:
        raise DicomReadError(name, "no SOP Class UID: not a composite object (truncated header?)")
    return ds


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
        raise DicomReadError(name, f"cannot be read ({scrubbed(exc)})") from None
