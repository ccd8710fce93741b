"""The feed client's errors: one root (QcClientError), two kinds (qcedge.errors), each class defined once."""
from __future__ import annotations

import pytest

from qcedge.errors import BAD_INPUT, FAILED, exit_code
from qcedge.qc_client.errors import QcClientError
from qcedge.qc_client.kb import KbError
from qcedge.qc_client.keys import KeyFileError
from qcedge.qc_client.outbox import OutboxSchemaError
from qcedge.qc_client.protocol import MessageTooLarge, ProtocolError
from qcedge.qc_client.rules import RulesError
from qcedge.qc_client.store import SchemaError
from tests.errors_check import problems


def test_errors_of_qc_client_derive_from_its_root():
    assert problems("qc_client") == []


@pytest.mark.parametrize("error, code", [
    (KbError("bad release"), BAD_INPUT), (KeyFileError("bad key"), BAD_INPUT), (RulesError("bad rules"), BAD_INPUT),
    (ProtocolError("bad message"), BAD_INPUT), (MessageTooLarge(2, 1), BAD_INPUT),
    (OutboxSchemaError("newer outbox"), FAILED), (SchemaError("newer store"), FAILED),
])
def test_each_error_is_of_one_kind(error, code):
    assert isinstance(error, QcClientError) and exit_code(error) == code
    assert isinstance(error, ValueError) == (code == BAD_INPUT)
