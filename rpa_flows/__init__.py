"""RPA flows: a YAML flow format and a player that replays data entry into legacy programs, safely.

    from qcedge.rpa_flows import load_flow, Player
    result = Player(load_flow("samples/flows/ris_enter_exams.yaml"), log_dir=Path("logs")).run(records=[...])

Imports ocr_templates (templates, OCR engines) and capture only.
"""
from qcedge.rpa_flows.errors import (
    FailSafeTriggered, FlowError, RpaError, RunInputError, ScreenNotAsExpected, StepFailed, UserAborted,
)
from qcedge.rpa_flows.loader import load_flow, parse_flow, unguarded_input_steps, walk
from qcedge.rpa_flows.locate import ImageMatch, find_image
from qcedge.rpa_flows.locators import Locator, parse_target
from qcedge.rpa_flows.model import Flow, Settings, Target

__all__ = [
    "FailSafeTriggered", "Flow", "FlowError", "ImageMatch", "Locator", "Player", "RpaError", "RunInputError",
    "RunResult", "ScreenNotAsExpected", "Settings", "StepFailed", "Target", "UserAborted", "find_image", "load_flow",
    "parse_flow", "parse_target", "unguarded_input_steps", "walk",
]


def __getattr__(name: str):
    # The player pulls in the X/OCR machinery: import it only when asked for.
    if name in ("Player", "RunResult"):
        from qcedge.rpa_flows import player

        return getattr(player, name)
    raise AttributeError(name)
