"""Screen saves and screen images read with the station's OCR templates."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qcedge.errors import UsageError

# image -> (reading, its template), or None when no template matches
ScreenRead = Callable[[Any], "tuple[Any, Any] | None"]

# header fields of a DICOM screen save that its OCR record keeps (none of them personal)
SAVE_HEADER_FIELDS = ("study_instance_uid", "accession_number", "station_name", "manufacturer", "model",
                      "device_serial")

_READERS: dict[tuple[str, float, str], ScreenRead] = {}


def screen_reader(spec: str | None, engine: str) -> ScreenRead | None:
    """A function image -> (reading, template) | None for screen saves, or None without templates.

    Readers are kept per (templates, engine) for the life of the process: loading the OCR
    models costs seconds. A templates path that cannot be read, or holds no templates, is a
    UsageError; a template that cannot be loaded raises its TemplateError."""
    if not spec:
        return None
    try:
        key = (str(Path(spec).resolve()), Path(spec).stat().st_mtime, engine)
    except OSError as exc:
        raise UsageError(f"{spec}: {exc.strerror or exc}") from None
    if key not in _READERS:
        _READERS[key] = _make_screen_reader(spec, engine)
    return _READERS[key]


def _make_screen_reader(spec: str, engine: str) -> ScreenRead:
    try:
        from qcedge.ocr_templates.loader import load_template, load_templates
        from qcedge.ocr_templates import ScreenReader
    except ImportError as exc:
        raise UsageError(f"OCR of screen saves is not available in this build ({exc})") from None

    path = Path(spec)
    try:
        templates = list(load_templates(path)) if path.is_dir() else [load_template(path)]
    except OSError as exc:
        raise UsageError(f"{spec}: {exc.strerror or exc}") from None
    if not templates:
        raise UsageError(f"{spec}: no templates found")
    reader = ScreenReader(templates, engine=engine)
    by_id = {t.id: t for t in templates}
    lock = threading.Lock()  # one OCR engine, used from the receiver's worker thread and the CLI

    def read(image: Any) -> tuple[Any, Any] | None:
        with lock:
            reading = reader.process(image)
        if reading is None:
            return None
        return reading, by_id[reading.template_id]

    return read


def ocr_record(reading_and_template: tuple[Any, Any], image: Any, *, station: str, site: str, source: str,
               header: Any = None) -> Any:
    """The OCR reading's record; for a DICOM screen save, `header` (the header's record) adds what
    the save knows and the screen may not show: its study, accession number and the CT that made
    it (so a dose report built from the record later keeps the save's Study UID)."""
    from qcedge.records import record_from_reading

    reading, template = reading_and_template
    record = record_from_reading(reading, template, station=station, site=site, source=source, image=image)
    if header is not None:
        for name in SAVE_HEADER_FIELDS:
            fv = header.fields.get(name)
            if fv is not None and fv.valid and name not in record.fields:
                record.fields[name] = fv
    return record
