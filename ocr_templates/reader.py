"""Match then read: the one call a daemon, a flow or a benchmark makes per frame."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import cv2
import numpy as np

from qcedge.ocr_templates.engines.base import OcrEngine, get_engine
from qcedge.ocr_templates.match import Matcher
from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.preprocess import DEFAULT, PrepSettings
from qcedge.ocr_templates.read import read_screen
from qcedge.ocr_templates.results import MatchResult, ScreenReading

log = logging.getLogger(__name__)


class ScreenReader:
    """Which of these templates is on screen, and what its fields say.

    `engine` is an OcrEngine or an engine name ('ppocr' default, 'tesseract').
    """

    def __init__(self, templates: Iterable[Template], engine: OcrEngine | str | None = None,
                 settings: PrepSettings = DEFAULT) -> None:
        self.templates = {t.id: t for t in templates}
        self.engine = engine if isinstance(engine, OcrEngine) else get_engine(engine or "ppocr")
        self.matcher = Matcher(self.templates.values(), engine=self.engine)
        self.settings = settings

    def match(self, image: np.ndarray) -> MatchResult | None:
        return self.matcher.best(image)

    def read(self, image: np.ndarray, match: MatchResult) -> ScreenReading:
        return read_screen(image, self.templates[match.template_id], match, self.engine, self.settings)

    def warm_up(self) -> float:
        """Read each template's reference image once, so that the first real screen is not slowed by the OCR
        runtime's lazy set-up (sessions, buffers for each crop shape, matcher caches); the seconds it took.
        A failing engine is not reported here: it shows on the first real screen. The matcher then forgets
        where the references were, so the first real screen is matched as without a warm-up."""
        t0 = time.perf_counter()
        for template in self.templates.values():
            path = template.reference_path
            image = cv2.imread(str(path)) if path is not None else None
            if image is None:
                continue
            try:
                self.process(image)
            except Exception:  # noqa: BLE001
                log.debug("warm-up read failed", exc_info=True)
        self.matcher.reset()
        return time.perf_counter() - t0

    def process(self, image: np.ndarray) -> ScreenReading | None:
        """Match then read; None when no template matches."""
        m = self.matcher.best(image)
        if m is None:
            return None
        reading = self.read(image, m)
        reading.seconds += m.seconds
        return reading
