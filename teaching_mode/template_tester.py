"""The test runner of the teaching window: the template as edited, over chosen frames, files, a folder or
a recording, off the GUI thread; per frame what it matched and read, the failures explained."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QMainWindow

from qcedge.ocr_templates.errors import TemplateError
from qcedge.teaching_mode import dialogs
from qcedge.teaching_mode.testing import FrameOutcome, iter_frames, run_test, summary
from qcedge.teaching_mode.workers import Job

LAST_TEST = "test/last"  # the settings key of the last frames tested on (F6 tests on them again)


class TemplateTester(QObject):
    """Runs the template over frames and fills the Test tab (`window.tester`).

    The frames and what was read from them (patient data) stay in memory, and go with `forget()`.
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.outcomes: list[FrameOutcome] = []
        self.reports: list[Any] = []
        self.template: Any = None
        self.job: Job | None = None

    # choosing the frames --------------------------------------------------------------------------
    def test_dialog(self) -> None:
        """Test on frames: files (stills, recordings, DICOM; several at once)."""
        paths = dialogs.open_files(
            self.window, self.tr("Frames to test on"),
            self.tr("Frames and recordings (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.dcm *.mp4 *.avi *.mkv *.mov *.ts)"
                    ";;All files (*)"), self._start_dir())
        if paths:
            self.run_test(paths)

    def test_folder_dialog(self) -> None:
        folder = dialogs.folder(self.window, self.tr("Folder of frames to test on"), self._start_dir())
        if folder:
            self.run_test(folder)

    def test_recording_dialog(self) -> None:
        path = dialogs.open_file(self.window, self.tr("Recording to test on"),
                                 self.tr("Recordings (*.mp4 *.avi *.mkv *.mov *.ts);;All files (*)"), self._start_dir())
        if path:
            self.run_test(path)

    def _start_dir(self) -> str:
        last = self.last_test_spec()
        if not last:
            return ""
        first = Path(last[0])
        return str(first if first.is_dir() else first.parent)

    def last_test_spec(self) -> list[str]:
        """The files or folder of the last test that still exist."""
        value = QSettings().value(LAST_TEST, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if Path(str(v)).exists()]

    def test_again(self) -> None:
        """Run the last test again (the same files or folder), e.g. after changing a box."""
        spec = self.last_test_spec()
        if not spec:
            self.test_dialog()
            return
        self.run_test(spec if len(spec) > 1 else spec[0])

    # running ---------------------------------------------------------------------------------------
    def run_test(self, spec: str | Path | list, limit: int | None = None) -> Job | None:
        """Test the template as edited on `spec` (files, a folder or a recording; at most `limit` frames)."""
        w = self.window
        try:
            template = w.doc.draft.to_template()
        except (TemplateError, ValueError) as exc:
            w.report_error(self.tr("The template is not valid yet"), str(exc))
            return None
        specs = [str(x) for x in spec] if isinstance(spec, (list, tuple)) else [str(spec)]
        QSettings().setValue(LAST_TEST, specs)
        w.act_test_again.setEnabled(True)
        reference = w.doc.draft.image  # matched from memory: nothing of the frames goes to disk
        shown = specs[0] if len(specs) == 1 else self.tr("%1 files").replace("%1", str(len(specs)))
        spec = specs if len(specs) > 1 else specs[0]
        self.template = template
        self.outcomes = []
        self.reports = []
        w.bottom_tabs.setCurrentWidget(w.test_panel)
        w.test_panel.start([f.name for f in template.fields], self.tr("Testing on %1…").replace("%1", shown))
        engine = w.live.engine()

        def work(job: Job) -> list[FrameOutcome]:
            frames = iter_frames(spec)
            if limit:
                frames = itertools.islice(frames, limit)

            def each(outcome: FrameOutcome) -> bool:
                job.progress.emit(0, 0, outcome)
                return job.cancelled

            return run_test(template, frames, engine=engine, on_frame=each, reference=reference)

        job = Job(work, self)
        job.progress.connect(lambda _a, _b, o: self._frame_done(o))
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        self.job = job.start()
        return job

    def _failed(self, message: str) -> None:
        self.job = None
        self.window.test_panel.finish(self.tr("The test failed: %1").replace("%1", message))
        self.window.report_error(self.tr("The test failed"), message)

    def _frame_done(self, outcome: FrameOutcome) -> None:
        from qcedge.teaching_mode.diagnostics import explain

        self.outcomes.append(outcome)
        report = None
        if self.template is not None and outcome.image is not None and outcome.error is None:
            report = explain(self.template, outcome.match, outcome.image.shape)
        self.reports.append(report)
        self.window.test_panel.add_outcome(outcome, report)

    def _done(self, outcomes: list[FrameOutcome]) -> None:
        s = summary(outcomes)
        self.window.test_panel.finish(
            self.tr("%1 frames: %2 matched (%3 complete, %4 need review), %5 did not match, %6 errors")
            .replace("%1", str(s["frames"])).replace("%2", str(s["matched"]))
            .replace("%3", str(s["complete"])).replace("%4", str(s["needs_review"]))
            .replace("%5", str(s["no match"])).replace("%6", str(s["error"])))
        self.job = None

    def show_row(self, row: int) -> None:
        """A row of the Test tab chosen: its failed fields' crops, its match explained, the frame shown."""
        w = self.window
        if row >= len(self.outcomes) or self.template is None:
            return
        outcome = self.outcomes[row]
        report = self.reports[row] if row < len(self.reports) else None
        crops = []
        for name in outcome.failed_fields():
            res = outcome.reading.fields[name]
            crops.append((name, outcome.crop(name, self.template), f"«{res.text}» {'; '.join(res.reasons)}"))
        header = ""
        if report is not None:
            lines = [("✗ " if a.failed else "○ " if a.hidden is not None else "✓ ")
                     + f"{a.name}: {a.score:.2f} {w.test_panel.anchor_reason(a)}".rstrip() for a in report.anchors]
            header = "<b>" + w.test_panel.match_summary(report) + "</b><br>" + "<br>".join(lines)
        elif outcome.error:
            header = self.tr("error: %1").replace("%1", outcome.error)
        w.test_panel.show_crops(crops, header)
        if outcome.image is not None and outcome.error is None:
            # the frame, with the template where the test matched it (and the boxes mapped onto it)
            w.doc.set_frame(outcome.image, outcome.match)
            if report is not None:
                for status in report.anchors:
                    w.items.set_anchor(status.name, status, w.boxes.anchor_notes.get(status.name, []))

    def forget(self) -> None:
        """Cancel a running test and drop its frames (patient data go with the window)."""
        if self.job is not None:
            self.job.cancelled = True
        self.outcomes, self.reports = [], []
