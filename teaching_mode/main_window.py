"""The teaching window: open a source, draw and edit boxes, see live OCR, propose, test, save, record flows."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow, QMenu, QMessageBox,
                               QTabWidget, QWidget)

from qcedge.ocr_templates.errors import TemplateError
from qcedge.ocr_templates.results import FieldResult
from qcedge.teaching_mode.canvas import Canvas
from qcedge.teaching_mode.document import TeachDocument
from qcedge.teaching_mode.draft import TemplateDraft
from qcedge.teaching_mode.editor import ChecksEditor, FieldEditor, TemplateForm
from qcedge.teaching_mode.live_read import format_value, read_all
from qcedge.teaching_mode.mapping import item_to_frame, to_frame, to_reference
from qcedge.teaching_mode.pack import load_pack, save_pack
from qcedge.teaching_mode.panels import ItemsPanel, ProposalsPanel, SourcePanel, TestPanel
from qcedge.teaching_mode.propose import Proposal, merge_frames, propose_fields
from qcedge.teaching_mode.slots import find_slot
from qcedge.teaching_mode.snap import snap_box
from qcedge.teaching_mode.sources import OpenedSource, OpenError, open_any
from qcedge.teaching_mode.testing import FrameOutcome, iter_frames, run_test, summary
from qcedge.teaching_mode.workers import Job, LiveOcr

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """`qcedge teach`: one window for templates and flows."""

    def __init__(self, engine: str = "ppocr", live_ocr: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("qcedge teach"))
        self.resize(1600, 1000)
        self.engine_name = engine
        self.doc = TeachDocument(self)
        self.source: OpenedSource | None = None
        self.frozen = False
        self.snap_enabled = True
        self.last_latency: float | None = None
        self.test_outcomes: list[FrameOutcome] = []
        self.test_reports: list[Any] = []
        self.test_template = None
        self.test_job: Job | None = None
        self.propose_job: Job | None = None
        self.match_job: Job | None = None
        self._match_seq = 0
        self.match_report = None
        self.anchor_notes: dict[str, list[str]] = {}
        self._pack_refs: dict[str, np.ndarray] | None = None
        self._anchor_timer = QTimer(self)
        self._anchor_timer.setSingleShot(True)
        self._anchor_timer.setInterval(300)
        self._anchor_timer.timeout.connect(self._anchors_edited)

        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas)
        self.items = ItemsPanel()
        self.editor = FieldEditor(self.doc)
        self.template_form = TemplateForm(self.doc)
        self.checks = ChecksEditor(self.doc)
        self.proposals = ProposalsPanel()
        self.source_panel = SourcePanel()
        self.test_panel = TestPanel()
        from qcedge.teaching_mode.flow_panel import FlowPanel

        self.flow_panel = FlowPanel(self)

        self.items_dock = self._dock(self.tr("Fields"), self.items, Qt.DockWidgetArea.LeftDockWidgetArea, "items")
        right = QTabWidget()
        right.addTab(self.editor, self.tr("Field"))
        right.addTab(self.template_form, self.tr("Template"))
        right.addTab(self.checks, self.tr("Checks"))
        self.right_tabs = right
        self.editor_dock = self._dock(self.tr("Editor"), right, Qt.DockWidgetArea.RightDockWidgetArea, "editor")
        bottom = QTabWidget()
        bottom.addTab(self.source_panel, self.tr("Source"))
        bottom.addTab(self.proposals, self.tr("Proposals"))
        bottom.addTab(self.test_panel, self.tr("Test"))
        bottom.addTab(self.flow_panel, self.tr("Flow"))
        self.bottom_tabs = bottom
        self.tools_dock = self._dock(self.tr("Tools"), bottom, Qt.DockWidgetArea.BottomDockWidgetArea, "tools")
        self.resizeDocks([self.items_dock, self.editor_dock], [430, 400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.tools_dock], [240], Qt.Orientation.Vertical)

        self.status_zoom = QLabel()
        self.status_ocr = QLabel()
        self.statusBar().addPermanentWidget(self.status_ocr)
        self.statusBar().addPermanentWidget(self.status_zoom)

        self.live = LiveOcr(self._snapshot, engine_name=engine, parent=self)
        self.live.enabled = live_ocr
        self.live.resultReady.connect(self._live_result)
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(200)
        self.live_timer.timeout.connect(self._live_tick)

        self._make_actions()
        self._connect()
        self.set_tool("select")
        self._update_title()

    # construction ----------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut: Any = None, checkable: bool = False, tip: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if tip:
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        a = self._action
        self.act_new = a(self.tr("New template"), self.new_template, QKeySequence.StandardKey.New,
                         tip=self.tr("Start a new template on the frame shown (it becomes the reference)"))
        self.act_open = a(self.tr("Open source…"), self.open_source_dialog, QKeySequence.StandardKey.Open,
                          tip=self.tr("Open a still, a folder of stills, a video or a DICOM screen save to teach on"))
        self.act_open_live = a(self.tr("Open live source…"), self.open_live_dialog, "Ctrl+L",
                               tip=self.tr("Teach on the live screen, a capture card or a stream (freeze it with F9)"))
        self.act_open_tpl = a(self.tr("Open template…"), self.open_template_dialog, "Ctrl+Shift+O",
                              tip=self.tr("Edit a saved template; its reference image is shown"))
        self.recent_menu = QMenu(self.tr("Open recent"), self)
        self.recent_menu.setToolTipsVisible(True)
        self.act_save = a(self.tr("Save template"), self.save, QKeySequence.StandardKey.Save,
                          tip=self.tr("Save the template (YAML) and its reference image beside it"))
        self.act_save_as = a(self.tr("Save template as…"), self.save_as, "Ctrl+Shift+S",
                             tip=self.tr("Save the template under another name"))
        self.act_open_pack = a(self.tr("Open template pack…"), self.open_pack_dialog,
                               tip=self.tr("Pick a template of a pack folder (with pack.yaml) to edit"))
        self.act_save_pack = a(self.tr("Add to template pack…"), self.save_pack_dialog,
                               tip=self.tr("Write this template into a pack folder for the stations"))
        self.act_quit = a(self.tr("Quit"), self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = self.doc.undo.createUndoAction(self, self.tr("Undo"))
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = self.doc.undo.createRedoAction(self, self.tr("Redo"))
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addActions([self.act_undo, self.act_redo])
        self.act_delete = a(self.tr("Delete box"), self.delete_selected, [QKeySequence.StandardKey.Delete, "Backspace"],
                            tip=self.tr("Delete the selected box (undo brings it back)"))
        group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        tips = {"select": self.tr("Select, move and resize boxes; drag the background to pan"),
                "anchor": self.tr("Draw an anchor: a patch that never changes (title, logo) by which the screen is "
                                  "recognised and located"),
                "field": self.tr("Draw a field around a value: the box becomes the value's slot (its input widget "
                                 "or the space up to the next text)"),
                "table": self.tr("Draw a table around rows of values; columns come from its grid lines")}
        for tool, text, key in (("select", self.tr("Select / move"), "S"), ("anchor", self.tr("Draw anchor"), "A"),
                                ("field", self.tr("Draw field"), "F"), ("table", self.tr("Draw table"), "T")):
            act = a(text, lambda _=False, t=tool: self.set_tool(t), key, checkable=True, tip=tips[tool])
            group.addAction(act)
            self.tool_actions[tool] = act
        self.act_escape = a(self.tr("Select tool"), lambda: self.set_tool("select"), "Esc")
        self.act_snap = a(self.tr("Snap boxes to text"), self._toggle_snap, "N", checkable=True,
                          tip=self.tr("A drawn field grows to its slot, an anchor shrinks to its ink; off: boxes stay "
                                      "as drawn"))
        self.act_snap.setChecked(True)
        self.act_propose = a(self.tr("Propose fields"), lambda: self.propose(), "Ctrl+P",
                             tip=self.tr("Find label/value pairs on this frame (the visible part when zoomed in)"))
        self.act_propose_multi = a(self.tr("Propose from several frames"), self.propose_several, "Ctrl+Shift+P",
                                   tip=self.tr("Find label/value pairs on this and up to 4 other frames of the source: "
                                               "boxes hold the longest value, types fit every value"))
        self.act_read = a(self.tr("Read all fields"), self.read_all_now, "F5",
                          tip=self.tr("Read every field and run the checks on this frame"))
        self.act_test = a(self.tr("Test on frames…"), self.test_dialog, "Ctrl+T",
                          tip=self.tr("Match and read the template on chosen frame files (stills, recordings, DICOM)"))
        self.act_test_folder = a(self.tr("Test on a folder…"), self.test_folder_dialog, "Ctrl+Alt+T",
                                 tip=self.tr("Match and read the template on every frame of a folder"))
        self.act_test_rec = a(self.tr("Test on a recording…"), self.test_recording_dialog, "Ctrl+Shift+T",
                              tip=self.tr("Match and read the template on the changed frames of a recording"))
        self.act_test_again = a(self.tr("Run the test again"), self.test_again, "F6",
                                tip=self.tr("Test again on the same frames (after changing the template)"))
        self.act_test_again.setEnabled(bool(self.last_test_spec()))
        self.act_reference = a(self.tr("Use this frame as the reference"), self.use_frame_as_reference,
                               tip=self.tr("The frame shown becomes the template's reference image; the boxes stay "
                                           "where they are on it"))
        self.act_freeze = a(self.tr("Freeze frame"), self.toggle_freeze, "F9", checkable=True,
                            tip=self.tr("Stop (or resume) a live source on the current frame"))
        self.act_zoom_in = a(self.tr("Zoom in"), lambda: self.canvas.zoom(1.25))
        self.act_zoom_out = a(self.tr("Zoom out"), lambda: self.canvas.zoom(0.8))
        self.act_fit = a(self.tr("Fit frame"), self.canvas.fit, tip=self.tr("Show the whole frame (Ctrl+0)"))
        self.act_prev = a(self.tr("Previous frame"), lambda: self._step_frame(-1), "PgUp")
        self.act_next = a(self.tr("Next frame"), lambda: self._step_frame(1), "PgDown")
        self.act_lang = {code: a(name, lambda _=False, c=code: self._set_language(c), checkable=True)
                         for code, name in (("en", "English"), ("zh_CN", "中文"))}
        self.act_help = a(self.tr("Teaching guide"), lambda: self.open_help(), QKeySequence.StandardKey.HelpContents,
                          tip=self.tr("Open the teaching guide (docs/teaching.md)"))
        self.act_help_templates = a(self.tr("Template file format"), lambda: self.open_help("templates.md"),
                                    tip=self.tr("Open the template reference (docs/templates.md)"))
        self.act_about = a(self.tr("About qcedge teach"), self.about)

        menu = self.menuBar()
        m = menu.addMenu(self.tr("&File"))
        m.addActions([self.act_new, self.act_open, self.act_open_live, self.act_open_tpl])
        m.addMenu(self.recent_menu)
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_open_pack, self.act_save_pack])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = menu.addMenu(self.tr("&Edit"))
        m.addActions([self.act_undo, self.act_redo, self.act_delete])
        m.addSeparator()
        m.addActions(list(self.tool_actions.values()))
        m.addAction(self.act_snap)
        m = menu.addMenu(self.tr("&View"))
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_prev, self.act_next, self.act_freeze])
        m = menu.addMenu(self.tr("&Template"))
        m.addActions([self.act_propose, self.act_propose_multi, self.act_read])
        m.addSeparator()
        m.addActions([self.act_test, self.act_test_folder, self.act_test_rec, self.act_test_again])
        m.addSeparator()
        m.addAction(self.act_reference)
        m = menu.addMenu(self.tr("&Language"))
        m.addActions(list(self.act_lang.values()))
        from qcedge.teaching_mode import i18n

        for code, act in self.act_lang.items():
            act.setChecked(code == i18n.active)
        m = menu.addMenu(self.tr("&Help"))
        m.addActions([self.act_help, self.act_help_templates, self.act_about])
        for menu_ in self.menuBar().findChildren(QMenu):
            menu_.setToolTipsVisible(True)
        self._fill_recent()

        tb = self.addToolBar(self.tr("Main"))
        tb.setObjectName("main-toolbar")
        tb.addActions([self.act_open, self.act_open_tpl, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        tb.addSeparator()
        tb.addActions(list(self.tool_actions.values()))
        tb.addAction(self.act_snap)
        tb.addSeparator()
        tb.addActions([self.act_propose, self.act_read, self.act_test, self.act_test_again, self.act_freeze])

    # recent files, help, dialogs --------------------------------------------------------------------
    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve()) if Path(str(path)).exists() else str(path)
        recent = [r for r in self.recent_files() if r != p]
        QSettings().setValue("recent", [p, *recent][:8])
        self._fill_recent()

    def recent_files(self) -> list[str]:
        value = QSettings().value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = [r for r in self.recent_files() if Path(r).exists() or ":" in r]
        for path in files:
            act = self.recent_menu.addAction(Path(path).name or path, lambda p=path: self.open_path(p))
            act.setToolTip(path)
        self.recent_menu.setEnabled(bool(files))

    def docs_folder(self) -> Path:
        return Path(__file__).resolve().parents[1] / "docs"

    def open_help(self, name: str = "teaching.md") -> None:
        """Show a guide of docs/ (Markdown, with its pictures) in a window of its own."""
        from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout

        path = self.docs_folder() / name
        if not path.is_file():
            self._error(self.tr("Help"), self.tr("The guide %1 is not installed here.").replace("%1", name))
            return
        dialog = QDialog(self)
        dialog.setWindowTitle(self.tr("qcedge teach — help"))
        dialog.resize(900, 800)
        browser = QTextBrowser(dialog)
        browser.setSearchPaths([str(path.parent)])
        browser.setOpenExternalLinks(True)
        browser.setMarkdown(path.read_text(encoding="utf-8"))
        QVBoxLayout(dialog).addWidget(browser)
        dialog.finished.connect(lambda _: self._after_dialog())
        self.help_dialog = dialog
        dialog.show()

    def about(self) -> None:
        QMessageBox.about(self, self.tr("About qcedge teach"),
                          self.tr("qcedge teach: teach the screens the station reads, test the templates on "
                                  "recorded frames, and record the flows it replays."))
        self._after_dialog()

    def _after_dialog(self) -> None:
        """Keyboard focus back in the window after a dialog (Ctrl+S works without a click)."""
        self.raise_()
        self.activateWindow()
        self.canvas.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _connect(self) -> None:
        c, d = self.canvas, self.doc
        c.boxDrawn.connect(self._box_drawn)
        c.boxEdited.connect(self._box_edited)
        c.boxMoving.connect(self._box_moving)
        c.selectionNameChanged.connect(self._canvas_selection)
        c.zoomChanged.connect(lambda z: self.status_zoom.setText(f"{z * 100:.0f}%"))
        d.itemAdded.connect(self._item_added)
        d.itemRemoved.connect(self._item_removed)
        d.itemRenamed.connect(self._item_renamed)
        d.itemChanged.connect(self._item_changed)
        d.boxChanged.connect(self._box_changed)
        d.reset.connect(self._rebuild)
        d.frameChanged.connect(self._frame_changed)
        self.items.selected.connect(self.select)
        self.proposals.accept.connect(self.accept_proposals)
        self.proposals.highlight.connect(self.canvas.show_marker)
        self.proposals.changed.connect(self._show_proposals_on_canvas)
        c.proposalClicked.connect(self.proposals.select_index)
        c.proposalAccepted.connect(lambda i: self.proposals.accept_one(self.proposals.proposals[i])
                                   if i < len(self.proposals.proposals) else None)
        c.proposalRejected.connect(lambda i: self.proposals.reject_one(self.proposals.proposals[i])
                                   if i < len(self.proposals.proposals) else None)
        self.source_panel.frameRequested.connect(self.show_frame)
        self.source_panel.freezeToggled.connect(self._freeze_from_panel)
        self.test_panel.rowChosen.connect(self._test_row)
        self.template_form.changed.connect(self._update_title)
        d.dirtyChanged.connect(lambda _: self._update_title())

    # tools and selection ----------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        if tool in self.tool_actions:
            self.tool_actions[tool].setChecked(True)

    def _toggle_snap(self) -> None:
        self.snap_enabled = self.act_snap.isChecked()

    def select(self, name: str) -> None:
        self.canvas.select_name(name)
        self.items.select(name)
        self._edit(name or None)

    def _edit(self, name: str | None) -> None:
        """Show an item in the editor, with its own last read (not the previous item's)."""
        self.editor.show_item(name)
        if name in self.items.results:
            self._show_read(self.items.results[name])

    def _canvas_selection(self, name: str) -> None:
        self.items.select(name or None)
        if name != (self.editor.name or ""):
            self._edit(name or None)

    # sources ------------------------------------------------------------------------------------
    def open_path(self, spec: str) -> None:
        """Open a template (.yaml), a template pack, or a frame source."""
        path = Path(spec)
        if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
            self.open_template(path)
            return
        if path.is_dir() and (path / "pack.yaml").is_file():
            self.open_pack(path)
            return
        self.open_source(spec)

    def open_source(self, spec: str) -> None:
        try:
            source = open_any(spec)
        except OpenError as exc:
            self._error(self.tr("Cannot open the source"), str(exc))
            return
        if self.source is not None:
            self.source.close()
        self.source = source
        self.frozen = False
        self.act_freeze.setChecked(False)
        kinds = {"image": self.tr("Still image"), "folder": self.tr("Folder of stills"), "video": self.tr("Video file"),
                 "dicom": self.tr("DICOM screen save"), "live": self.tr("Live source")}
        self.source_panel.set_source(f"{kinds.get(source.kind, source.kind)}: {display_path(spec)}", source.count,
                                     source.names)
        if source.kind == "live":
            self.live_timer.start()
            self._live_tick()
        else:
            self.live_timer.stop()
            self.show_frame(0)
        if source.kind != "live":
            self.add_recent(spec)
        self.statusBar().showMessage(self.tr("Opened %1").replace("%1", display_path(spec)), 5000)

    def show_frame(self, index: int) -> None:
        if self.source is None or self.source.count is None:
            return
        try:
            image = self.source.frame_at(index)
        except Exception as exc:  # noqa: BLE001
            self._error(self.tr("Cannot read the frame"), str(exc))
            return
        self.show_image(image)

    def show_image(self, image: np.ndarray) -> None:
        """Show a frame: with taught anchors the template is matched on it and the boxes are shown
        (and edited) where they are on that frame; without, the frame becomes the reference."""
        template = self._match_template()
        if template is None:
            self.doc.set_frame(image)
            return
        self._match_seq += 1
        seq, reference = self._match_seq, self.doc.draft.image

        def work(job: Job) -> Any:
            from qcedge.ocr_templates.match import match_template

            return match_template(image, template, reference=reference)

        def done(match: Any) -> None:
            if seq != self._match_seq:
                return  # another frame was asked for since
            self.doc.set_frame(image, match)
            self._show_match(template, match, image)

        job = Job(work, self)
        job.finished.connect(done)
        job.failed.connect(lambda msg: self._error(self.tr("Cannot match the template"), msg))
        self.match_job = job.start()

    def _match_template(self):
        """The draft as a Template to match (None: no anchors or reference yet, or not valid yet)."""
        if not self.doc.draft.anchors or self.doc.draft.image is None:
            return None
        try:
            return self.doc.draft.to_template()
        except (TemplateError, ValueError) as exc:
            log.info("the frame becomes the reference: the template is not valid yet (%s)", exc)
            return None

    def _show_match(self, template: Any, match: Any, image: np.ndarray) -> None:
        """Each anchor's score on its row; a failed match names its failing anchors."""
        from qcedge.teaching_mode.diagnostics import explain

        report = explain(template, match, image.shape)
        for status in report.anchors:
            self.items.set_anchor(status.name, status, self.anchor_notes.get(status.name, []))
        self.match_report = report
        if match.matched:
            self.statusBar().showMessage(self.tr("Template matched on this frame (score %1): boxes are shown where "
                                                 "they are on it").replace("%1", f"{match.score:.2f}"), 8000)
        else:
            self.statusBar().showMessage(self.tr("No match on this frame: %1 (another screen? File > New template, "
                                                 "or Template > Use this frame as the reference)").replace(
                "%1", self.test_panel.match_summary(report)), 20000)

    def new_template(self) -> None:
        """An empty template on the frame shown (after asking to save unsaved changes)."""
        if not self._may_discard():
            return
        image = self.doc.image
        self.doc.load(TemplateDraft(image=None if image is None else image.copy()))
        self.statusBar().showMessage(self.tr("New template: draw anchors and fields, or propose (Ctrl+P)"), 8000)

    def _may_discard(self) -> bool:
        """True when there are no unsaved changes, or the person saved or discarded them."""
        if not self.doc.dirty or getattr(self, "quiet_errors", False):
            return True
        answer = QMessageBox.question(self, self.tr("Unsaved changes"), self.tr("Save the template first?"),
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        self._after_dialog()
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        return answer == QMessageBox.StandardButton.Discard or self.save()

    def use_frame_as_reference(self) -> None:
        """The frame shown becomes the template's reference image (boxes stay where they are on it)."""
        self.doc.use_as_reference()

    def _step_frame(self, step: int) -> None:
        s = self.source_panel.slider
        if s.isEnabled():
            s.setValue(max(0, min(s.maximum(), s.value() + step)))

    def _live_tick(self) -> None:
        if self.source is None or self.source.kind != "live" or self.frozen:
            return
        try:
            image = self.source.read()
        except Exception as exc:  # noqa: BLE001
            self.live_timer.stop()
            self._error(self.tr("The live source stopped"), str(exc))
            return
        if image is not None:
            if self.doc.draft.anchors and self.doc.draft.image is not None:
                # the template is taught: follow it on the live frames (one match at a time)
                if self.match_job is None or not self.match_job.thread.is_alive():
                    self.show_image(image)
            else:
                self.doc.set_frame(image)

    def toggle_freeze(self) -> None:
        self.frozen = self.act_freeze.isChecked()
        self.source_panel.freeze.blockSignals(True)
        self.source_panel.freeze.setChecked(self.frozen)
        self.source_panel.freeze.blockSignals(False)
        if self.frozen:
            self.request_all()
        self.statusBar().showMessage(self.tr("Frame frozen") if self.frozen else self.tr("Live"), 3000)

    def _freeze_from_panel(self, on: bool) -> None:
        self.act_freeze.setChecked(on)
        self.toggle_freeze()

    def _frame_changed(self) -> None:
        self.canvas.set_image(self.doc.image)
        for name, item in self.canvas.items_by_name.items():
            data = self.doc.data_of(name)
            if data is not None:
                item.set_box(self.to_frame_box(data["box"]))
                self._sync_table_overlay(name)
        if self.doc.mapping is None:
            self._refresh_anchor_notes()
        self.live.warm_up()
        if self.source is None or self.source.kind != "live" or self.frozen:
            self.request_all()

    def open_source_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a still, video or DICOM file"), "",
                                              self.tr("Frames (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.mp4 *.avi *.mkv *.mov *.dcm);;All files (*)"))
        self._after_dialog()
        if path:
            self.open_source(path)

    def open_live_dialog(self) -> None:
        spec, ok = QInputDialog.getText(self, self.tr("Open a live source"),
                                        self.tr("Source (screen, screen:1, device:0, udp://…, rtsp://…, a folder):"),
                                        text="screen")
        self._after_dialog()
        if ok and spec.strip():
            self.open_source(spec.strip())

    # template files -----------------------------------------------------------------------------
    def open_template(self, path: str | Path) -> None:
        try:
            draft = TemplateDraft.load(path)
        except (TemplateError, ValueError) as exc:
            self._error(self.tr("Cannot open the template"), str(exc))
            return
        self.doc.load(draft)
        self.add_recent(path)
        self.statusBar().showMessage(self.tr("Opened %1").replace("%1", display_path(path)), 5000)

    def open_template_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a template"), "", self.tr("Templates (*.yaml *.yml)"))
        self._after_dialog()
        if path:
            self.open_template(path)

    def save(self) -> bool:
        if self.doc.draft.path is None:
            return self.save_as()
        return self.save_to(self.doc.draft.path)

    def save_as(self) -> bool:
        default = f"{self.doc.draft.meta.get('id', 'template')}.yaml"
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save the template"), default, self.tr("Templates (*.yaml)"))
        self._after_dialog()
        return self.save_to(path) if path else False

    def save_to(self, path: str | Path) -> bool:
        try:
            saved = self.doc.draft.save(path)
        except (TemplateError, ValueError) as exc:
            self._error(self.tr("The template is not valid yet"), str(exc))
            return False
        self.doc.undo.setClean()
        self.doc.dirty = False
        self._pack_refs = None
        self._update_title()
        self.add_recent(saved)
        self.statusBar().showMessage(self.tr("Saved %1").replace("%1", display_path(saved)), 5000)
        return True

    def open_pack(self, folder: str | Path) -> None:
        try:
            pack = load_pack(folder)
        except (TemplateError, ValueError) as exc:
            self._error(self.tr("Cannot open the template pack"), str(exc))
            return
        names = [f"{t.id} ({t.title})" for t in pack.templates]
        choice, ok = QInputDialog.getItem(self, self.tr("Template pack %1 version %2").replace("%1", pack.id)
                                          .replace("%2", pack.version), self.tr("Template to edit:"), names, 0, False)
        self._after_dialog()
        if ok:
            self.open_template(pack.templates[names.index(choice)].path)

    def open_pack_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open a template pack folder"))
        self._after_dialog()
        if folder:
            self.open_pack(folder)

    def save_pack_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Template pack folder"))
        self._after_dialog()
        if not folder:
            return
        version, ok = QInputDialog.getText(self, self.tr("Pack version"), self.tr("Version of the pack:"), text="1")
        self._after_dialog()
        if not ok:
            return
        try:
            save_pack(folder, [self.doc.draft], version=version.strip() or "1")
        except (TemplateError, ValueError) as exc:
            self._error(self.tr("Cannot write the template pack"), str(exc))
            return
        self.statusBar().showMessage(self.tr("Saved %1").replace("%1", display_path(folder)), 5000)

    # items ----------------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self.canvas.clear_boxes()
        self.items.results.clear()
        self.items.anchors.clear()
        self._pack_refs = None
        for a in self.doc.draft.anchors:
            self.canvas.add_box(a["name"], "anchor", self.to_frame_box(a["box"]))
        for f in self.doc.draft.fields:
            self.canvas.add_box(f["name"], f.get("kind", "value"), self.to_frame_box(f["box"]))
            self._sync_table_overlay(f["name"])
        self._refresh_items()
        self.editor.show_item(None)
        self._update_title()

    def _refresh_items(self) -> None:
        rows = [(a["name"], "anchor") for a in self.doc.draft.anchors]
        rows += [(f["name"], f.get("kind", "value")) for f in self.doc.draft.fields]
        self.items.set_items(rows)

    def _update_title(self) -> None:
        """'<id>* — qcedge teach': the star while there are unsaved changes."""
        self.setWindowTitle(f"{self.doc.draft.meta.get('id', '')}[*] — {self.tr('qcedge teach')}")
        self.setWindowModified(self.doc.dirty)

    def _box_drawn(self, tool: str, box: list[int]) -> None:
        if self.doc.image is None:
            self.statusBar().showMessage(self.tr("Open a frame first (Ctrl+O)"), 5000)
            return
        if self.snap_enabled and tool == "anchor":
            box = snap_box(self.doc.image, box)
        elif self.snap_enabled and tool == "field":
            # the slot (input widget, cell, free space to the next text): longer values on other frames fit
            box = find_slot(self.doc.image, box)
        box = self.to_reference_box(box)
        if tool == "anchor":
            name = self.doc.draft.unique_name("anchor")
            data: dict[str, Any] = {"name": name, "box": box}
        elif tool == "table":
            name = self.doc.draft.unique_name("table")
            rh = max(8, min(box[3], 24))
            data = {"name": name, "kind": "table", "box": box, "row_height": rh,
                    "columns": [{"name": "col1", "x": 0, "w": box[2]}]}
        else:
            name = self.doc.draft.unique_name("field")
            data = {"name": name, "box": box}
        self.doc.add_item(tool, data, {"anchor": self.tr("Add anchor"), "table": self.tr("Add table")}.get(
            tool, self.tr("Add field")))
        self.select(name)
        self.right_tabs.setCurrentWidget(self.editor)
        self.editor.name_edit.setFocus()
        self.editor.name_edit.selectAll()

    def to_frame_box(self, box: list[int]) -> list[int]:
        """A reference box where it is on the frame shown."""
        return to_frame(box, self.doc.mapping)

    def to_reference_box(self, box: list[int]) -> list[int]:
        """A box on the frame shown in reference coordinates (what the template stores)."""
        return to_reference(box, self.doc.mapping)

    def _box_edited(self, name: str, old: list[int], new: list[int]) -> None:
        text = self.tr("Move box") if old[2:] == new[2:] else self.tr("Resize box")
        self.doc.move_item(name, self.to_reference_box(old), self.to_reference_box(new), text)

    def delete_selected(self) -> None:
        name = self.canvas.selected_name() or self.editor.name
        if name:
            self.doc.remove_item(name, self.tr("Delete box"))

    def _item_added(self, name: str) -> None:
        kind = self.doc.kind_of(name) or "value"
        data = self.doc.data_of(name)
        assert data is not None
        self.canvas.add_box(name, kind, self.to_frame_box(data["box"]))
        self._sync_table_overlay(name)
        self._refresh_items()
        if kind != "anchor":
            self.live.request(name)
        else:
            self._anchor_timer.start()

    def _item_removed(self, name: str) -> None:
        self.canvas.remove_box(name)
        self.live.forget(name)
        self.items.results.pop(name, None)
        self._refresh_items()

    def _item_renamed(self, old: str, new: str) -> None:
        self.canvas.rename_box(old, new)
        if old in self.items.results:
            self.items.results[new] = self.items.results.pop(old)
        self._refresh_items()
        self.items.select(new)

    def _anchors_edited(self) -> None:
        """An anchor was drawn, moved or resized: warnings again, and its live score on another frame."""
        self._refresh_anchor_notes()
        if self.doc.mapping is not None and self.doc.frame is not None:
            self.show_image(self.doc.frame)

    def _refresh_anchor_notes(self) -> None:
        """Warnings on weak anchors (too small, at the frame's edge, across a window edge, not
        distinctive against the other templates beside this one)."""
        from qcedge.teaching_mode.diagnostics import anchor_warnings, pack_references

        draft = self.doc.draft
        if draft.image is None:
            return
        if self._pack_refs is None:
            self._pack_refs = pack_references(draft.path, str(draft.meta.get("id", "")))
        self.anchor_notes = anchor_warnings(draft.anchors, draft.image, self._pack_refs)
        if self.doc.mapping is None:
            for a in draft.anchors:
                self.items.set_anchor(a["name"], None, self.anchor_notes.get(a["name"], []))

    def _item_changed(self, name: str) -> None:
        self._sync_table_overlay(name)
        if self.doc.kind_of(name) == "anchor":
            self._anchor_timer.start()
        if self.doc.kind_of(name) != "anchor":
            self.live.request(name)

    def _box_changed(self, name: str) -> None:
        item = self.canvas.items_by_name.get(name)
        data = self.doc.data_of(name)
        if item is not None and data is not None and item.box() != self.to_frame_box(data["box"]):
            item.set_box(self.to_frame_box(data["box"]))

    def _box_moving(self, name: str, box: list[int]) -> None:
        """While dragging: read the box where it is now (the document changes on release)."""
        if self.doc.kind_of(name) != "anchor":
            self._dragging = (name, box)
            self.live.request(name)

    def _sync_table_overlay(self, name: str) -> None:
        item = self.canvas.items_by_name.get(name)
        data = self.doc.data_of(name)
        if item is not None and data is not None and data.get("kind") == "table":
            data = item_to_frame(data, self.doc.mapping)
            item.table = {"header": data.get("header", 0), "row_height": data.get("row_height", 20),
                          "columns": data.get("columns", [])}
            item.update()

    # live OCR -----------------------------------------------------------------------------------------
    def _snapshot(self) -> tuple[np.ndarray | None, dict[str, Any]]:
        """The frame and the template mapping as they are now, with boxes as currently dragged."""
        data = self.doc.draft.to_data()
        image = self.doc.image
        if self.doc.mapping is not None and image is not None:
            # another frame than the reference: read it where the template sits on it (frame coordinates)
            data["fields"] = [item_to_frame(f, self.doc.mapping) for f in data["fields"]]
            data["anchors"] = [item_to_frame(a, self.doc.mapping) for a in data["anchors"]]
            data["reference"] = {**data["reference"], "width": int(image.shape[1]), "height": int(image.shape[0])}
        for f in data["fields"]:
            item = self.canvas.items_by_name.get(f["name"])
            if item is not None:
                f["box"] = item.box()
        return image, data

    def request_all(self) -> None:
        names = [f["name"] for f in self.doc.draft.fields]
        if names:
            self.live.request(*names)

    def _live_result(self, name: str, result: FieldResult, seconds: float | None) -> None:
        if seconds is not None:
            self.last_latency = seconds
            self.status_ocr.setText(self.tr("live OCR %1 ms").replace("%1", f"{seconds * 1000:.0f}"))
        self.items.set_result(name, result)
        item = self.canvas.items_by_name.get(name)
        if item is not None:
            item.state = "valid" if result.valid else "invalid"
            item.caption = f"= {format_value(result) or result.text} ({result.confidence:.2f})"
            item.update()
        if name == self.editor.name:
            self._show_read(result)

    def _show_read(self, result: FieldResult) -> None:
        reasons = "; ".join(result.reasons)
        self.editor.result.setText(self.tr("Read: «%1» → %2, confidence %3 %4")
                                   .replace("%1", result.text).replace("%2", format_value(result))
                                   .replace("%3", f"{result.confidence:.2f}")
                                   .replace("%4", "✓" if result.valid else f"✗ {reasons}"))

    def read_all_now(self) -> None:
        """Read every field and the checks (F5), off the GUI thread."""
        image, data = self._snapshot()
        if image is None or not data["fields"]:
            return

        def work(job: Job) -> Any:
            return read_all(image, data, engine=self.live.engine())

        job = Job(work, self)
        job.finished.connect(self._read_all_done)
        job.failed.connect(lambda msg: self._error(self.tr("Cannot read the template"), msg))
        job.start()

    def _read_all_done(self, reading: Any) -> None:
        for name, res in reading.fields.items():
            self._live_result(name, res, None)
        text = ", ".join(("✓ " if c.ok else "✗ ") + c.name + (f" ({c.message})" if c.message and not c.ok else "")
                         for c in reading.checks)
        self.items.checks.setText(self.tr("Checks: %1").replace("%1", text) if text else "")

    # propose ------------------------------------------------------------------------------------------
    def visible_region(self) -> list[int] | None:
        """The part of the frame shown in the canvas, when zoomed in (None: the whole frame is shown)."""
        image = self.doc.image
        if image is None:
            return None
        r = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        H, W = image.shape[:2]
        x0, y0 = max(0, int(r.left())), max(0, int(r.top()))
        x1, y1 = min(W, int(r.right()) + 1), min(H, int(r.bottom()) + 1)
        if x1 - x0 <= 0 or y1 - y0 <= 0 or (x1 - x0) * (y1 - y0) > 0.9 * W * H:
            return None
        return [x0, y0, x1 - x0, y1 - y0]

    def other_frames(self, count: int = 4) -> list[int]:
        """Up to `count` other frames of the open source, spread over it (for learning proposals)."""
        if self.source is None or not self.source.count or self.source.count < 2:
            return []
        n, here = self.source.count, self.source_panel.slider.value()
        picks = sorted({round(i * (n - 1) / max(1, count)) for i in range(count + 1)} - {here})
        return picks[:count]

    def propose_several(self) -> None:
        """Propose on this frame and learn from other frames of the source: boxes grow to the longest value."""
        self.propose(frames=self.other_frames())

    def propose(self, region: list[int] | None = None, frames: list[int] | None = None) -> None:
        """Detect text (in the visible part of the frame when zoomed in) and offer label/value pairs.

        With `frames` (indexes of the open source), the proposals are learned from those frames too.
        """
        image = self.doc.image
        if image is None:
            return
        region = region or self.visible_region()
        taken = self.doc.draft.names()
        others = []
        for i in frames or ():
            try:
                others.append(self.source.frame_at(i))
            except Exception as exc:  # noqa: BLE001 - a frame that cannot be read is left out
                log.warning("frame %d left out of the proposals: %s", i, exc)
        self.statusBar().showMessage(self.tr("Detecting text on %n frame(s)…", "", 1 + len(others)))
        self.bottom_tabs.setCurrentWidget(self.proposals)
        engine = self.live.engine()

        def detect(img: np.ndarray) -> list:
            from qcedge.ocr_templates.engines.base import TextBox

            if region is None or img is not image:
                return engine.detect(img)
            x, y, w, h = region
            return [TextBox((b.box[0] + x, b.box[1] + y, b.box[2], b.box[3]), b.text, b.confidence)
                    for b in engine.detect(img[y:y + h, x:x + w])]

        def work(job: Job) -> list[Proposal]:
            first = propose_fields(detect(image), image, taken)
            if not others:
                return first
            rest = [propose_fields(detect(img), img, set(taken)) for img in others]
            return merge_frames(first, rest)

        self.propose_job = Job(work, self)
        self.propose_job.finished.connect(self._proposed)
        self.propose_job.failed.connect(lambda msg: self._error(self.tr("Propose failed"), msg))
        self.propose_job.start()

    def _proposed(self, proposals: list[Proposal]) -> None:
        existing = [self.to_frame_box(f["box"]) for f in self.doc.draft.fields]
        fresh = [p for p in proposals if not any(_overlap(p.box, b) > 0.5 for b in existing)]
        self.proposals.set_proposals(fresh)
        self.statusBar().showMessage(self.tr("%n proposal(s)", "", len(fresh)), 5000)

    def _show_proposals_on_canvas(self) -> None:
        self.canvas.set_proposals([(list(p.box), p.likely) for p in self.proposals.proposals])

    def accept_proposals(self, proposals: list[Proposal]) -> None:
        items = []
        for p in proposals:
            data = p.to_field()
            data["box"] = self.to_reference_box(data["box"])
            data["name"] = self.doc.draft.unique_name(p.name) if p.name in self.doc.draft.names() else p.name
            items.append(("field", data))
        if items:
            self.doc.add_items(items, self.tr("Accept proposals") if len(items) > 1 else self.tr("Accept proposal"))
            self.canvas.show_marker(None)
            name = items[-1][1]["name"]
            # the selection follows, the view and the proposals list stay where they are
            self.canvas.select_name(name)
            self.items.select(name)
            self._edit(name)

    # test -------------------------------------------------------------------------------------------------
    def test_dialog(self) -> None:
        """Test on frames: files (stills, recordings, DICOM; several at once)."""
        paths, _ = QFileDialog.getOpenFileNames(
            self, self.tr("Frames to test on"), self._test_start_dir(),
            self.tr("Frames and recordings (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.dcm *.mp4 *.avi *.mkv *.mov *.ts)"
                    ";;All files (*)"))
        self._after_dialog()
        if paths:
            self.run_test(paths)

    def test_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Folder of frames to test on"), self._test_start_dir())
        self._after_dialog()
        if folder:
            self.run_test(folder)

    def test_recording_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Recording to test on"), self._test_start_dir(),
                                              self.tr("Recordings (*.mp4 *.avi *.mkv *.mov *.ts);;All files (*)"))
        self._after_dialog()
        if path:
            self.run_test(path)

    def _test_start_dir(self) -> str:
        last = self.last_test_spec()
        if not last:
            return ""
        first = Path(last[0])
        return str(first if first.is_dir() else first.parent)

    def last_test_spec(self) -> list[str]:
        value = QSettings().value("test/last", [])
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

    def run_test(self, spec: str | Path | list, limit: int | None = None) -> Job | None:
        try:
            template = self.doc.draft.to_template()
        except (TemplateError, ValueError) as exc:
            self._error(self.tr("The template is not valid yet"), str(exc))
            return None
        specs = [str(x) for x in spec] if isinstance(spec, (list, tuple)) else [str(spec)]
        QSettings().setValue("test/last", specs)
        self.act_test_again.setEnabled(True)
        reference = self.doc.draft.image  # matched from memory: nothing of the frames goes to disk
        shown = specs[0] if len(specs) == 1 else self.tr("%1 files").replace("%1", str(len(specs)))
        spec = specs if len(specs) > 1 else specs[0]
        self.test_template = template
        self.test_outcomes = []
        self.test_reports: list[Any] = []
        self.bottom_tabs.setCurrentWidget(self.test_panel)
        self.test_panel.start([f.name for f in template.fields], self.tr("Testing on %1…").replace("%1", shown))
        engine = self.live.engine()

        def work(job: Job) -> list[FrameOutcome]:
            frames = iter_frames(spec)
            if limit:
                import itertools

                frames = itertools.islice(frames, limit)

            def each(outcome: FrameOutcome) -> bool:
                job.progress.emit(0, 0, outcome)
                return job.cancelled

            return run_test(template, frames, engine=engine, on_frame=each, reference=reference)

        job = Job(work, self)
        job.progress.connect(lambda _a, _b, o: self._test_frame(o))
        job.finished.connect(self._test_done)
        job.failed.connect(self._test_failed)
        self.test_job = job.start()
        return job

    def _test_failed(self, message: str) -> None:
        self.test_job = None
        self.test_panel.finish(self.tr("The test failed: %1").replace("%1", message))
        self._error(self.tr("The test failed"), message)

    def _test_frame(self, outcome: FrameOutcome) -> None:
        from qcedge.teaching_mode.diagnostics import explain

        self.test_outcomes.append(outcome)
        report = None
        if self.test_template is not None and outcome.image is not None and outcome.error is None:
            report = explain(self.test_template, outcome.match, outcome.image.shape)
        self.test_reports.append(report)
        self.test_panel.add_outcome(outcome, report)

    def _test_done(self, outcomes: list[FrameOutcome]) -> None:
        s = summary(outcomes)
        self.test_panel.finish(self.tr("%1 frames: %2 matched (%3 complete, %4 need review), %5 did not match, %6 errors")
                               .replace("%1", str(s["frames"])).replace("%2", str(s["matched"]))
                               .replace("%3", str(s["complete"])).replace("%4", str(s["needs_review"]))
                               .replace("%5", str(s["no match"])).replace("%6", str(s["error"])))
        self.test_job = None

    def _test_row(self, row: int) -> None:
        if row >= len(self.test_outcomes) or self.test_template is None:
            return
        outcome = self.test_outcomes[row]
        report = self.test_reports[row] if row < len(self.test_reports) else None
        crops = []
        for name in outcome.failed_fields():
            res = outcome.reading.fields[name]
            crops.append((name, outcome.crop(name, self.test_template), f"«{res.text}» {'; '.join(res.reasons)}"))
        header = ""
        if report is not None:
            lines = [("✗ " if a.failed else "○ " if a.hidden is not None else "✓ ")
                     + f"{a.name}: {a.score:.2f} {self.test_panel.anchor_reason(a)}".rstrip() for a in report.anchors]
            header = "<b>" + self.test_panel.match_summary(report) + "</b><br>" + "<br>".join(lines)
        elif outcome.error:
            header = self.tr("error: %1").replace("%1", outcome.error)
        self.test_panel.show_crops(crops, header)
        if outcome.image is not None and outcome.error is None:
            # the frame, with the template where the test matched it (and the boxes mapped onto it)
            self.doc.set_frame(outcome.image, outcome.match)
            if report is not None:
                for status in report.anchors:
                    self.items.set_anchor(status.name, status, self.anchor_notes.get(status.name, []))

    # misc -----------------------------------------------------------------------------------------------------
    def _set_language(self, code: str) -> None:
        QSettings().setValue("language", code)
        for c, act in self.act_lang.items():
            act.setChecked(c == code)
        QMessageBox.information(self, self.tr("Language"), self.tr("The language changes when qcedge teach starts next time."))
        self._after_dialog()

    def _error(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        if not getattr(self, "quiet_errors", False):
            QMessageBox.warning(self, title, message)
            self._after_dialog()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.doc.dirty and not getattr(self, "quiet_errors", False):
            answer = QMessageBox.question(self, self.tr("Unsaved changes"), self.tr("Save the template before closing?"),
                                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                          | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel or (answer == QMessageBox.StandardButton.Save and not self.save()):
                event.ignore()
                return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        self.live_timer.stop()
        if self.test_job is not None:
            self.test_job.cancelled = True
        self.test_outcomes, self.test_reports = [], []  # frames of the test (patient data) go with the window
        self.live.close()
        self.flow_panel.shutdown()
        if self.source is not None:
            self.source.close()
            self.source = None


def display_path(path: str | Path) -> str:
    """A path as shown in the window: relative to the working folder when inside it."""
    text = str(path)
    if "://" in text:
        return text
    try:
        return str(Path(text).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return text


def _overlap(a: list[int], b: list[int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / float(min(a[2] * a[3], b[2] * b[3]) or 1)
