"""A simulated legacy RIS data-entry program (PySide6) for driving with RPA flows.

Run it on an X display:

    QT_QPA_PLATFORM=xcb python -m samples.ris_app --out saved.jsonl

Screens: login, patient search, exam registration form (12 fields, Chinese and
ASCII), a save confirmation dialog, and an error popup that appears uninvited
(seeded: `--popup-rate`, `--seed`, or exactly at `--popup-at form:2,save:1`).
Saved exams go to `--out` (JSON lines), every key and mouse press the program
receives to `--events` (JSON lines), so tests check the result without
trusting the player.
"""
from samples.ris_app.fields import EXAM_FIELDS, LOGIN_PASSWORD, LOGIN_USER

__all__ = ["EXAM_FIELDS", "LOGIN_PASSWORD", "LOGIN_USER"]
