"""A bad frame or an OCR failure is counted and logged, and the pipeline carries on (real reader, real OCR)."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import cv2
import numpy as np

from qcedge.capture import Frame
from daemon_helpers import TEMPLATES
from qcedge.config import PrivacySection
from qcedge.health import Health
from qcedge.pipeline import Detectors, Pipeline
from qcedge.privacy import PrivacyPolicy
from qcedge.seen import SeenScreens


class FailsOnce:
    """The real ScreenReader, except that its first call raises (an engine crash)."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self.calls = 0

    def process(self, image):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("onnxruntime: simulated engine crash")
        return self.reader.process(image)


def test_bad_frames_and_ocr_errors_never_stop_the_pipeline(tmp_path: Path, samples_dir: Path, caplog):
    from qcedge.ocr_templates import load_templates
    from qcedge.ocr_templates import ScreenReader

    templates = load_templates(TEMPLATES)
    reader = FailsOnce(ScreenReader(templates))
    health = Health("st", "si")
    made = []
    pipeline = Pipeline(
        station="st", site="si", reader=reader, templates=templates, detectors=Detectors(settle_frames=2),
        seen=SeenScreens(tmp_path / "seen.sqlite", "st"), policy=PrivacyPolicy.from_section(PrivacySection(attach_crops=True)),
        sink=made.append, health=health, unknown_folder=tmp_path / "unknown",
    )
    ct = cv2.imread(str(samples_dir / "frames/ct_dose/ct_dose_000_clean.png"))
    desktop = cv2.imread(str(samples_dir / "frames/foreign_desktop/foreign_desktop_000_clean.png"))
    truth = json.loads((samples_dir / "manifest.json").read_text())["frames"][0]
    assert truth["path"].endswith("ct_dose_000_clean.png")
    black = np.zeros((1080, 1920, 3), np.uint8)  # a capture card with no signal
    images = [ct, ct, np.zeros((1080, 1920), np.uint8), np.zeros((3, 3, 3), np.uint8), "not an image",
              black, black, black, desktop, desktop, ct, ct, ct]
    for i, image in enumerate(images):
        pipeline.handle(Frame(image=image, source_id="test", index=i, t=time.monotonic()))  # type: ignore[arg-type]

    assert health.frame_errors == 3 and health.ocr_errors == 1
    assert health.no_signal_frames == 3 and reader.calls == 3  # no OCR on the black screen
    assert "RuntimeError" in (health.last_error or "") or health.last_error
    assert health.unknown_screens == 1 and health.unknown_saved == 1
    assert len(made) == 1 and health.records_made == 1  # the CT screen was read when it came back
    record = made[0].record
    assert record.template.id == "ct_dose_report"
    assert truth["fields"]["accession"] in record.fields["accession"].text
    assert "patient_name" not in record.fields  # default privacy policy: drop
    # Field crops as evidence (allowed here), never of a personal field.
    assert "accession" in record.evidence.crops
    assert not {"patient_name", "patient_id"} & set(record.evidence.crops)
    png = base64.b64decode(record.evidence.crops["accession"])
    assert png.startswith(b"\x89PNG") and cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR) is not None
    assert any("OCR failed" in r.getMessage() for r in caplog.records)
