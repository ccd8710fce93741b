"""File dialogs of the teaching window: the window is their parent, and the keyboard focus is back in it after."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMainWindow


def open_file(window: QMainWindow, title: str, filters: str, start: str = "") -> str:
    """A file to open ('' when cancelled)."""
    path, _ = QFileDialog.getOpenFileName(window, title, start, filters)
    window.after_dialog()
    return path


def open_files(window: QMainWindow, title: str, filters: str, start: str = "") -> list[str]:
    """Files to open, several at once ([] when cancelled)."""
    paths, _ = QFileDialog.getOpenFileNames(window, title, start, filters)
    window.after_dialog()
    return paths


def save_file(window: QMainWindow, title: str, default: str, filters: str) -> str:
    """A file to save to ('' when cancelled)."""
    path, _ = QFileDialog.getSaveFileName(window, title, default, filters)
    window.after_dialog()
    return path


def folder(window: QMainWindow, title: str, start: str = "") -> str:
    """An existing folder ('' when cancelled)."""
    chosen = QFileDialog.getExistingDirectory(window, title, start)
    window.after_dialog()
    return chosen
