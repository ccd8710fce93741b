"""The catalogue of simulated screens: the taught kinds (each with its template) and the foreign ones."""
from __future__ import annotations

from samples.screens.base import Screen
from samples.screens.ct_dose import CtDoseReport
from samples.screens.dr_exposure import DrExposurePanel
from samples.screens.foreign import FOREIGN
from samples.screens.ris_registration import RisRegistration


def screens() -> list[Screen]:
    """The taught screen kinds, in a fixed order."""
    return [CtDoseReport(), DrExposurePanel(), RisRegistration()]


def foreign_screens() -> list[Screen]:
    """Screens no template may match: other programs, a bare desktop, near misses."""
    return [cls() for cls in FOREIGN]
