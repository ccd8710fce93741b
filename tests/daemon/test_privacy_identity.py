"""Privacy policy on records and the record-identity memory (real SQLite file)."""
from __future__ import annotations

from qcedge.qc_client.record import CheckValue, Evidence, FieldValue, Record, TemplateRef
from qcedge.config import PrivacySection
from qcedge.privacy import HASH_PREFIX, PrivacyPolicy
from qcedge.seen import SeenScreens


def _record() -> Record:
    return Record(
        station="st", site="si", source="src", template=TemplateRef(id="ct_dose", version="1"),
        identity="raw-identity-digest",
        fields={
            "patient_name": FieldValue(value="ZHANG San", text="ZHANG San", personal=True),
            "patient_id": FieldValue(value="P0012345", text="P0012345", personal=True),
            "accession": FieldValue(value="A77", text="A77"),
            "ctdivol": FieldValue(value=12.5, text="12.5"),
        },
        evidence=Evidence(crops={"patient_name": "cHVuZw==", "ctdivol": "cHVuZw=="}),
    )


def test_hash_drop_send_and_crops(tmp_path):
    secret = tmp_path / "site.secret"
    secret.write_text("correct horse battery staple\n")
    section = PrivacySection(default="drop", fields={"patient_id": "hash"}, secret_file=secret, attach_crops=True)
    policy = PrivacyPolicy.from_section(section)
    out = policy.apply(_record(), ["patient_id", "accession"])
    text = out.to_json()
    assert "ZHANG" not in text and "P0012345" not in text
    assert "patient_name" not in out.fields  # dropped
    assert out.fields["patient_id"].value.startswith(HASH_PREFIX) and out.fields["patient_id"].text == ""
    assert out.fields["ctdivol"].value == 12.5
    assert set(out.evidence.crops) == {"ctdivol"}  # no crop of a personal field
    assert out.identity != "raw-identity-digest"  # re-keyed: derived from a personal field
    # Same secret, same patient: same token (central can link exams); case/width-insensitive.
    again = policy.apply(_record().model_copy(update={"fields": {**_record().fields, "patient_id": FieldValue(value="p0012345", personal=True)}}))
    assert again.fields["patient_id"].value == out.fields["patient_id"].value
    # Another site's secret gives another token.
    other = tmp_path / "other.secret"
    other.write_text("another site")
    token2 = PrivacyPolicy.from_section(section.model_copy(update={"secret_file": other})).token("P0012345")
    assert token2 != out.fields["patient_id"].value
    assert "correct horse" not in repr(policy)


def test_send_policy_keeps_values_and_no_crops_by_default():
    policy = PrivacyPolicy.from_section(PrivacySection(default="send"))
    out = policy.apply(_record())
    assert out.fields["patient_name"].value == "ZHANG San"
    assert out.evidence.crops == {}
    assert out.identity == "raw-identity-digest"


def test_drop_without_secret_rekeys_identity_without_personal_values():
    out = PrivacyPolicy.from_section(PrivacySection(default="drop")).apply(_record(), ["patient_id"])
    assert set(out.fields) == {"accession", "ctdivol"}
    assert out.identity != "raw-identity-digest" and len(out.identity) == 32


def test_identity_memory_rules_survive_restart(tmp_path):
    db = tmp_path / "seen.sqlite"
    seen = SeenScreens(db, "st", window=3600)
    first = seen.decide("id-A", "v1", now=1000)
    assert first.new and first.reason == "new"
    # Killed before remembering: the same reading gives the same record id again.
    assert seen.decide("id-A", "v1", now=1001).record_id == first.record_id
    seen.remember("id-A", "v1", True, now=1001)
    assert not seen.decide("id-A", "v1", now=1500).new  # stays up / shown again: no new record
    changed = seen.decide("id-A", "v2", now=1600)
    assert changed.new and changed.reason == "changed" and changed.record_id != first.record_id
    seen.remember("id-A", "v2", True, now=1600)
    back = seen.decide("id-A", "v1", now=1700)  # value changed back: new record, new id
    assert back.new and back.record_id not in (first.record_id, changed.record_id)
    seen.close()
    reopened = SeenScreens(db, "st", window=3600)
    assert not reopened.decide("id-A", "v2", now=1800).new  # remembered across restarts
    later = reopened.decide("id-A", "v2", now=1600 + 3601)  # after the window: a new record
    assert later.new and later.record_id != changed.record_id
    reopened.close()


def test_validation_reasons_and_check_messages_do_not_leak_personal_text(tmp_path):
    secret = tmp_path / "s"
    secret.write_text("k")
    record = _record().model_copy(update={
        "fields": {**_record().fields,
                   "patient_id": FieldValue(value="[P0012345", text="[P0012345", valid=False, personal=True,
                                            reasons=["'[P0012345' does not match the pattern ^P\\d+$"]),
                   "patient_name": FieldValue(value="ZHANG San", text="ZHANG San", personal=True)},
        "checks": [CheckValue(name="name_matches", ok=False, message="ZHANG San differs from the RIS"),
                   CheckValue(name="dlp", ok=True, message="total 12 = sum 12")],
    })
    policy = PrivacyPolicy.from_section(PrivacySection(default="drop", fields={"patient_id": "hash"}, secret_file=secret))
    text = policy.apply(record).to_json()
    assert "P0012345" not in text and "ZHANG" not in text
    assert "total 12 = sum 12" in text  # other messages untouched
