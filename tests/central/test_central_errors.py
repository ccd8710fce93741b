"""Central's errors: one root (CentralError), two kinds (qcedge.errors), each class defined once."""
from __future__ import annotations

import pytest

from qcedge.central.errors import CentralError, StoreUnavailable
from qcedge.central.pg_local import PostgresMissing
from qcedge.central.review import ReviewError
from qcedge.central.stats import StatsError
from qcedge.central.web.access import NotFound
from qcedge.central.web.users import UsersError
from qcedge.errors import BAD_INPUT, FAILED, exit_code
from tests.errors_check import problems


def test_errors_of_central_derive_from_its_root():
    assert problems("central") == []


@pytest.mark.parametrize("error, code", [
    (ReviewError("no such record"), BAD_INPUT), (StatsError("no such dimension"), BAD_INPUT),
    (UsersError("bad users file"), BAD_INPUT), (NotFound("no such item"), BAD_INPUT),
    (StoreUnavailable("cannot connect"), FAILED), (PostgresMissing("no initdb"), FAILED),
])
def test_each_error_is_of_one_kind(error, code):
    assert isinstance(error, CentralError) and exit_code(error) == code
    assert isinstance(error, (ValueError, LookupError)) == (code == BAD_INPUT)


def test_the_stores_say_store_unavailable_with_one_class():
    from qcedge.central import pg_store, stores

    assert stores.StoreUnavailable is pg_store.StoreUnavailable is StoreUnavailable
