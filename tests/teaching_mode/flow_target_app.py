"""A small legacy-like program for flow recording tests: a code field and a Confirm button.

    python flow_target_app.py X Y OUT_FILE

Shows its window at (X, Y), prints one JSON line with the global centres of the field and the
button once it is on screen, and appends "confirmed <text>" to OUT_FILE on each Confirm click.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFormLayout, QLabel, QLineEdit, QPushButton, QWidget


def main() -> int:
    x, y, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    app = QApplication([sys.argv[0]])
    w = QWidget()
    w.setWindowTitle("Registration")
    w.setStyleSheet("QWidget { background: #f4f1e8; font-size: 15px; } QPushButton { background: #2f6db5; color: white; padding: 6px 18px; }")
    form = QFormLayout(w)
    form.addRow(QLabel("<b>RIS registration</b>"))
    code = QLineEdit()
    code.setMinimumWidth(220)
    form.addRow("Accession No.", code)
    ok = QPushButton("Confirm")
    form.addRow("", ok)
    ok.clicked.connect(lambda: out.open("a", encoding="utf-8").write(f"confirmed {code.text()}\n"))
    w.move(x, y)
    w.resize(420, 160)
    w.show()

    def report() -> None:
        c1 = code.mapToGlobal(code.rect().center())
        c2 = ok.mapToGlobal(ok.rect().center())
        print(json.dumps({"field": [c1.x(), c1.y()], "button": [c2.x(), c2.y()]}), flush=True)

    QTimer.singleShot(400, report)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
