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


def _cli(capsys, *argv: str) -> tuple[int, str]:
    from qcedge.cli import main

    code = main(list(argv))
    return code, capsys.readouterr().err


def test_a_source_that_is_down_is_a_failed_operation_exit_1(capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, err = _cli(capsys, "grab", f"tcp://127.0.0.1:{port}?open_timeout=1")
    assert code == FAILED and err.startswith("qcedge grab: cannot open") and err.count("\n") == 1


def test_no_status_file_is_a_failed_operation_and_a_bad_argument_is_bad_input(tmp_path, capsys):
    code, err = _cli(capsys, "status", "--file", str(tmp_path / "status.json"))
    assert code == FAILED and "no status file" in err and err.count("\n") == 1
    code, err = _cli(capsys, "grab", "folder:.", "--frames", "-1")
    assert code == BAD_INPUT and "must not be negative" in err


def test_an_internal_error_is_one_line_and_its_trace_goes_to_a_private_file(tmp_path, monkeypatch, capsys):
    """A bug never shows a traceback (a message may quote a screen's value); the trace is in errors.log (0600)."""
    import qcedge.commands.status as status

    def broken(args):
        raise ZeroDivisionError("PATIENT-NAME-1234")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(status, "run", broken)
    code, err = _cli(capsys, "status", "--file", "x")
    log = tmp_path / "qcedge" / "errors.log"
    assert code == INTERNAL and err.count("\n") == 1 and "Traceback" not in err and "PATIENT" not in err
    assert f"internal error (ZeroDivisionError); the full trace is in {log}" in err
    assert "PATIENT-NAME-1234" in log.read_text() and (log.stat().st_mode & 0o777) == 0o600
