"""The feed client's errors: one root (QcClientError), two kinds (qcedge.errors), each class defined once."""
from __future__ import annotations

import pytest

from qcedge.errors import BAD_INPUT, exit_code
from qcedge.qc_client.errors import QcClientError
from qcedge.qc_client.kb import KbError
from qcedge.qc_client.keys import KeyFileError
from qcedge.qc_client.outbox import OutboxSchemaError
from qcedge.qc_client.protocol import MessageTooLarge, ProtocolError
from qcedge.qc_client.rules import RulesError
from qcedge.qc_client.store_schema import SchemaError
from tests.errors_check import problems


def test_errors_of_qc_client_derive_from_its_root():
    assert problems("qc_client") == []


@pytest.mark.parametrize("error", [
    KbError("bad release"), KeyFileError("bad key"), RulesError("bad rules"), ProtocolError("bad message"),
    MessageTooLarge(2, 1), OutboxSchemaError("newer outbox"), SchemaError("newer store"),
])
def test_every_error_of_the_feed_client_is_bad_input(error):
    """A file, key, release or message a person can fix (a store or outbox of a newer qcedge too): exit 2."""
    assert isinstance(error, QcClientError) and isinstance(error, ValueError) and exit_code(error) == BAD_INPUT
