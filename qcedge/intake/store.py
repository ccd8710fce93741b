"""The DICOM receiver's callback: a stored file becomes a record (or an OCR'd screen record)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from qcedge.intake.screens import ScreenRead, ocr_record

log = logging.getLogger("qcedge.dicom")


def make_store_handler(station: str, site: str, sink: Callable[[Any], None],
                       ocr: ScreenRead | None = None) -> Callable[[Any], None]:
    """The receiver's callback: stored file -> record (or OCR'd screen record) -> sink.

    A file that gives no record stays on disk and is logged; so does a screen save without
    templates (`ocr` None) or that matches none of them."""
    from qcedge.connectors.dicom_files import read_dicom
    from qcedge.connectors.errors import ConnectorError

    def handle(stored: Any) -> None:
        source = f"dicom:{stored.calling_aet}"
        try:
            reading = read_dicom(stored.path, station, site, source=source)
        except ConnectorError as exc:
            log.error("received %s from %s, kept on disk, but it gives no record: %s",
                      stored.path.name, stored.calling_aet, exc)
            return
        record = reading.record
        if reading.needs_ocr:
            if ocr is None:
                log.warning("received screen save %s: no templates configured, kept on disk for OCR", stored.path.name)
                return
            found = ocr(reading.image)
            if found is None:
                log.warning("received screen save %s matches no template; kept on disk", stored.path.name)
                return
            record = ocr_record(found, reading.image, station=station, site=site,
                                source=f"dicom-screen:{stored.calling_aet}", header=record)
        sink(record)

    return handle
