"""The example web portal (examples/portal/): served by uvicorn on localhost, used over HTTP and,
when Chromium and Playwright are installed, by a real browser: sign in, open the plan page,
preview an upgrade, see the prorated amount, confirm, see the new invoice."""

from __future__ import annotations

import importlib.util
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import ModuleType

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "portal" / "app.py"
CHROMIUM = "/usr/bin/chromium"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("portal_example_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def portal_url() -> Iterator[str]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        _load().demo_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _client(url: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=True)
    signed_in = client.post("/login", data={"email": email, "password": password})
    assert signed_in.status_code == 200 and "Your plan" in signed_in.text
    return client


def test_the_portal_over_http(portal_url: str) -> None:
    with httpx.Client(base_url=portal_url) as anonymous:
        assert anonymous.get("/plan").headers["location"] == "/login"
        assert (
            anonymous.post("/login", data={"email": "ada@example.com", "password": "nope"}).status_code == 401
        )
    with closing(_client(portal_url, "bo@example.com", "portal-demo-bo")) as bo:
        bo_invoice = re.findall(r'href="/invoices/(in_[0-9a-f]+)"', bo.get("/invoices").text)[0]
    with closing(_client(portal_url, "ada@example.com", "portal-demo")) as ada:
        plan = ada.get("/plan").text
        assert "Basic" in plan and "Preview change to Pro" in plan and "$20.00 / month" in plan
        preview = ada.get("/plan/preview", params={"subscription": "sub_ada", "plan": "pro"}).text
        # 15 of April's 30 days left: credit $5.00, charge $10.00, $5.00 due now
        assert re.search(r'id="amount-due">\$5\.00<', preview)
        assert "-$5.00" in preview and "$10.00" in preview
        form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', preview))
        assert ada.post("/plan/confirm", data={**form, "csrf": "forged"}).status_code == 400
        evil = ada.get("/plan/preview", params={"subscription": "sub_ada", "seats": "2", "plan": "<b>x</b>"})
        assert evil.status_code == 404 and "<b>x</b>" not in evil.text  # nothing echoed back
        done = ada.post("/plan/confirm", data=form)
        assert "Your plan was changed." in done.text
        assert re.search(
            r"INV-000003</td>\s*<td>16 Apr 2027</td>\s*<td>paid</td>\s*<td class=\"n\">\$5\.00", done.text
        )
        assert ada.get("/invoices/" + bo_invoice).status_code == 404  # Bo's invoice: not found
        assert ada.get("/plan/preview", params={"subscription": "sub_bo", "plan": "basic"}).status_code == 404
        own = re.findall(r'href="/invoices/(in_[0-9a-f]+)"', done.text)[0]
        html = ada.get("/invoices/" + own).text
        assert "INV-000003" in html and "$5.00" in html  # the library's layout, in Ada's locale
        pdf = ada.get(f"/invoices/{own}/pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        assert ada.get(f"/invoices/{bo_invoice}/pdf").status_code == 404
        payment = ada.get("/payment").text
        assert "Visa ending in 4242" in payment and "<strong>Default</strong>" in payment
        csrf = re.findall(r'name="csrf" value="([0-9a-f]+)"', payment)[0]
        added = ada.post("/payment", data={"csrf": csrf, "test_card": "amex"}).text
        assert "Your default payment method was updated." in added
        rows = re.findall(
            r"<td>(\w+) ending in (\d{4})</td>.*?<td class=\"n\">\s*(<strong>Default)?", added, re.S
        )
        assert [(brand, last4, bool(default)) for brand, last4, default in rows] == [
            ("Visa", "4242", False),
            ("Amex", "0005", True),
        ]


def _chromium_skip_reason() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install 'subkit[dev]')"
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return "Chromium is not installed (apt-get install chromium)"
    return None


@pytest.mark.skipif(_chromium_skip_reason() is not None, reason=str(_chromium_skip_reason()))
def test_the_portal_in_a_browser(portal_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(portal_url + "/plan")
            page.get_by_label("Email").fill("ada@example.com")
            page.get_by_label("Password").fill("portal-demo")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Your plan")).to_be_visible()
            expect(page.get_by_role("heading", name="Basic")).to_be_visible()
            page.get_by_role("button", name="Preview a change to Pro").click()
            expect(page.get_by_role("heading", name="Change to Pro")).to_be_visible()
            expect(page.locator("#amount-due")).to_have_text("$5.00")  # 15/30 x ($20 - $10)
            page.get_by_role("button", name="Confirm change").click()
            expect(page.get_by_role("status")).to_have_text("Your plan was changed.")
            newest = page.locator("tbody tr").first
            expect(newest).to_contain_text("INV-000003")
            expect(newest).to_contain_text("$5.00")
            page.get_by_role("link", name="Your plan").click()
            expect(page.get_by_role("heading", name="Pro")).to_be_visible()
        finally:
            browser.close()
