"""C-FIND with Chinese names: the query carries its Specific Character Set, so `张*` matches
exactly what dcmtk's findscu with ISO_IR 192 matches, and answers print as written (UTF-8, and
GB18030 from a peer that answers in it)."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]

from conn_helpers import run_cli, worklist_scp

NAMES = [("张^三", "P1"), ("张^伟", "P2"), ("李^四", "P3"), ("ZHANG^SAN", "P4"), ("弓长^张", "P5"), ("张", "P6")]


@pytest.fixture(scope="module")
def cjk_worklist(tmp_path_factory):
    items = [dict(name=name, patient_id=pid, accession=f"ACC{i}", date="20261127", time_="090000",
                  study_uid=f"1.2.826.0.1.3680043.10.880.{i}") for i, (name, pid) in enumerate(NAMES)]
    with worklist_scp(tmp_path_factory.mktemp("wlm-cjk"), items) as peer:
        yield peer.port


def findscu_accessions(port: int, name: str) -> set[str]:
    out = subprocess.run(["findscu", "-v", "-W", "-aec", "WLQ", "-k", "SpecificCharacterSet=ISO_IR 192",
                          "-k", f"PatientName={name}", "-k", "AccessionNumber", "127.0.0.1", str(port)],
                         capture_output=True, timeout=60)
    text = out.stderr.decode("utf-8", "replace")
    assert out.returncode == 0, text
    return set(re.findall(r"\(0008,0050\) SH \[([^\]]*)\]", text))


@pytest.mark.parametrize("pattern", ["张*", "张^三", "*张"])
def test_cjk_name_query_matches_what_findscu_matches_and_prints_as_written(cjk_worklist, pattern):
    want = findscu_accessions(cjk_worklist, pattern)
    assert want, "findscu itself must find something for the comparison to mean anything"
    out = run_cli("dicom", "find", f"WLQ@127.0.0.1:{cjk_worklist}", "--worklist", "--patient-name", pattern, "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["accession_number"] for r in rows} == want
    names = dict(NAMES)
    for r in rows:
        assert r["patient_name"] in names, f"printed as {r['patient_name']!r}"


def test_zhang_star_does_not_match_li_si(cjk_worklist):
    out = run_cli("dicom", "find", f"WLQ@127.0.0.1:{cjk_worklist}", "--worklist", "--patient-name", "张*", "--json")
    names = sorted(json.loads(line)["patient_name"] for line in out.stdout.splitlines())
    assert names == ["张", "张^三", "张^伟"]
    plain = run_cli("dicom", "find", f"WLQ@127.0.0.1:{cjk_worklist}", "--worklist", "--patient-name", "张*")
    assert plain.returncode == 0
    assert sorted(re.findall(r"patient_name=(\S+)", plain.stdout)) == names


@pytest.fixture
def gb18030_worklist():
    """A worklist SCP (pynetdicom) that speaks GB18030: it reads the query in the character set
    the query names and answers in GB18030."""
    seen: list[tuple[str | None, str]] = []

    def on_find(event):
        q = event.identifier
        seen.append((q.get("SpecificCharacterSet"), str(q.PatientName)))
        for name, acc in (("王^五", "GB1"), ("张^三", "GB2")):
            if not str(q.PatientName) or str(q.PatientName).rstrip("*") in name:
                ds = Dataset()
                ds.SpecificCharacterSet = "GB18030"
                ds.PatientName, ds.PatientID, ds.AccessionNumber = name, "X1", acc
                yield 0xFF00, ds

    ae = AE("GBWL")
    ae.add_supported_context(ModalityWorklistInformationFind)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)])
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()


def test_gb18030_queries_and_answers(gb18030_worklist):
    port, seen = gb18030_worklist
    for charset in ("ISO_IR 192", "GB18030"):
        out = run_cli("dicom", "find", f"GBWL@127.0.0.1:{port}", "--worklist", "--patient-name", "王*",
                      "--charset", charset, "--json")
        assert out.returncode == 0, out.stderr
        rows = [json.loads(line) for line in out.stdout.splitlines()]
        assert [(r["patient_name"], r["accession_number"]) for r in rows] == [("王^五", "GB1")]
        assert seen[-1] == (charset, "王*")
