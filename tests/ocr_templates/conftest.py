"""Fixtures for the template engine tests: a synthetic dose screen and form with their templates."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.ocr_templates import synth


@pytest.fixture(scope="session")
def pack(tmp_path_factory) -> Path:
    """A template pack folder: the synthetic dose report and the registration form."""
    folder = tmp_path_factory.mktemp("pack")
    synth.write_template(folder)
    synth.write_form_template(folder)
    return folder


@pytest.fixture(scope="session")
def dose_template(pack):
    from qcedge.ocr_templates import load_template

    return load_template(pack / "synth_dose.yaml")


@pytest.fixture(scope="session")
def form_template(pack):
    from qcedge.ocr_templates import load_template

    return load_template(pack / "synth_form.yaml")


@pytest.fixture(scope="session")
def engine():
    from qcedge.ocr_templates import get_engine

    return get_engine("ppocr")


@pytest.fixture(scope="session")
def screens():
    """(screen, image) per variant, for one fixed screen of values."""
    s = synth.random_screen(42)
    return s, {name: make(s, 42) for name, make in synth.VARIANTS.items()}
