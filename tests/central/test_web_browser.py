"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium, against `qcedge dashboard`
served by uvicorn on 127.0.0.1. A reviewer logs in, opens the queue and a record with its crop; a hospital
viewer is refused another hospital's record. Set QCEDGE_WEB_SCREENSHOTS=DIR to keep the screenshots there
(docs/screenshots/central_*.png were made so)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from feedtools import ROOT, free_port
from test_web import B_MARKER, PASSWORDS, fill, write_users

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
                                reason="Debian's chromium and chromium-driver are not installed")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture
def server(tmp_path):
    work = tmp_path / "site"  # relative paths only: nothing of this machine's layout in the pages
    work.mkdir()
    fill(str(work / "central.sqlite")).close()
    write_users(work / "users.toml")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "qcedge", "dashboard", "--db", "central.sqlite", "--users",
                             "users.toml", "--rules", str(ROOT / "samples" / "rules" / "rules.yaml"),
                             "--bind", f"127.0.0.1:{port}"], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/api/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"qcedge dashboard exited: {proc.stderr.read().decode()[-500:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,900",
                 "--lang=en-US"):
        opts.add_argument(flag)
    service = webdriver.ChromeService(executable_path=DRIVER, log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _login(driver, url: str, name: str) -> None:
    driver.delete_all_cookies()
    driver.get(url + "/login")
    driver.find_element(By.ID, "user").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    driver.find_element(By.ID, "login").click()
    driver.find_element(By.ID, "logout")  # present once logged in


def _shot(driver, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5000
    keep = os.environ.get("QCEDGE_WEB_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / name)


def test_browser_reviewer_queue_record_and_a_viewer_refused(server, browser, tmp_path):
    d = browser
    d.implicitly_wait(10)
    _login(d, server, "dr.zhang")
    assert len(d.find_elements(By.CSS_SELECTOR, "svg.chart")) == 3
    assert "hospital-b" in d.find_element(By.ID, "groups").text
    _shot(d, tmp_path, "central_overview.png")
    d.find_element(By.ID, "nav-queue").click()
    rows = d.find_element(By.ID, "queue").text
    assert "a-1" in rows and "b-1" in rows
    d.find_element(By.LINK_TEXT, "a-1").click()
    assert "hospital-a" in d.find_element(By.ID, "meta").text
    crop = d.find_element(By.CSS_SELECTOR, "img.crop")
    assert d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", crop) == 24
    _shot(d, tmp_path, "central_record.png")
    # the reviewer sets a verdict through the form (CSRF token in the page)
    form = d.find_element(By.ID, "correct-verdict")
    form.find_element(By.NAME, "reason").send_keys("checked against the console")
    form.find_element(By.TAG_NAME, "button").click()
    assert d.find_element(By.ID, "saved") and "checked against the console" in d.find_element(By.ID, "corrections").text
    # in Chinese
    d.find_element(By.ID, "lang").click()
    d.find_element(By.ID, "nav-queue").click()
    assert "待审核" in d.page_source and "a-1" not in d.find_element(By.ID, "queue").text
    _shot(d, tmp_path, "central_queue_zh.png")
    # a viewer of hospital-a: its queue only, and hospital-b's record refused
    _login(d, server, "viewer-a")
    d.find_element(By.ID, "nav-queue").click()
    text = d.find_element(By.TAG_NAME, "main").text
    assert "a-2" in text and "b-1" not in text and "hospital-b" not in text
    d.get(server + "/record?station=ct-hospital-b&id=b-1")
    assert B_MARKER not in d.page_source
    assert d.find_element(By.ID, "message").text.startswith(("Not found", "未找到"))
    d.get(server + "/api/record?station=ct-hospital-b&id=b-1")
    assert "no record" in d.page_source and B_MARKER not in d.page_source
