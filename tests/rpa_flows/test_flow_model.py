"""Flow files: validation errors name the file, the step and the problem; locators; variables; records."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qcedge.rpa_flows import FlowError, load_flow, parse_flow, unguarded_input_steps
from qcedge.rpa_flows.locators import LOCATOR_CLASSES, ImageLocator, parse_locator, parse_target
from qcedge.rpa_flows.registry import LOCATE
from qcedge.rpa_flows.variables import VariableError, load_records, parse_var_args, substitute

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "flows" / "ris_enter_exams.yaml"


def write(tmp_path: Path, text: str, name: str = "f.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_sample_flow_loads_and_every_input_step_is_guarded():
    flow = load_flow(SAMPLE)
    assert flow.id == "ris_enter_exams"
    assert set(flow.screens) == {"popup", "confirm", "login", "search", "form"}
    assert unguarded_input_steps(flow) == []


@pytest.mark.parametrize("body, where, problem", [
    ("- name: go\n  clik: image:a.png\n", "step 1 'go'", "unknown key(s): clik"),
    ("- name: go\n  click: {image: a.png, regio: [1, 2, 3, 4]}\n", "step 1 'go' > click > regio", "unknown key 'regio'"),
    ("- pause: 1\n- name: loop\n  for_each: records\n  steps:\n    - pause: 1\n    - {name: bad key, hotkey: ctrl+foo}\n",
     "step 2 'loop' > step 2 'bad key' > hotkey", "unknown key 'foo'"),
    ("- name: w\n  wait: {timeout: 3}\n", "step 1 'w' > wait", "exactly one of appear, vanish, until"),
    ("- name: t\n  type: hi\n  into: image:a.png + regon:1,2,3,4\n", "step 1 't' > into", "unknown locator key 'regon'"),
    ("- {name: two, click: image:a.png, hotkey: enter}\n", "step 1 'two'", "exactly one action"),
    ("- {name: r, click: image:a.png, retries: 2}\n", "step 1 'r'", "'retries' needs 'verify'"),
    ("- {name: s, click: login}\n", "step 1 's' > click", "cannot click a whole screen"),
])
def test_errors_name_file_step_and_problem(tmp_path, body, where, problem):
    path = write(tmp_path, "id: t\nsteps:\n" + body)
    with pytest.raises(FlowError) as exc:
        load_flow(path)
    msg = str(exc.value)
    assert msg.startswith(str(path)), msg
    assert f"({where})" in msg, msg
    assert problem in msg, msg


def test_missing_files_and_screens_are_named(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    path = write(tmp_path, "id: t\nscreens: {main: image:a.png}\nsteps:\n  - {name: x, wait: nowhere}\n")
    with pytest.raises(FlowError, match=r"step 1 'x' > wait > appear\): unknown screen 'nowhere' \(screens: main\)"):
        load_flow(path)
    path = write(tmp_path, "id: t\nsteps:\n  - {name: x, expect: image:gone.png, hotkey: enter}\n")
    with pytest.raises(FlowError, match=r"step 1 'x' > expect\): anchor image 'gone.png' not found"):
        load_flow(path)
    path = write(tmp_path, f"id: t\nsteps:\n  - {{name: f, click: 'template:{ROOT}/samples/flows/ris/templates/ris_form.yaml + field:nope'}}\n")
    with pytest.raises(FlowError, match=r"has no field 'nope' \(fields: patient_id, patient_name"):
        load_flow(path)


def test_bad_yaml_names_line(tmp_path):
    path = write(tmp_path, "id: t\nsteps:\n  - click: [unclosed\n")
    with pytest.raises(FlowError, match=r"line \d+, column \d+"):
        load_flow(path)


def test_locator_strings_match_mappings():
    assert parse_target("image:ok.png + region:0,0,800,600 + offset:10,-5 + threshold:0.9") == \
        ImageLocator(image="ok.png", region=(0, 0, 800, 600), offset=(10, -5), threshold=0.9)
    assert parse_locator("popup") == {"screen": "popup"}
    t = parse_target("template:t.yaml + field:kv")
    assert (t.kind, t.field) == ("template", "kv")
    assert parse_target({"point": [5, 6]}).describe() == "point [5, 6]"
    with pytest.raises(ValueError, match="needs 4 integers"):
        parse_locator("image:a.png + region:1,2,3")
    with pytest.raises(ValueError, match="exactly one of image, text, template"):
        parse_target({"image": "a.png", "text": "OK"})
    with pytest.raises(ValueError, match="'field' and 'box' need a 'template'"):
        parse_target({"text": "OK", "field": "kv"})


def test_every_kind_of_locator_has_a_locate_function():
    assert set(LOCATE) == set(LOCATOR_CLASSES.values())


def test_unguarded_input_steps_are_reported():
    flow = parse_flow(yaml.safe_load("""
id: t
steps:
  - {name: blind, hotkey: enter}
  - {name: after, expect: {all: ["text:OK"]}, hotkey: enter}
  - {name: still guarded, hotkey: tab}
"""))
    assert unguarded_input_steps(flow) == ["step 1 'blind'"]


def test_variables_substitute_and_missing_ones_are_named():
    v = {"record": {"name": "张三", "kv": 120}, "user": "tech01"}
    assert substitute("${record.name}/${user}/${record.kv}/$${literal}", v) == "张三/tech01/120/${literal}"
    with pytest.raises(VariableError, match=r"unknown variable '\$\{record.nme\}' \(known: record.kv, record.name\)"):
        substitute("${record.nme}", v)
    assert parse_var_args(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_var_args(["novalue"])


def test_records_from_json_list_and_json_lines(tmp_path):
    recs = [{"a": "张三", "b": 1}, {"a": "<x>", "b": 2}]
    (tmp_path / "r.json").write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    assert load_records(tmp_path / "r.json") == recs == load_records(tmp_path / "r.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        load_records(tmp_path / "bad.jsonl")


def test_cli_check_lists_steps_and_rejects_bad_flow(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "qcedge", "flow", *a], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    ok = run("check", str(SAMPLE))
    assert ok.returncode == 0, ok.stderr
    assert "flow 'ris_enter_exams' v1 OK: 41 steps" in ok.stdout
    assert "step 20 'save': click - expect screen 'form', click image ris/anchors/save_button.png" in ok.stdout
    bad = write(tmp_path, "id: t\nsteps:\n  - {name: oops, type: 5, into: 'image:none.png'}\n")
    res = run("check", str(bad))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"qcedge flow: {bad} (step 1 'oops' > into): anchor image 'none.png' "
                                               f"not found (looked in {tmp_path / 'none.png'})"]


def test_var_file_and_env_secrets(tmp_path):
    from qcedge.rpa_flows.variables import load_var_file, vars_from_env

    f = tmp_path / "s.env"
    f.write_text("# secrets\npassword=Pa$$w0rd<1>\n\nuser = tech01\n", encoding="utf-8")
    f.chmod(0o640)
    with pytest.raises(ValueError, match="chmod 600"):
        load_var_file(f)
    f.chmod(0o600)
    assert load_var_file(f) == {"password": "Pa$$w0rd<1>", "user": " tech01"}
    f.write_text("oops-the-secret-itself\n", encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        load_var_file(f)
    assert "line 1 is not NAME=VALUE" in str(exc.value) and "oops" not in str(exc.value)
    assert vars_from_env(["pw=RIS_PW", "USER"], {"RIS_PW": "x", "USER": "me"}) == {"pw": "x", "USER": "me"}
    with pytest.raises(ValueError, match="RIS_PW is not set"):
        vars_from_env(["pw=RIS_PW"], {})
