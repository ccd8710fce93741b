"""Flows: record, edit and replay RPA flows (built on rpa_flows)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class FlowPanel(QWidget):
    def __init__(self, window) -> None:
        super().__init__()
        self.window_ = window
        QVBoxLayout(self).addWidget(QLabel(self.tr("Flows")))

    def shutdown(self) -> None:
        pass
