"""The HTTP client against Orthanc's DICOMweb and against servers that misbehave on purpose."""
from __future__ import annotations

import json
import logging

import pytest
from pydicom.data import get_testdata_file

from conn_helpers import ORTHANC_PASSWORD, ORTHANC_USER, http_reply
from qcedge.connectors.dicom_net import send
from qcedge.connectors.dicomweb import DicomWebClient, datasets, value
from qcedge.connectors.errors import HttpConnectError, HttpGarbageError, HttpStatusError, HttpTimeout
from qcedge.connectors.http_client import BearerAuth, HttpClient, make_auth
from qcedge.connectors.peer import Peer

CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"


@pytest.fixture(scope="module")
def pacs(orthanc):
    peer = Peer(orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    assert all(r.ok for r in send(peer, [get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")]))
    return orthanc


def web(pacs, password=ORTHANC_PASSWORD, **kw) -> DicomWebClient:
    return DicomWebClient(HttpClient(pacs.dicomweb, auth=make_auth(username=ORTHANC_USER, password=password), **kw))


def test_qido_studies_series_instances_and_wado_metadata(pacs):
    client = web(pacs)
    studies = client.search_studies(PatientID="1CT1")
    assert [value(s, "0020000D") for s in studies] == [CT_STUDY]
    assert value(studies[0], "00100010") == "CompressedSamples^CT1"
    series = client.search_series(CT_STUDY)
    assert len(series) == 1 and value(series[0], "00080060") == "CT"
    series_uid = value(series[0], "0020000E")
    instances = client.search_instances(CT_STUDY, series_uid)
    assert [value(i, "00080018") for i in instances] == ["1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"]
    meta = client.retrieve_metadata(CT_STUDY)
    ds = datasets(meta)[0]
    assert float(ds.KVP) == 120.0 and ds.StationName == "CT01_OC0" and ds.Modality == "CT"
    assert client.search_studies(PatientID="NOBODY") == []
    both = client.search_studies(StudyDate="20040119", includefield=["00081030"])
    assert CT_STUDY in [value(s, "0020000D") for s in both]
    client.http.close()


def test_wrong_password_is_a_clear_401(pacs):
    client = web(pacs, password="wrong", retries=3, backoff=0.5)
    with pytest.raises(HttpStatusError) as err:
        client.search_studies(PatientID="1CT1")
    assert err.value.status == 401 and "authentication failed" in str(err.value)
    assert "PatientID" not in str(err.value) and "1CT1" not in str(err.value)  # no query (patient data) in errors


def test_4xx_is_not_retried(tiny_server):
    server = tiny_server(lambda n, req: http_reply("403 Forbidden", b'{"error": "no"}'))
    with HttpClient(server.url, retries=3, backoff=0.01) as client:
        with pytest.raises(HttpStatusError, match="HTTP 403: not allowed for these credentials"):
            client.get_json("api")
    assert len(server.requests) == 1


def test_unknown_study_metadata_is_404(pacs):
    with pytest.raises(HttpStatusError) as err:
        web(pacs).retrieve_metadata("1.2.3.4.5.6.7.8.9")
    assert err.value.status == 404


def test_retries_5xx_with_backoff_then_succeeds(tiny_server):
    body = json.dumps({"ok": True}).encode()
    server = tiny_server(lambda n, req: http_reply("503 Service Unavailable", b"busy", "text/plain") if n < 3
                         else http_reply("200 OK", body))
    with HttpClient(server.url, retries=3, backoff=0.05) as client:
        assert client.get_json("api/patients") == {"ok": True}
    assert len(server.requests) == 3


def test_gives_up_after_retries_on_persistent_5xx(tiny_server):
    server = tiny_server(lambda n, req: http_reply("502 Bad Gateway", b"<html>proxy error</html>", "text/html"))
    with HttpClient(server.url, retries=2, backoff=0.01) as client:
        with pytest.raises(HttpStatusError) as err:
            client.get_json("api")
    assert err.value.status == 502 and "proxy error" in str(err.value)
    assert len(server.requests) == 3


def test_backoff_grows_and_retry_after_is_honoured(tiny_server, monkeypatch):
    import qcedge.connectors.http_client as hc

    sleeps = []
    monkeypatch.setattr(hc.time, "sleep", sleeps.append)
    server = tiny_server(lambda n, req: http_reply("503 Service Unavailable", b"", extra="Retry-After: 3\r\n")
                         if n == 3 else http_reply("500 Internal Server Error", b"") if n < 3 else http_reply("200 OK", b"[]"))
    with HttpClient(server.url, retries=3, backoff=0.5, max_backoff=8) as client:
        assert client.get_json("x") == []
    assert len(sleeps) == 3
    assert 0.4 <= sleeps[0] <= 0.6 and 0.8 <= sleeps[1] <= 1.2  # exponential, with jitter
    assert sleeps[2] == 3.0  # what the server asked for


def test_a_hanging_server_gives_a_timeout_error(tiny_server):
    server = tiny_server(lambda n, req: None)  # accepts, reads the request, never answers
    with HttpClient(server.url, timeout=0.5, retries=3) as client:
        with pytest.raises(HttpTimeout, match="accepted the connection but sent no answer within 0.5 s"):
            client.get_json("worklist")
    assert len(server.requests) == 1  # not retried: the request may be in progress


def test_hang_is_retried_when_asked_for_idempotent_requests(tiny_server):
    server = tiny_server(lambda n, req: None if n == 1 else http_reply("200 OK", b'{"a": 1}'))
    with HttpClient(server.url, timeout=0.3, retries=2, backoff=0.01, retry_read_timeouts=True) as client:
        assert client.get_json("x") == {"a": 1}


@pytest.mark.parametrize("reply, message", [
    (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not valid HTTP"),
    (http_reply("200 OK", b"<html><body>RIS login</body></html>", "text/html"), "expected JSON, got 'text/html'"),
    (http_reply("200 OK", b'{"patients": [1, 2', "application/json"), "not valid JSON"),
])
def test_garbage_answers_are_named(tiny_server, reply, message):
    server = tiny_server(lambda n, req: reply)
    with HttpClient(server.url, retries=0) as client:
        with pytest.raises(HttpGarbageError, match=message):
            client.get_json("api")


def test_qido_answer_that_is_json_but_not_dicom_json(tiny_server):
    server = tiny_server(lambda n, req: http_reply("200 OK", b'[{"name": "x"}]', "application/dicom+json"))
    client = DicomWebClient(HttpClient(server.url, retries=0))
    with pytest.raises(HttpGarbageError, match="not DICOM JSON"):
        client.search_studies(PatientID="1")
    client.http.close()


def test_connection_refused_is_retried_then_named(tiny_server, caplog):
    server = tiny_server(lambda n, req: None)
    port = server.port
    server.stop()
    with caplog.at_level(logging.INFO, logger="qcedge.connectors.http_client"):
        with HttpClient(f"http://127.0.0.1:{port}", retries=2, backoff=0.01) as client:
            with pytest.raises(HttpConnectError, match="cannot connect.*gave up after 3 attempts"):
                client.get_json("api", params={"PatientID": "0012345678"})
    assert sum("connect failed" in r.getMessage() for r in caplog.records) == 3
    assert not any("0012345678" in r.getMessage() for r in caplog.records)


def test_bearer_and_basic_auth_headers_are_sent_and_not_shown(tiny_server):
    seen = []

    def reply(n, req):
        seen.append(req.decode("latin-1"))
        return http_reply("200 OK", b"{}")

    server = tiny_server(reply)
    with HttpClient(server.url, auth=BearerAuth("t0k3n-secret")) as client:
        client.get_json("a")
        assert "t0k3n-secret" not in repr(client._client.auth)
    with HttpClient(server.url, auth=make_auth(username="ris", password="pw")) as client:
        client.get_json("b")
    assert "Authorization: Bearer t0k3n-secret" in seen[0].replace("authorization", "Authorization")
    assert "Basic cmlzOnB3" in seen[1]  # base64("ris:pw")


def test_get_keeps_the_path_as_given_and_adds_the_query(tiny_server):
    from conn_helpers import run_cli

    server = tiny_server(lambda n, req: http_reply("200 OK", b'{"ok": true}'))
    for url, line in ((f"{server.url}/api/patients", b"GET /api/patients?id=P+1&x=2 HTTP/1.1"),
                      (f"{server.url}/api/patients/?v=1", b"GET /api/patients/?v=1&id=P+1&x=2 HTTP/1.1")):
        out = run_cli("http", "get", url, "-q", "id=P 1", "-q", "x=2")
        assert out.returncode == 0 and json.loads(out.stdout) == {"ok": True}, out.stderr
        assert server.requests[-1].split(b"\r\n")[0] == line


def test_wado_metadata_into_head_is_not_an_error(tiny_server, tmp_path):
    import subprocess

    from conn_helpers import PYTHON, ROOT

    big = json.dumps([{"00100010": {"vr": "PN", "Value": [{"Alphabetic": f"P^{i}"}]}} for i in range(5000)]).encode()
    server = tiny_server(lambda n, req: http_reply("200 OK", big, ctype="application/dicom+json"))
    err_file = tmp_path / "err.txt"
    script = (f"{PYTHON} -m qcedge http wado-metadata {server.url}/dicom-web --study 1.2.3 2>{err_file} | head -c 100 "
              ">/dev/null; echo ${PIPESTATUS[0]}")
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    err = err_file.read_text()
    assert out.stdout.strip() == "0" and err == "", (out, err)
