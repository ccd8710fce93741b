"""The teaching window's files: open and save templates, open and write template packs, the recent files."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QInputDialog, QMainWindow, QMenu

from qcedge.ocr_templates.errors import TemplateError
from qcedge.teaching_mode import dialogs
from qcedge.teaching_mode.draft import TemplateDraft
from qcedge.teaching_mode.pack import load_pack, save_pack
from qcedge.teaching_mode.sources import display_path

RECENT_COUNT = 8


class TemplateFiles(QObject):
    """Template and pack I/O of a teaching window (`window.files`), with the File > Open recent menu."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.recent_menu = QMenu(self.tr("Open recent"), window)
        self.recent_menu.setToolTipsVisible(True)

    # recent files ---------------------------------------------------------------------------
    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve()) if Path(str(path)).exists() else str(path)
        recent = [r for r in self.recent_files() if r != p]
        QSettings().setValue("recent", [p, *recent][:RECENT_COUNT])
        self.fill_recent()

    def recent_files(self) -> list[str]:
        value = QSettings().value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def fill_recent(self) -> None:
        self.recent_menu.clear()
        files = [r for r in self.recent_files() if Path(r).exists() or ":" in r]
        for path in files:
            act = self.recent_menu.addAction(Path(path).name or path, lambda p=path: self.window.open_path(p))
            act.setToolTip(path)
        self.recent_menu.setEnabled(bool(files))

    # templates ------------------------------------------------------------------------------
    def open_template(self, path: str | Path) -> None:
        w = self.window
        if not w.may_discard():
            return
        try:
            draft = TemplateDraft.load(path)
        except (TemplateError, ValueError) as exc:
            w.report_error(self.tr("Cannot open the template"), str(exc))
            return
        w.doc.load(draft)
        self.add_recent(path)
        w.statusBar().showMessage(self.tr("Opened %1").replace("%1", display_path(path)), 5000)

    def open_template_dialog(self) -> None:
        path = dialogs.open_file(self.window, self.tr("Open a template"), self.tr("Templates (*.yaml *.yml)"))
        if path:
            self.open_template(path)

    def save(self) -> bool:
        path = self.window.doc.draft.path
        return self.save_as() if path is None else self.save_to(path)

    def save_as(self) -> bool:
        default = f"{self.window.doc.draft.meta.get('id', 'template')}.yaml"
        path = dialogs.save_file(self.window, self.tr("Save the template"), default, self.tr("Templates (*.yaml)"))
        return self.save_to(path) if path else False

    def save_to(self, path: str | Path) -> bool:
        w = self.window
        try:
            saved = w.doc.draft.save(path)
        except (TemplateError, ValueError) as exc:
            w.report_error(self.tr("The template is not valid yet"), str(exc))
            return False
        w.doc.undo.setClean()
        w.doc.dirty = False
        w.boxes.forget_pack()
        w.update_title()
        self.add_recent(saved)
        w.statusBar().showMessage(self.tr("Saved %1").replace("%1", display_path(saved)), 5000)
        return True

    # packs ------------------------------------------------------------------------------------
    def open_pack(self, folder: str | Path) -> None:
        try:
            pack = load_pack(folder)
        except (TemplateError, ValueError) as exc:
            self.window.report_error(self.tr("Cannot open the template pack"), str(exc))
            return
        names = [f"{t.id} ({t.title})" for t in pack.templates]
        choice, ok = QInputDialog.getItem(self.window, self.tr("Template pack %1 version %2").replace("%1", pack.id)
                                          .replace("%2", pack.version), self.tr("Template to edit:"), names, 0, False)
        self.window.after_dialog()
        if ok:
            self.open_template(pack.templates[names.index(choice)].path)

    def open_pack_dialog(self) -> None:
        folder = dialogs.folder(self.window, self.tr("Open a template pack folder"))
        if folder:
            self.open_pack(folder)

    def save_pack_dialog(self) -> None:
        w = self.window
        folder = dialogs.folder(w, self.tr("Template pack folder"))
        if not folder:
            return
        version, ok = QInputDialog.getText(w, self.tr("Pack version"), self.tr("Version of the pack:"), text="1")
        w.after_dialog()
        if not ok:
            return
        try:
            save_pack(folder, [w.doc.draft], version=version.strip() or "1")
        except (TemplateError, ValueError) as exc:
            w.report_error(self.tr("Cannot write the template pack"), str(exc))
            return
        w.statusBar().showMessage(self.tr("Saved %1").replace("%1", display_path(folder)), 5000)
