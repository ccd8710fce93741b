"""Run a template over a folder of frames or a recording: what it read per frame (no Qt here)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.preprocess import to_grey
from qcedge.ocr_templates.results import MatchResult, ScreenReading
from qcedge.teaching_mode.sources import DICOM_SUFFIXES, IMAGE_SUFFIXES, dicom_to_bgr
from qcedge.teaching_mode.draft import read_image

log = logging.getLogger(__name__)


@dataclass
class FrameOutcome:
    """One frame of a test run."""

    name: str
    match: MatchResult
    reading: ScreenReading | None = None
    image: np.ndarray | None = field(default=None, repr=False)
    error: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if not self.match.matched:
            return "no match"
        assert self.reading is not None
        return self.reading.status

    def failed_fields(self) -> list[str]:
        if self.reading is None:
            return []
        return [n for n, f in self.reading.fields.items() if not f.valid]

    def crop(self, field_name: str, template: Template, pad: int = 4) -> np.ndarray | None:
        """The frame region of a field (as the reader saw it, mapped through the match)."""
        if self.image is None or not self.match.matched:
            return None
        x, y, w, h = self.match.box_to_frame(template.field(field_name).box.as_tuple())
        H, W = self.image.shape[:2]
        x0, y0, x1, y1 = max(0, x - pad), max(0, y - pad), min(W, x + w + pad), min(H, y + h + pad)
        return self.image[y0:y1, x0:x1].copy() if x1 > x0 and y1 > y0 else None


def iter_frames(spec: str | Path | list[str | Path], every: int = 1) -> Iterator[tuple[str, np.ndarray]]:
    """(name, image) for each still of a folder, or each changed frame of a recording; a list: of each."""
    if isinstance(spec, (list, tuple)):
        for one in spec:
            yield from iter_frames(one, every)
        return
    path = Path(spec)
    if path.is_dir():
        for p in sorted(path.iterdir()):
            suffix = p.suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                yield p.name, read_image(p)
            elif suffix in DICOM_SUFFIXES:
                yield p.name, dicom_to_bgr(p)
        return
    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield path.name, read_image(path)
        return
    if path.suffix.lower() in DICOM_SUFFIXES:
        yield path.name, dicom_to_bgr(path)
        return
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{spec}: not a folder of frames or a recording that can be read")
    last: np.ndarray | None = None
    index = -1
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            index += 1
            if index % every:
                continue
            thumb = cv2.resize(to_grey(image), (96, 54), interpolation=cv2.INTER_AREA)
            if last is not None and float(np.mean(cv2.absdiff(thumb, last))) < 1.0:
                continue  # the screen did not change: reading it again would tell nothing new
            last = thumb
            yield f"{path.name} #{index}", image
    finally:
        cap.release()


def run_test(template: Template, frames: Iterator[tuple[str, np.ndarray]], engine: Any = None,
             keep_images: bool = True, on_frame: Callable[[FrameOutcome], bool | None] | None = None,
             reference: np.ndarray | None = None) -> list[FrameOutcome]:
    """Match and read `template` on each frame. `on_frame` may return True to stop early.

    `reference`: the template's reference image when it is not saved yet (nothing is written to disk:
    frames hold patient data)."""
    from qcedge.ocr_templates import match_template
    from qcedge.ocr_templates.read import read_screen

    outcomes: list[FrameOutcome] = []
    for name, image in frames:
        t0 = time.perf_counter()
        try:
            match = match_template(image, template, reference=reference)
            reading = read_screen(image, template, match=match, engine=engine) if match.matched else None
            outcome = FrameOutcome(name, match, reading)
        except Exception as exc:  # noqa: BLE001 - a bad frame is a row in the table, not a crash
            outcome = FrameOutcome(name, MatchResult(template.id, 0.0, False), error=str(exc))
        outcome.seconds = time.perf_counter() - t0
        if keep_images:
            outcome.image = image
        outcomes.append(outcome)
        if on_frame is not None and on_frame(outcome):
            break
    return outcomes


def summary(outcomes: list[FrameOutcome]) -> dict[str, int]:
    counts = {"frames": len(outcomes), "matched": 0, "complete": 0, "needs_review": 0, "no match": 0, "error": 0}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        counts["matched"] += o.match.matched
    return counts
