"""One error path: each part's errors derive from its root; the command line maps them to exit codes."""
from __future__ import annotations

import pytest

from qcedge.errors import BAD_INPUT, FAILED, INTERNAL, INTERRUPTED, exit_code
from tests.errors_check import problems


@pytest.mark.parametrize("part", ["qcedge", "capture"])
def test_errors_of_a_part_derive_from_its_root(part):
    assert problems(part) == []


def test_exit_codes_by_kind():
    from qcedge.capture.errors import SourceError, SourceSpecError
    from qcedge.errors import UsageError

    assert exit_code(UsageError("bad")) == BAD_INPUT
    assert exit_code(SourceSpecError("no such folder")) == BAD_INPUT
    assert exit_code(SourceError("device gone")) == FAILED
    assert exit_code(FileNotFoundError(2, "No such file", "x.yaml")) == BAD_INPUT
    assert exit_code(PermissionError(13, "Permission denied")) == FAILED
    assert exit_code(KeyboardInterrupt()) == INTERRUPTED
    # a ValueError or KeyError that is not ours is a bug, not bad input
    assert exit_code(ValueError("x")) == INTERNAL
    assert exit_code(KeyError("x")) == INTERNAL
    assert exit_code(ZeroDivisionError()) == INTERNAL
