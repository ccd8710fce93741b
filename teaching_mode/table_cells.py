"""Table pieces the dock panels share: a read-only cell, a table of rows chosen one at a time, row colours."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

RED = QColor(255, 205, 205)
GREEN = QColor(215, 245, 215)
GREY = QColor(235, 235, 235)


def cell(text: str, tip: str | None = None) -> QTableWidgetItem:
    """A cell that shows `text` (and `tip` on hover) and cannot be edited."""
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tip:
        item.setToolTip(tip)
    return item


def row_table(headers: list[str], on_selection: Callable[[], None], fit: bool = True) -> QTableWidget:
    """A table whose rows are chosen one at a time (no row numbers) with `on_selection` called on a change;
    `fit`: columns as wide as their contents, the last one stretched to the table's edge."""
    table = QTableWidget(0, len(headers))
    if headers:
        table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    if fit:
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
    table.itemSelectionChanged.connect(on_selection)
    return table
