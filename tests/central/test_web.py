"""The web dashboard over HTTP (Starlette's TestClient on the real app and a real store): login and roles,
a hospital viewer confined to its hospital in the pages and the API, the reviewer's CSRF-protected forms,
crops and the personal-field policy, the language switch, the users file and `qcedge dashboard adduser`."""
from __future__ import annotations

import base64
import re
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from qcedge.central import review
from qcedge.central.stores import open_store
from qcedge.central.web.app import create_app
from qcedge.central.web.users import Users, add_user, hash_password, verify_password
from feedtools import ROOT
from qcedge.qc_client.record import Evidence, FieldValue, Record, TemplateRef
from qcedge.qc_client.rules import load_rules
from qcedge.qc_client.store import Incoming

RULES = ROOT / "samples" / "rules" / "rules.yaml"
PASSWORDS = {"admin": "admin-pass-1", "dr.zhang": "reviewer-pass-1", "viewer-a": "viewer-a-pass", "viewer-b": "viewer-b-pass"}
HASHED_ID = "h:3f9a0c77e1"
B_MARKER = "Wang-of-hospital-b"


def png(w: int = 24, h: int = 10) -> str:
    """A small grey PNG, base64 (a field crop as a station sends it)."""
    raw = b"".join(b"\x00" + bytes([128] * w) for _ in range(h))
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + \
        chunk(b"IEND", b"")
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + body).decode()


def _rec(rid: str, site: str, ctdivol: float, tech: str, status: str = "complete", days: float = 1.0,
         crop: bool = False) -> Record:
    return Record(id=rid, station=f"ct-{site}", site=site, source="test", modality="CT",
                  template=TemplateRef(id="ct_dose_report", version="1"),
                  captured_at=datetime.now(timezone.utc) - timedelta(days=days),
                  fields={"ctdivol": FieldValue(value=ctdivol, text=str(ctdivol), confidence=0.97),
                          "patient_id": FieldValue(value=HASHED_ID, personal=True),
                          "technologist": FieldValue(value=tech)},
                  status=status, evidence=Evidence(crops={"ctdivol": png()} if crop else {}))


def fill(db: str):
    """A store with two hospitals: records to review at each, one with a field crop."""
    rules = load_rules(RULES)
    recs = [_rec("a-1", "hospital-a", 20.0, "Li", "needs_review", 1, crop=True), _rec("a-2", "hospital-a", 75.0, "Li", days=2),
            _rec("a-3", "hospital-a", 15.0, "Li", days=3), _rec("b-1", "hospital-b", 30.0, B_MARKER, "needs_review", 1),
            _rec("b-2", "hospital-b", 95.0, B_MARKER, days=2)]
    store = open_store(db)
    store.save([Incoming(r.station, i + 1, r.id, {}, r.to_json(), r) for i, r in enumerate(recs)],
               lambda rec: [f.body() for f in rules.evaluate(rec)])
    return store


def write_users(path: Path) -> Path:
    add_user(path, "admin", "admin", PASSWORDS["admin"])
    add_user(path, "dr.zhang", "reviewer", PASSWORDS["dr.zhang"])
    add_user(path, "viewer-a", "viewer", PASSWORDS["viewer-a"], site="hospital-a")
    add_user(path, "viewer-b", "viewer", PASSWORDS["viewer-b"], site="hospital-b")
    return path


@pytest.fixture(scope="module")
def users_file(tmp_path_factory) -> Path:
    return write_users(tmp_path_factory.mktemp("users") / "users.toml")


def make_client(store, users_file: Path, **kw) -> TestClient:
    app = create_app(store, Users.load(users_file), "s" * 40, rules=load_rules(RULES), **kw)
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client: TestClient, name: str, password: str | None = None):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"user": name, "password": password or PASSWORDS[name], "csrf": token, "next": "/"})


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path):
    db = str(tmp_path / "c.sqlite") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    store = fill(db)
    yield store
    store.close()


@pytest.fixture
def store(tmp_path):
    s = fill(str(tmp_path / "c.sqlite"))
    yield s
    s.close()


