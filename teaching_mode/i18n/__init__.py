"""Interface translations: Qt .qm files compiled from the .ts files here (pyside6-lrelease).

`python -m qcedge.teaching_mode.i18n.build` refreshes the .ts from the sources (pyside6-lupdate),
fills in the Chinese from `zh_CN.py` and compiles the .qm that ships with the package.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
LANGUAGES = {"en": "English", "zh_CN": "中文"}
active = "en"   # the language installed in this process (the Language menu checks it)


def pick_language(requested: str | None = None) -> str:
    """'zh_CN' or 'en': the request, else the saved choice, else the system locale."""
    if requested:
        return "zh_CN" if requested.lower().replace("-", "_").startswith("zh") else "en"
    from PySide6.QtCore import QSettings

    saved = str(QSettings().value("language", "") or "")
    if saved in LANGUAGES:
        return saved
    return "zh_CN" if QLocale.system().name().startswith("zh") else "en"


def install(app: QCoreApplication, language: str) -> QTranslator | None:
    """Install the translator for `language` on the app; None for English (the source language)."""
    global active
    if language == "en":
        active = "en"
        return None
    translator = QTranslator(app)
    qm = HERE / f"qcedge_teach_{language}.qm"
    if not translator.load(str(qm)):
        log.warning("no translation file %s; the interface stays in English", qm.name)
        return None
    app.installTranslator(translator)
    active = language
    # Qt's own dialogs (file dialogs, message box buttons) in the same language when Qt ships them
    from PySide6.QtCore import QLibraryInfo

    qt = QTranslator(app)
    if qt.load(QLocale(language), "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
    return translator
