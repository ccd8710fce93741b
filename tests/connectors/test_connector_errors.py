"""The connectors' errors: one root, and of one kind each (qcedge.errors)."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import qcedge.connectors as connectors
from qcedge.connectors import errors
from qcedge.errors import BAD_INPUT, FAILED, exit_code
from tests.errors_check import problems


def test_errors_of_connectors_derive_from_its_root():
    assert problems("connectors") == []


BAD_INPUT_ERRORS = (errors.DicomReadError("f.dcm", "truncated"), errors.UnknownSopClassError("f.dcm", "1.2.3"),
                    errors.ConnectorConfigError("port"), errors.TlsConfigError("TLS CA file x: no such file"),
                    errors.RdsrError("no dose"), errors.PluginError("broken"))
FAILED_OPERATIONS = (errors.DicomNetworkError("cannot connect"), errors.DicomQueryError("refused"),
                     errors.DicomSendError("too many"), errors.HttpConnectError("http://x/", "refused"),
                     errors.HttpTimeout("http://x/", "slow"), errors.HttpStatusError("http://x/", 503, ""),
                     errors.HttpGarbageError("http://x/", "not JSON"))


@pytest.mark.parametrize("exc", BAD_INPUT_ERRORS, ids=lambda e: type(e).__name__)
def test_bad_input_is_a_value_error_and_exits_2(exc):
    assert isinstance(exc, ValueError) and exit_code(exc) == BAD_INPUT


@pytest.mark.parametrize("exc", FAILED_OPERATIONS, ids=lambda e: type(e).__name__)
def test_failed_operations_are_not_value_errors_and_exit_1(exc):
    assert not isinstance(exc, ValueError) and exit_code(exc) == FAILED


def test_old_import_places_still_work():
    from qcedge.connectors.tls import TlsConfigError

    assert TlsConfigError is errors.TlsConfigError


def test_the_package_exports_its_public_api():
    for name in connectors.__all__:
        assert getattr(connectors, name) is not None, name
    assert connectors.read_dicom is importlib.import_module("qcedge.connectors.dicom_files").read_dicom
    with pytest.raises(AttributeError):
        connectors.no_such_name  # noqa: B018


def test_importing_the_package_loads_no_dicom_or_http_library():
    code = ("import sys, qcedge.connectors; "
            "print(sorted(m for m in ('pydicom', 'pynetdicom', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
