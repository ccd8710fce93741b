"""The simulated legacy RIS window (PySide6). See the package docstring for usage."""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QFont, QPalette, QColor
from PySide6.QtWidgets import (
    QApplication, QDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QStackedWidget,
    QVBoxLayout, QWidget,
)

from samples.ris_app.fields import EXAM_FIELDS, LOGIN_PASSWORD, LOGIN_USER, WINDOW_GEOMETRY

POPUP_EVENTS = ("login", "search", "form", "save")


class Journal:
    """Append-only JSON lines file, flushed on every line (a test reads it while we run)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._f = open(path, "a", encoding="utf-8") if path else None

    def write(self, **item: object) -> None:
        if self._f:
            self._f.write(json.dumps({"t": time.time(), **item}, ensure_ascii=False) + "\n")
            self._f.flush()
            os.fsync(self._f.fileno())


class InputSpy(QObject):
    """Records every key and mouse press that reaches any widget of the program."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(obj, QWidget) and obj.isWindow() is False:
            self.journal.write(event="key", widget=obj.objectName(), text=event.text(), key=int(event.key()))
        elif kind == QEvent.Type.MouseButtonPress and isinstance(obj, QWidget):
            pos = event.globalPosition()
            self.journal.write(event="mouse", widget=obj.objectName(), x=round(pos.x()), y=round(pos.y()))
        return False


class PopupPolicy:
    """Decides when the uninvited error popup shows: exact event counts, or a seeded rate."""

    def __init__(self, at: str = "", rate: float = 0.0, seed: int = 0) -> None:
        self.at: set[tuple[str, int]] = set()
        for item in filter(None, (s.strip() for s in at.split(","))):
            name, _, n = item.partition(":")
            if name not in POPUP_EVENTS or not n.isdigit():
                raise SystemExit(f"--popup-at: '{item}' is not EVENT:N with EVENT in {', '.join(POPUP_EVENTS)}")
            self.at.add((name, int(n)))
        self.rate = rate
        self.rng = random.Random(seed)
        self.counts: dict[str, int] = {}

    def fires(self, event: str) -> bool:
        self.counts[event] = self.counts.get(event, 0) + 1
        roll = self.rng.random()  # always drawn, so a seed gives the same sequence whatever `at` says
        return (event, self.counts[event]) in self.at or roll < self.rate


