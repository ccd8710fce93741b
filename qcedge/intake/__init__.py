"""DICOM intake: what the composition root wires around `connectors` for objects that arrive
(by the receiver or from files) and for dose reports built from screens.

- `screens`: OCR of screen saves with the station's templates (readers kept per templates and
  engine: loading the OCR models costs seconds), and the OCR reading's record;
- `sinks`: where the records go (JSON lines, or the station's privacy policy and outbox);
- `store`: the receiver's callback, stored file -> record (or OCR'd screen record) -> sink;
- `dose_report`: a dose screen (image, DICOM screen save or record) and a worklist into the
  inputs of `connectors.rdsr.build_ct_rdsr`.

The `qcedge dicom` command uses these and only parses arguments and prints.
"""
from __future__ import annotations

from qcedge.intake.screens import SAVE_HEADER_FIELDS, ScreenRead, ocr_record, screen_reader
from qcedge.intake.sinks import OutboxSink, RecordSink
from qcedge.intake.store import make_store_handler

__all__ = ["SAVE_HEADER_FIELDS", "OutboxSink", "RecordSink", "ScreenRead", "make_store_handler", "ocr_record",
           "screen_reader"]
