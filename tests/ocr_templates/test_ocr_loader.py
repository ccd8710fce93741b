"""Template files: hand-written and GUI-saved templates are the same thing; bad files get one clear error."""
from __future__ import annotations

import shutil

import pytest
import yaml

from qcedge.ocr_templates import TemplateError, dump_template, load_template, load_templates, save_template
from qcedge.ocr_templates.model import Template


def test_dump_reads_like_a_hand_written_file(dose_template):
    text = dump_template(dose_template)
    assert text.startswith("schema: qcedge.template/1\nid: synth-dose\n")
    assert "  box: [340, 320, 90, 26]\n" in text            # boxes on one line, [x, y, w, h]
    assert "- name: kv\n  label: kV\n  box: [" in text      # name, label, box first
    assert "range: [60, 150]" in text                       # whole numbers stay whole
    assert "kind: table" in text and "kind: value" not in text
    assert "path" not in yaml.safe_load(text)


def test_gui_saved_template_loads_and_reads_like_the_hand_written_one(pack, dose_template, screens, engine, tmp_path):
    from qcedge.ocr_templates.read import read_screen

    # what the teaching GUI does: build the model in memory, save YAML + reference PNG
    built = Template.model_validate(dose_template.model_dump(by_alias=True))
    shutil.copy(pack / "synth_dose.png", tmp_path / "synth_dose.png")
    saved = load_template(save_template(built, tmp_path / "gui.yaml"))
    assert saved.model_dump() == dose_template.model_dump()
    _, images = screens
    a = read_screen(images["moved"], dose_template, engine=engine)
    b = read_screen(images["moved"], saved, engine=engine)
    assert {k: (f.value, f.valid) for k, f in a.fields.items()} == {k: (f.value, f.valid) for k, f in b.fields.items()}
    assert a.match.offset == b.match.offset and a.status == b.status == "complete"


def _write(tmp_path, pack, mutate):
    data = yaml.safe_load((pack / "synth_dose.yaml").read_text(encoding="utf-8"))
    mutate(data)
    shutil.copy(pack / "synth_dose.png", tmp_path / "synth_dose.png")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("mutate,expect", [
    (lambda d: d["fields"][6].update(regex="(12"), ["fields[6] 'kv'", "regex"]),
    (lambda d: d["fields"][6].update(box=[1900, 10, 90, 26]), ["fields[6] 'kv' > box", "outside"]),
    (lambda d: d["fields"][6].update(type="number"), ["fields[6] 'kv' > type"]),
    (lambda d: d["fields"][5].pop("choices"), ["fields[5] 'body_part'", "choices"]),
    (lambda d: d["fields"][-1]["columns"][0].update(w=2000), ["columns[0] 'no'", "wider"]),
    (lambda d: d.pop("anchors"), ["anchors", "required"]),
    (lambda d: d["checks"][0].update(of="series.nope"), ["total_dlp", "table.column"]),
    (lambda d: d["reference"].update(image="missing.png"), ["reference > image", "not found"]),
])
def test_bad_template_names_file_place_and_problem(tmp_path, pack, mutate, expect):
    path = _write(tmp_path, pack, mutate)
    with pytest.raises(TemplateError) as err:
        load_template(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    for part in expect:
        assert part in msg, msg


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("id: x\nfields: [\n  - name: a\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="line"):
        load_template(path)


def test_pack_loading(pack, tmp_path):
    assert [t.id for t in load_templates(pack)] == ["synth-dose", "synth-form"]
    with pytest.raises(TemplateError, match="no template files"):
        load_templates(tmp_path)
