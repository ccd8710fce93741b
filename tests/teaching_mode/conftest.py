"""Fixtures for the teaching GUI: Qt offscreen (set before any QApplication exists), sample frames."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # must precede the QApplication that pytest-qt creates

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_settings(tmp_path_factory):
    """The window's settings (language, recent files, last test) in a folder of the test session,
    not in the user's own configuration."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture(scope="session")
def qapp_args():
    return ["qcedge-teach-tests"]


@pytest.fixture(scope="session")
def manifest(samples_dir: Path) -> dict:
    return json.loads((samples_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def ct_frames(samples_dir: Path, manifest: dict) -> list[dict]:
    """Manifest entries of the CT dose report frames, with absolute paths."""
    out = []
    for f in manifest["frames"]:
        if f.get("template_id") == "ct_dose_report":
            out.append({**f, "abspath": samples_dir / f["path"]})
    assert out, "the samples have no CT dose report frames"
    return out


@pytest.fixture(scope="session")
def ct_clean(ct_frames: list[dict]) -> dict:
    return next(f for f in ct_frames if f["variant"] == "clean")


@pytest.fixture(scope="session")
def engine():
    from qcedge.ocr_templates import get_engine

    return get_engine("ppocr")


@pytest.fixture
def window(qtbot, engine):
    from qcedge.teaching_mode.main_window import MainWindow

    win = MainWindow(quiet_errors=True)  # errors go to the status bar, no modal boxes in tests
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.doc.dirty = False
    win.shutdown()
