from pathlib import Path

import pytest

from feedtools import make_record
from qcedge.qc_client.record import CheckValue, FieldValue
from qcedge.qc_client.rules import RulesError, load_rules, parse_rules

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "rules" / "rules.yaml"


def levels(findings):
    return {f.rule: f.level for f in findings}


def test_more_specific_layer_wins_for_the_same_rule():
    rules = load_rules(SAMPLE)
    # national CTDIvol levels are warn 60 / alert 80; hospital-a lowers them to 50 / 70
    elsewhere = rules.evaluate(make_record(site="hospital-b", station="ct-9", CTDIvol=72.0))
    assert levels(elsewhere) == {"ct-ctdivol": "warn"}
    at_a = rules.evaluate(make_record(site="hospital-a", station="ct-9", CTDIvol=72.0))
    assert levels(at_a) == {"ct-ctdivol": "alert"}
    assert "hospital alert level 70" in at_a[0].message and at_a[0].layer == "hospital.hospital-a"
    assert at_a[0].value == 72.0 and "72" not in at_a[0].message
    # station ct-1 lowers the DLP warn level of the national rule; its alert level is inherited
    assert levels(rules.evaluate(make_record(station="ct-1", site="hospital-b", total_dlp=900))) == {"ct-total-dlp": "warn"}
    assert levels(rules.evaluate(make_record(station="ct-2", site="hospital-b", total_dlp=900))) == {}
    found = rules.evaluate(make_record(station="ct-1", site="hospital-b", total_dlp=2500))
    assert levels(found) == {"ct-total-dlp": "alert"}
    assert found[0].layer == "national" and "national alert level 2000" in found[0].message  # ct-1 set warn only
    found = rules.evaluate(make_record(station="ct-1", site="hospital-b", total_dlp=900))
    assert found[0].layer == "station.ct-1" and "station warn level 800" in found[0].message


def test_missing_marker_needs_review_failed_checks_and_table_rows():
    rules = load_rules(SAMPLE)
    dr = make_record(modality="DX", template="dr_extremity_panel", di=-3.5, view="PA")
    assert levels(rules.evaluate(dr)) == {"dr-laterality-marker": "alert", "dr-deviation-index-low": "alert"}
    dr.fields["laterality"] = FieldValue(value="L", text="L")
    dr.fields["di"] = FieldValue(value=0.4, text="0.4")
    assert rules.evaluate(dr) == []
    chest = make_record(modality="DX", template="dr_exposure_panel", di=0.4, view=None)
    assert levels(rules.evaluate(chest)) == {"dr-view-required": "warn"}  # no marker rule for this template
    review = make_record(status="needs_review", CTDIvol=10.0)
    review.fields["CTDIvol"].valid = False
    found = rules.evaluate(review)
    assert levels(found) == {"needs-review": "warn"}
    bad = make_record(CTDIvol=10.0)
    bad.checks = [CheckValue(name="dlp_sum", ok=False, message="sum differs")]
    assert levels(rules.evaluate(bad)) == {"failed-checks": "warn"}
    table = make_record(site="x")
    table.fields["series"] = FieldValue(rows=[{"ctdivol": FieldValue(value=20.0)}, {"ctdivol": FieldValue(value=95.0)},
                                              {"ctdivol": FieldValue(value=70.0)}])
    found = rules.evaluate(table)
    assert levels(found) == {"ct-ctdivol-series": "alert"} and "series row 2" in found[0].message
    assert found[0].value == 95.0 and found[0].limit == 80.0


def test_invalid_and_personal_values_never_trigger_thresholds():
    rules = load_rules(SAMPLE)
    rec = make_record(site="x", CTDIvol=500.0)
    rec.fields["CTDIvol"].valid = False
    assert rules.evaluate(rec) == []
    rec = make_record(site="x", CTDIvol=500.0)
    rec.fields["CTDIvol"].personal = True
    assert rules.evaluate(rec) == []


def test_disabled_override_and_toml(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('[[national]]\nid = "dose"\ncheck = "max"\nfield = "dose"\nwarn = 5\n'
                 '[station]\nst1 = [{id = "dose", enabled = false}]\n', encoding="utf-8")
    rules = load_rules(p)
    assert levels(rules.evaluate(make_record(station="st2", dose=6))) == {"dose": "warn"}
    assert rules.evaluate(make_record(station="st1", dose=6)) == []


@pytest.mark.parametrize("text, problem", [
    ("national: [{id: a, check: max, field: x}]", "needs 'warn' and/or 'alert'"),
    ("national: [{id: a, check: status, origins: {}}]", "'origins' is set by the file"),
    ("national: [{id: a, check: frobnicate}]", "rule 'a'"),
    ("national: [{check: max}]", "needs an 'id'"),
    ("nationwide: []", "unknown top-level key"),
    ("hospital: [1, 2]", "'hospital' must map"),
    ("national: [{id: a, check: max, field: x, warn: 9, alert: 5}]", "less strict"),
    ("national: [{id: a, check: status}, {id: a, check: checks}]", "appears twice"),
    ("national: [{id: a, check: max, field: x, warn: 1}\n", "not valid YAML"),
    ("station: {s1: [{id: b, check: required}]}", "needs a 'field'"),
])
def test_bad_rules_files_give_errors_naming_the_problem(text, problem):
    with pytest.raises(RulesError, match=problem) as info:
        parse_rules(text, "rules.yaml")
    assert str(info.value).startswith("rules.yaml")
