"""rpa_flows' errors: one root, two kinds, one definition each; what `qcedge flow` exits with."""
from __future__ import annotations

import pytest

from tests.errors_check import problems


def test_errors_of_rpa_flows_derive_from_its_root():
    assert problems("rpa_flows") == []


def test_unknown_variable_is_bad_input_and_still_a_key_error():
    from qcedge.errors import BAD_INPUT, exit_code
    from qcedge.rpa_flows.errors import RpaError
    from qcedge.rpa_flows.variables import VariableError, substitute

    with pytest.raises(KeyError) as exc:  # callers that catch KeyError keep working
        substitute("${nme}", {"name": "x"})
    assert isinstance(exc.value, (VariableError, RpaError))
    assert str(exc.value) == "unknown variable '${nme}' (known: name)"  # not quoted as KeyError would
    assert exit_code(exc.value) == BAD_INPUT


def test_bad_flow_file_exits_2_with_one_line_naming_file_and_step(tmp_path, capsys):
    from qcedge.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("id: t\nsteps:\n  - {name: go, clik: 'point:1,1'}\n", encoding="utf-8")
    for argv in (["flow", "check", str(bad)], ["flow", "run", str(bad)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"qcedge flow: {bad} (step 1 'go'):"), err


def test_bad_records_file_exits_2(tmp_path, capsys):
    from qcedge.cli import main

    flow = tmp_path / "ok.yaml"
    flow.write_text("id: t\nsteps:\n  - {pause: 0}\n", encoding="utf-8")
    records = tmp_path / "records.json"
    records.write_text("[{\"a\": 1}, oops]", encoding="utf-8")
    assert main(["flow", "run", str(flow), "--records", str(records)]) == 2
    assert f"{records}: not valid JSON" in capsys.readouterr().err


@pytest.mark.display
def test_a_failed_step_exits_1(xvfb, tmp_path, capsys):
    from qcedge.cli import main

    flow = tmp_path / "check.yaml"
    flow.write_text("id: t\nsteps:\n  - {name: same, check: {equals: [a, b]}, message: not the same}\n",
                    encoding="utf-8")
    assert main(["flow", "run", str(flow), "--log", str(tmp_path / "logs")]) == 1
    assert "FAILED at step 1 'same': not the same" in capsys.readouterr().out