def _title(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    font = QFont(label.font())
    font.setPointSize(20)
    font.setBold(True)
    label.setFont(font)
    return label


def _edit(name: str, width: int = 320) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setFixedWidth(width)
    edit.setFixedHeight(30)
    return edit


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setFixedSize(120, 36)
    button.setAutoDefault(False)
    return button


class LoginPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(60, 40, 60, 40)
        lay.addWidget(_title("用户登录 User Login", "login_title"))
        grid = QGridLayout()
        self.user = _edit("user")
        self.password = _edit("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        grid.addWidget(QLabel("用户名"), 0, 0)
        grid.addWidget(self.user, 0, 1)
        grid.addWidget(QLabel("密码"), 1, 0)
        grid.addWidget(self.password, 1, 1)
        grid.setColumnStretch(2, 1)
        lay.addLayout(grid)
        self.button = _button("登录", "login_button")
        lay.addWidget(self.button)
        self.message = QLabel("")
        self.message.setObjectName("login_message")
        self.message.setStyleSheet("color: #b00020;")
        lay.addWidget(self.message)
        lay.addStretch(1)


class SearchPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(60, 40, 60, 40)
        lay.addWidget(_title("患者查询 Patient Search", "search_title"))
        row = QHBoxLayout()
        row.addWidget(QLabel("患者ID"))
        self.query = _edit("search_id")
        row.addWidget(self.query)
        self.button = _button("查询", "search_button")
        row.addWidget(self.button)
        row.addStretch(1)
        lay.addLayout(row)
        self.result = QLabel("")
        self.result.setObjectName("search_result")
        lay.addWidget(self.result)
        self.register = _button("登记检查", "register_button")
        self.register.setEnabled(False)
        lay.addWidget(self.register)
        self.last_saved = QLabel("")
        self.last_saved.setObjectName("last_saved")
        lay.addWidget(self.last_saved)
        lay.addStretch(1)


class FormPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(60, 30, 60, 30)
        lay.addWidget(_title("检查登记 Exam Registration", "form_title"))
        grid = QGridLayout()
        grid.setVerticalSpacing(8)
        self.edits: dict[str, QLineEdit] = {}
        for row, (name, label) in enumerate(EXAM_FIELDS):
            text = QLabel(label)
            text.setObjectName(f"label_{name}")
            grid.addWidget(text, row, 0)
            edit = _edit(name, 560)
            grid.addWidget(edit, row, 1)
            self.edits[name] = edit
        self.edits["patient_id"].setReadOnly(True)
        grid.setColumnStretch(2, 1)
        lay.addLayout(grid)
        row = QHBoxLayout()
        self.save = _button("保存", "save_button")
        self.cancel = _button("取消", "cancel_button")
        row.addWidget(self.save)
        row.addWidget(self.cancel)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(1)


class SmallDialog(QDialog):
    """A modal dialog at a fixed place (there is no window manager to place it)."""

    def __init__(self, parent: QWidget, title: str, title_name: str, message: str,
                 buttons: list[tuple[str, str]], pos: tuple[int, int]) -> None:
        super().__init__(parent)
        self.setObjectName(title_name + "_dialog")
        self.setWindowTitle(title)
        self.setModal(True)
        self.setStyleSheet("QDialog { background: #fff8e1; border: 2px solid #8d6e63; }")
        lay = QVBoxLayout(self)
        lay.addWidget(_title(title, title_name))
        text = QLabel(message)
        text.setObjectName(title_name + "_message")
        lay.addWidget(text)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for label, name in buttons:
            b = _button(label, name)
            row.addWidget(b)
            self.buttons[name] = b
        row.addStretch(1)
        lay.addLayout(row)
        self.setFixedSize(460, 190)
        self.move(*pos)


class RisWindow(QWidget):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.setObjectName("ris_main")
        self.setWindowTitle("杏林 RIS 3.2 (模拟)")
        self.out = Path(args.out) if args.out else None
        self.journal = Journal(Path(args.events) if args.events else None)
        self.popups = PopupPolicy(args.popup_at, args.popup_rate, args.seed)
        self.popup_delay = args.popup_delay
        self.saved = 0
        self.current_patient = ""
        x, y, w, h = WINDOW_GEOMETRY
        self.setGeometry(x, y, w, h)
        self.setFixedSize(w, h)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        header = QLabel("  杏林 RIS 3.2   放射科信息系统 (模拟)")
        header.setObjectName("header")
        header.setFixedHeight(36)
        header.setStyleSheet("background: #1a3d6d; color: white; font-weight: bold;")
        lay.addWidget(header)
        self.stack = QStackedWidget()
        lay.addWidget(self.stack)
        self.login, self.search, self.form = LoginPage(), SearchPage(), FormPage()
        for page in (self.login, self.search, self.form):
            self.stack.addWidget(page)
        self.login.button.clicked.connect(self.do_login)
        self.login.password.returnPressed.connect(self.do_login)
        self.search.button.clicked.connect(self.do_search)
        self.search.query.returnPressed.connect(self.do_search)
        self.search.register.clicked.connect(self.open_form)
        self.form.save.clicked.connect(self.ask_save)
        self.form.cancel.clicked.connect(lambda: self.show_page(self.search, None))
        self.dialogs: list[QDialog] = []

    # -- screens -----------------------------------------------------------------
    def show_page(self, page: QWidget, event: str | None) -> None:
        self.stack.setCurrentWidget(page)
        self.journal.write(event="screen", screen={self.login: "login", self.search: "search", self.form: "form"}[page])
        if event and self.popups.fires(event):
            QTimer.singleShot(self.popup_delay, self.show_popup)

    def do_login(self) -> None:
        if self.login.user.text() == LOGIN_USER and self.login.password.text() == LOGIN_PASSWORD:
            self.login.message.setText("")
            self.login.password.clear()
            self.show_page(self.search, "login")
            self.search.query.setFocus()
        else:
            self.login.message.setText("用户名或密码错误 Wrong user or password")
            self.journal.write(event="login_failed")

    def do_search(self) -> None:
        pid = self.search.query.text().strip()
        if not pid:
            self.search.result.setText("请输入患者ID")
            self.search.register.setEnabled(False)
            return
        self.current_patient = pid
        self.search.result.setText(f"找到患者 Found: {pid}")
        self.search.register.setEnabled(True)
        if self.popups.fires("search"):
            QTimer.singleShot(self.popup_delay, self.show_popup)

    def open_form(self) -> None:
        for edit in self.form.edits.values():
            edit.clear()
        self.form.edits["patient_id"].setText(self.current_patient)
        self.show_page(self.form, "form")
        self.form.edits["patient_name"].setFocus()

    def ask_save(self) -> None:
        gx, gy = self.x() + 320, self.y() + 300
        dlg = SmallDialog(self, "确认保存", "confirm_title", "确认保存本次检查登记？ Save this exam?",
                          [("确定保存", "confirm_yes"), ("返回修改", "confirm_no")], (gx, gy))
        dlg.buttons["confirm_yes"].clicked.connect(dlg.accept)
        dlg.buttons["confirm_no"].clicked.connect(dlg.reject)
        dlg.accepted.connect(self.save)
        self._open(dlg)

    def save(self) -> None:
        self.saved += 1
        record_no = f"R{self.saved:04d}"
        data = {name: edit.text() for name, edit in self.form.edits.items()}
        if self.out:
            with open(self.out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"record_no": record_no, "fields": data}, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
        self.journal.write(event="saved", record_no=record_no)
        self.search.query.clear()
        self.search.result.setText("")
        self.search.register.setEnabled(False)
        self.search.last_saved.setText(f"已保存 Saved: {record_no}")
        self.show_page(self.search, "save")
        self.search.query.setFocus()

    def show_popup(self) -> None:
        gx, gy = self.x() + 420, self.y() + 200
        dlg = SmallDialog(self, "系统提示", "popup_title", "网络连接超时 (E-1042)，请点击确定后继续。",
                          [("确定", "popup_ok")], (gx, gy))
        dlg.buttons["popup_ok"].clicked.connect(dlg.accept)
        self.journal.write(event="popup")
        self._open(dlg)

    def _open(self, dlg: QDialog) -> None:
        self.dialogs.append(dlg)
        dlg.finished.connect(lambda _=0, d=dlg: self._closed(d))
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()

    def _closed(self, dlg: QDialog) -> None:
        if dlg in self.dialogs:
            self.dialogs.remove(dlg)
        dlg.deleteLater()
        self.activateWindow()


def widget_geometry() -> dict[str, list[int]]:
    """Screen boxes [x, y, w, h] of every visible named widget (for making anchors and templates)."""
    boxes: dict[str, list[int]] = {}
    for top in QApplication.topLevelWidgets():
        if not top.isVisible():
            continue
        for w in [top, *top.findChildren(QWidget)]:
            if w.objectName() and w.isVisible() and not w.objectName().startswith("qt_"):
                g = w.mapToGlobal(w.rect().topLeft())
                boxes[w.objectName()] = [g.x(), g.y(), w.width(), w.height()]
    return boxes


def write_ready(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "widgets": widget_geometry()}, ensure_ascii=False))
    tmp.replace(path)


