"""A Qt window with one text field that writes its text to a file on every change (typing tests)."""
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QLineEdit

app = QApplication(sys.argv[:1])
out = Path(sys.argv[1])
edit = QLineEdit()
edit.setGeometry(200, 200, 1400, 40)
edit.textChanged.connect(lambda t: out.write_text(t, encoding="utf-8"))
edit.show()
Path(sys.argv[2]).write_text("ready")
sys.exit(app.exec())
