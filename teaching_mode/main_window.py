"""The teaching window: a composition of the canvas, the dock panels and one controller per job.

    window.files     template and pack files, recent files     (template_files.TemplateFiles)
    window.sources   the frame source, live following, match   (source_control.SourceControl)
    window.boxes     canvas boxes in step with the document    (box_sync.BoxSync)
    window.reading   live OCR shown, Read all                   (live_fields.FieldReading)
    window.proposer  propose fields and accept them             (proposing.Proposer)
    window.tester    test the template on frames                (template_tester.TemplateTester)

The window itself builds the widgets, the actions and menus, and keeps the selection.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget, QWidget

from qcedge.teaching_mode.box_sync import BoxSync
from qcedge.teaching_mode.canvas import Canvas
from qcedge.teaching_mode.checks_editor import ChecksEditor
from qcedge.teaching_mode.document import TeachDocument
from qcedge.teaching_mode.draft import TemplateDraft
from qcedge.teaching_mode.editor import FieldEditor
from qcedge.teaching_mode.live_fields import FieldReading
from qcedge.teaching_mode.outcomes_panel import TestPanel
from qcedge.teaching_mode.panels import ItemsPanel, ProposalsPanel, SourcePanel
from qcedge.teaching_mode.proposing import Proposer
from qcedge.teaching_mode.source_control import SourceControl
from qcedge.teaching_mode.template_files import TemplateFiles
from qcedge.teaching_mode.template_form import TemplateForm
from qcedge.teaching_mode.template_tester import TemplateTester
from qcedge.teaching_mode.workers import LiveOcr

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """`qcedge teach`: one window for templates and flows.

    `quiet_errors`: errors go to the status bar only, with no message box, and unsaved changes are
    dropped without asking (for tests, benchmarks and the screenshot script, which have nobody to answer).
    """

    def __init__(self, engine: str = "ppocr", live_ocr: bool = True, quiet_errors: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("qcedge teach"))
        self.resize(1600, 1000)
        self.quiet_errors = quiet_errors
        self.help_dialog: QWidget | None = None
        self.doc = TeachDocument(self)

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

        self.files = TemplateFiles(self)
        self.sources = SourceControl(self)
        self.boxes = BoxSync(self)
        self.reading = FieldReading(self)
        self.proposer = Proposer(self)
        self.tester = TemplateTester(self)

        self.status_zoom = QLabel()
        self.statusBar().addPermanentWidget(self.reading.status)
        self.statusBar().addPermanentWidget(self.status_zoom)

        self.live = LiveOcr(self.reading.snapshot, engine_name=engine, parent=self)
        self.live.enabled = live_ocr
        self.live.resultReady.connect(self.reading.show_result)

        self._make_actions()
        self._connect()
        self.set_tool("select")
        self.update_title()

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
        self.act_open = a(self.tr("Open source…"), self.sources.open_source_dialog, QKeySequence.StandardKey.Open,
                          tip=self.tr("Open a still, a folder of stills, a video or a DICOM screen save to teach on"))
        self.act_open_live = a(self.tr("Open live source…"), self.sources.open_live_dialog, "Ctrl+L",
                               tip=self.tr("Teach on the live screen, a capture card or a stream (freeze it with F9)"))
        self.act_open_tpl = a(self.tr("Open template…"), self.files.open_template_dialog, "Ctrl+Shift+O",
                              tip=self.tr("Edit a saved template; its reference image is shown"))
        self.act_save = a(self.tr("Save template"), self.files.save, QKeySequence.StandardKey.Save,
                          tip=self.tr("Save the template (YAML) and its reference image beside it"))
        self.act_save_as = a(self.tr("Save template as…"), self.files.save_as, "Ctrl+Shift+S",
                             tip=self.tr("Save the template under another name"))
        self.act_open_pack = a(self.tr("Open template pack…"), self.files.open_pack_dialog,
                               tip=self.tr("Pick a template of a pack folder (with pack.yaml) to edit"))
        self.act_save_pack = a(self.tr("Add to template pack…"), self.files.save_pack_dialog,
                               tip=self.tr("Write this template into a pack folder for the stations"))
        self.act_quit = a(self.tr("Quit"), self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = self.doc.undo.createUndoAction(self, self.tr("Undo"))
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = self.doc.undo.createRedoAction(self, self.tr("Redo"))
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addActions([self.act_undo, self.act_redo])
        self.act_delete = a(self.tr("Delete box"), self.boxes.delete_selected, [QKeySequence.StandardKey.Delete, "Backspace"],
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
        self.act_propose = a(self.tr("Propose fields"), lambda: self.proposer.propose(), "Ctrl+P",
                             tip=self.tr("Find label/value pairs on this frame (the visible part when zoomed in)"))
        self.act_propose_multi = a(self.tr("Propose from several frames"), self.proposer.propose_several, "Ctrl+Shift+P",
                                   tip=self.tr("Find label/value pairs on this and up to 4 other frames of the source: "
                                               "boxes hold the longest value, types fit every value"))
        self.act_read = a(self.tr("Read all fields"), self.reading.read_all_now, "F5",
                          tip=self.tr("Read every field and run the checks on this frame"))
        self.act_test = a(self.tr("Test on frames…"), self.tester.test_dialog, "Ctrl+T",
                          tip=self.tr("Match and read the template on chosen frame files (stills, recordings, DICOM)"))
        self.act_test_folder = a(self.tr("Test on a folder…"), self.tester.test_folder_dialog, "Ctrl+Alt+T",
                                 tip=self.tr("Match and read the template on every frame of a folder"))
        self.act_test_rec = a(self.tr("Test on a recording…"), self.tester.test_recording_dialog, "Ctrl+Shift+T",
                              tip=self.tr("Match and read the template on the changed frames of a recording"))
        self.act_test_again = a(self.tr("Run the test again"), self.tester.test_again, "F6",
                                tip=self.tr("Test again on the same frames (after changing the template)"))
        self.act_test_again.setEnabled(bool(self.tester.last_test_spec()))
        self.act_reference = a(self.tr("Use this frame as the reference"), self.use_frame_as_reference,
                               tip=self.tr("The frame shown becomes the template's reference image; the boxes stay "
                                           "where they are on it"))
        self.act_freeze = a(self.tr("Freeze frame"), self.sources.toggle_freeze, "F9", checkable=True,
                            tip=self.tr("Stop (or resume) a live source on the current frame"))
        self.act_zoom_in = a(self.tr("Zoom in"), lambda: self.canvas.zoom(1.25))
        self.act_zoom_out = a(self.tr("Zoom out"), lambda: self.canvas.zoom(0.8))
        self.act_fit = a(self.tr("Fit frame"), self.canvas.fit, tip=self.tr("Show the whole frame (Ctrl+0)"))
        self.act_prev = a(self.tr("Previous frame"), lambda: self.sources.step_frame(-1), "PgUp")
        self.act_next = a(self.tr("Next frame"), lambda: self.sources.step_frame(1), "PgDown")
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
        m.addMenu(self.files.recent_menu)
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
        self.files.fill_recent()

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

    def _connect(self) -> None:
        c, d = self.canvas, self.doc
        self.boxes.connect_to(c, d)
        c.selectionNameChanged.connect(self._canvas_selection)
        c.zoomChanged.connect(lambda z: self.status_zoom.setText(f"{z * 100:.0f}%"))
        self.items.selected.connect(self.select)
        self.proposals.accept.connect(self.proposer.accept)
        self.proposals.highlight.connect(self.canvas.show_marker)
        self.proposals.changed.connect(self.proposer.show_on_canvas)
        c.proposalClicked.connect(self.proposals.select_index)
        c.proposalAccepted.connect(self.proposer.accept_at)
        c.proposalRejected.connect(self.proposer.reject_at)
        self.source_panel.frameRequested.connect(self.sources.show_frame)
        self.source_panel.freezeToggled.connect(self.sources.freeze_from_panel)
        self.test_panel.rowChosen.connect(self.tester.show_row)
        self.template_form.changed.connect(self.update_title)
        d.dirtyChanged.connect(lambda _: self.update_title())

    # help and dialogs ---------------------------------------------------------------------------------
    def docs_folder(self) -> Path:
        return Path(__file__).resolve().parents[1] / "docs"

    def open_help(self, name: str = "teaching.md") -> None:
        """Show a guide of docs/ (Markdown, with its pictures) in a window of its own."""
        from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout

        path = self.docs_folder() / name
        if not path.is_file():
            self.report_error(self.tr("Help"), self.tr("The guide %1 is not installed here.").replace("%1", name))
            return
        dialog = QDialog(self)
        dialog.setWindowTitle(self.tr("qcedge teach — help"))
        dialog.resize(900, 800)
        browser = QTextBrowser(dialog)
        browser.setSearchPaths([str(path.parent)])
        browser.setOpenExternalLinks(True)
        browser.setMarkdown(path.read_text(encoding="utf-8"))
        QVBoxLayout(dialog).addWidget(browser)
        dialog.finished.connect(lambda _: self.after_dialog())
        self.help_dialog = dialog
        dialog.show()

    def about(self) -> None:
        QMessageBox.about(self, self.tr("About qcedge teach"),
                          self.tr("qcedge teach: teach the screens the station reads, test the templates on "
                                  "recorded frames, and record the flows it replays."))
        self.after_dialog()

    def after_dialog(self) -> None:
        """Keyboard focus back in the window after a dialog (Ctrl+S works without a click)."""
        self.raise_()
        self.activateWindow()
        self.canvas.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def report_error(self, title: str, message: str) -> None:
        """An error for the person: logged, in the status bar, and in a message box unless `quiet_errors`."""
        log.warning("%s: %s", title, message)
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        if not self.quiet_errors:
            QMessageBox.warning(self, title, message)
            self.after_dialog()

    def _set_language(self, code: str) -> None:
        QSettings().setValue("language", code)
        for c, act in self.act_lang.items():
            act.setChecked(c == code)
        QMessageBox.information(self, self.tr("Language"), self.tr("The language changes when qcedge teach starts next time."))
        self.after_dialog()

    # tools and selection ----------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        if tool in self.tool_actions:
            self.tool_actions[tool].setChecked(True)

    def _toggle_snap(self) -> None:
        self.boxes.snap_enabled = self.act_snap.isChecked()

    def select(self, name: str) -> None:
        self.canvas.select_name(name)
        self.items.select(name)
        self.edit_item(name or None)

    def edit_item(self, name: str | None) -> None:
        """Show an item in the editor, with its own last read (not the previous item's)."""
        self.editor.show_item(name)
        if name in self.items.results:
            self.reading.show_in_editor(self.items.results[name])

    def _canvas_selection(self, name: str) -> None:
        self.items.select(name or None)
        if name != (self.editor.name or ""):
            self.edit_item(name or None)

    def update_title(self) -> None:
        """'<id>* — qcedge teach': the star while there are unsaved changes."""
        self.setWindowTitle(f"{self.doc.draft.meta.get('id', '')}[*] — {self.tr('qcedge teach')}")
        self.setWindowModified(self.doc.dirty)

    # the document as a whole ---------------------------------------------------------------------
    def open_path(self, spec: str) -> None:
        """Open a template (.yaml), a template pack, or a frame source."""
        path = Path(spec)
        if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
            self.files.open_template(path)
            return
        if path.is_dir() and (path / "pack.yaml").is_file():
            self.files.open_pack(path)
            return
        self.sources.open_source(spec)

    def new_template(self) -> None:
        """An empty template on the frame shown (after asking to save unsaved changes)."""
        if not self.may_discard():
            return
        image = self.doc.image
        self.doc.load(TemplateDraft(image=None if image is None else image.copy()))
        self.statusBar().showMessage(self.tr("New template: draw anchors and fields, or propose (Ctrl+P)"), 8000)

    def may_discard(self, closing: bool = False) -> bool:
        """True when there are no unsaved changes, or the person saved or discarded them (asked before another
        template replaces this one, or before the window closes)."""
        if not self.doc.dirty or self.quiet_errors:
            return True
        question = self.tr("Save the template before closing?") if closing else self.tr("Save the template first?")
        answer = QMessageBox.question(self, self.tr("Unsaved changes"), question,
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        if not closing:
            self.after_dialog()
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        return answer == QMessageBox.StandardButton.Discard or self.files.save()

    def use_frame_as_reference(self) -> None:
        """The frame shown becomes the template's reference image (boxes stay where they are on it)."""
        self.doc.use_as_reference()

    # closing --------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.may_discard(closing=True):
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        self.sources.live_timer.stop()  # first: no live frame arrives while the rest closes
        self.tester.forget()  # frames of the test (patient data) go with the window
        self.live.close()
        self.flow_panel.shutdown()
        self.sources.close()