def build_app(argv: list[str]) -> QApplication:
    app = QApplication(argv)
    app.setStyle("Fusion")
    app.setFont(QFont("Noto Sans CJK SC", 11))
    app.setCursorFlashTime(0)  # a steady caret: screens look the same from grab to grab
    pal = app.palette()
    pal.setColor(QPalette.ColorRole.Window, QColor("#eef1f5"))
    app.setPalette(pal)
    return app


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m samples.ris_app", description="Simulated legacy RIS data entry.")
    p.add_argument("--out", help="append saved exams here (JSON lines)")
    p.add_argument("--events", help="append every key/mouse press and screen change here (JSON lines)")
    p.add_argument("--popup-at", default="", help="show the error popup at these events, e.g. form:2,save:1")
    p.add_argument("--popup-rate", type=float, default=0.0, help="chance of the popup at each event")
    p.add_argument("--seed", type=int, default=0, help="seed for --popup-rate")
    p.add_argument("--popup-delay", type=int, default=60, help="ms after the screen shows before the popup")
    p.add_argument("--show", choices=("login", "search", "form", "confirm", "popup"), default="login",
                   help="start on this screen (for making anchor images)")
    p.add_argument("--ready", help="write this file once the window is painted")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = build_app([sys.argv[0]])
    win = RisWindow(args)
    app.installEventFilter(InputSpy(win.journal))
    win.show()
    if args.show != "login":
        win.current_patient = "P000123"
        if args.show == "search":
            win.show_page(win.search, None)
        else:
            win.open_form()
            if args.show == "confirm":
                win.ask_save()
            elif args.show == "popup":
                win.show_popup()
    if args.ready:
        QTimer.singleShot(400, lambda: write_ready(Path(args.ready)))
    win.journal.write(event="started", pid=os.getpid())
    return app.exec()