def test_pages_need_a_login_and_a_wrong_password_is_refused(store, users_file):
    c = make_client(store, users_file)
    r = c.get("/queue")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert c.get("/api/queue").status_code == 401
    r = login(c, "dr.zhang", "wrong-password")
    assert r.status_code == 401 and "wrong password" in r.text
    assert login(c, "nobody", "x" * 10).status_code == 401
    r = login(c, "dr.zhang")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = c.get("/").text
    assert "hospital-a" in page and "hospital-b" in page and page.count("<svg") == 3
    # a tampered session cookie is no session
    value = c.cookies.get("qcedge_session")
    c.cookies.set("qcedge_session", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    assert c.get("/queue").status_code == 303


def test_a_hospital_viewer_sees_only_its_hospital_in_pages_and_api(any_store, users_file):
    store = any_store
    review.open_item(store, scope="site", target="hospital-b", problem="dose high at b", plan="p", due="2030-01-01",
                     opened_by="admin")
    review.open_item(store, scope="station", target="ct-hospital-a", problem="dose high at a", plan="p",
                     due="2030-01-01", opened_by="admin")
    c = make_client(store, users_file)
    assert login(c, "viewer-a").status_code == 303
    queue = c.get("/queue").text
    assert "a-1" in queue and "a-2" in queue and "b-1" not in queue and "hospital-b" not in queue
    assert "b-1" not in c.get("/queue?site=hospital-b").text  # asking for another hospital gives its own
    r = c.get("/record", params={"station": "ct-hospital-b", "id": "b-1"})
    assert r.status_code == 404 and B_MARKER not in r.text
    assert c.get("/record", params={"station": "ct-hospital-a", "id": "a-1"}).status_code == 200
    overview = c.get("/").text
    assert "hospital-a" in overview and "hospital-b" not in overview
    items = c.get("/items").text
    assert "dose high at a" in items and "dose high at b" not in items
    # the API, with the session cookie and with HTTP Basic
    assert c.get("/api/record", params={"station": "ct-hospital-b", "id": "b-1"}).status_code == 404
    assert {r["site"] for r in c.get("/api/queue").json()} == {"hospital-a"}
    assert {r["site"] for r in c.get("/api/queue?site=hospital-b").json()} == {"hospital-a"}
    assert c.get("/api/stats?site=hospital-b").status_code == 404
    assert c.get("/api/stats?hospital=hospital-b").status_code == 404
    assert {g["site"] for g in c.get("/api/stats?by=site").json()["groups"]} == {"hospital-a"}
    assert [i["target"] for i in c.get("/api/items").json()] == ["ct-hospital-a"]
    b_item = next(i for i in review.items(store) if i.target == "hospital-b").id
    assert c.get(f"/item?id={b_item}").status_code == 404 and c.get(f"/api/items?id={b_item}").status_code == 404
    basic = TestClient(c.app)
    assert basic.get("/api/queue", auth=("viewer-b", "wrong-pass-x")).status_code == 401
    assert {r["site"] for r in basic.get("/api/queue", auth=("viewer-b", PASSWORDS["viewer-b"])).json()} == \
        {"hospital-b"}
    assert basic.get("/api/record", params={"station": "ct-hospital-a", "id": "a-1"},
                     auth=("viewer-b", PASSWORDS["viewer-b"])).status_code == 404
    # a reviewer sees both
    c2 = make_client(store, users_file)
    login(c2, "dr.zhang")
    assert {r["site"] for r in c2.get("/api/queue").json()} == {"hospital-a", "hospital-b"}


def test_reviewer_corrections_go_through_review_and_need_the_csrf_token(store, users_file):
    c = make_client(store, users_file)
    login(c, "dr.zhang")
    page = c.get("/record", params={"station": "ct-hospital-a", "id": "a-2"}).text
    token = csrf_of(page)
    form = {"station": "ct-hospital-a", "id": "a-2", "field": "ctdivol", "value": "15.0", "reason": "OCR read 75 for 15"}
    assert c.post("/record/correct", data=form).status_code == 403  # no token
    assert c.post("/record/correct", data={**form, "csrf": "forged"}).status_code == 403
    assert review.show(store, "ct-hospital-a", "a-2")["corrections"] == []
    r = c.post("/record/correct", data={**form, "csrf": token})
    assert r.status_code == 303
    shown = review.show(store, "ct-hospital-a", "a-2")
    assert shown["current"]["ctdivol"] == 15.0 and shown["fields"]["ctdivol"]["value"] == 75.0
    assert shown["corrections"][0]["reviewer"] == "dr.zhang"
    page = c.get(r.headers["location"]).text
    assert "OCR read 75 for 15" in page and "dr.zhang" in page
    r = c.post("/record/correct", data={"station": "ct-hospital-a", "id": "a-2", "verdict": "complete", "reason": " ",
                                        "csrf": token})
    assert r.status_code == 400 and "reason is required" in r.text
    c.post("/record/correct", data={"station": "ct-hospital-a", "id": "a-2", "verdict": "complete",
                                    "reason": "normal after correction", "csrf": token})
    assert "a-2" not in {q["record_id"] for q in review.queue(store)}
    # rectification: open and close through the forms
    r = c.post("/items/open", data={"scope": "site", "target": "hospital-b", "problem": "CTDIvol high",
                                    "plan": "protocol review", "due": "2030-06-30", "csrf": token})
    assert r.status_code == 303
    item = review.items(store)[0]
    assert (item.target, item.opened_by, item.status) == ("hospital-b", "dr.zhang", "open")
    assert c.post("/items/open", data={"scope": "site", "target": "x", "problem": "p", "plan": "p", "due": "soon",
                                       "csrf": token}).status_code == 400
    c.post("/items/close", data={"item": str(item.id), "outcome": "levels back under", "csrf": token})
    assert review.items(store)[0].status == "closed"
    page = c.get(f"/item?id={item.id}").text
    assert "levels back under" in page and 'id="rates"' in page
    # a viewer may not correct, even with its own valid token
    v = make_client(store, users_file)
    login(v, "viewer-a")
    vtoken = csrf_of(v.get("/queue").text)
    r = v.post("/record/correct", data={**form, "csrf": vtoken})
    assert r.status_code == 403 and len(review.show(store, "ct-hospital-a", "a-2")["corrections"]) == 2
    assert "correct-field" not in v.get("/record", params={"station": "ct-hospital-a", "id": "a-2"}).text


def test_record_detail_shows_crops_and_personal_fields_per_policy(store, users_file):
    params = {"station": "ct-hospital-a", "id": "a-1"}
    c = make_client(store, users_file)  # default policy: hide
    login(c, "dr.zhang")
    page = c.get("/record", params=params).text
    assert 'src="data:image/png;base64,' in page and "20.0" in page
    assert HASHED_ID not in page and "hidden by the site" in page
    assert c.get("/api/record", params=params).json()["fields"]["patient_id"]["value"] is None
    c = make_client(store, users_file, personal="reviewers")
    login(c, "dr.zhang")
    assert HASHED_ID in c.get("/record", params=params).text  # shown as sent: hashed stays hashed
    v = make_client(store, users_file, personal="reviewers")
    login(v, "viewer-a")
    assert HASHED_ID not in v.get("/record", params=params).text


def test_language_switch_and_admin_page(store, users_file):
    c = make_client(store, users_file)
    login(c, "admin")
    assert "Review queue" in c.get("/queue").text
    r = c.get("/lang/zh?next=/queue")
    assert r.headers["location"] == "/queue"
    page = c.get("/queue").text
    assert "待审核" in page and "Review queue" not in page
    assert c.get("/lang/en?next=//evil.example").headers["location"] == "/"
    assert "viewer-a" in c.get("/users").text and "scrypt" not in c.get("/users").text
    v = make_client(store, users_file)
    login(v, "viewer-a")
    assert v.get("/users").status_code == 403


def test_users_file_keeps_only_scrypt_hashes(tmp_path):
    h = hash_password("correct horse")
    assert verify_password("correct horse", h) and not verify_password("correct hors", h)
    path = tmp_path / "users.toml"
    r = subprocess.run([sys.executable, "-m", "qcedge", "dashboard", "adduser", "lee", "--users", str(path),
                        "--role", "reviewer", "--password-stdin"], input="s3cret-password\n", capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "s3cret-password" not in path.read_text() and (path.stat().st_mode & 0o777) == 0o600
    assert Users.load(path).authenticate("lee", "s3cret-password").role == "reviewer"
    r = subprocess.run([sys.executable, "-m", "qcedge", "dashboard", "adduser", "v", "--users", str(path),
                        "--role", "viewer", "--password-stdin"], input="long-enough-pw\n", capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 2 and "needs --site" in r.stderr
    (tmp_path / "bad.toml").write_text('[users.x]\nrole = "reviewer"\npassword = "plain"\n')
    r = subprocess.run([sys.executable, "-m", "qcedge", "dashboard", "--users", str(tmp_path / "bad.toml")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "scrypt hash" in r.stderr and len(r.stderr.strip().splitlines()) == 1
