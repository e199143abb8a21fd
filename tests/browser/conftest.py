"""Playwright in Debian's Chromium (never a downloaded browser) against the live server."""

import os
import re
from pathlib import Path

import pytest
from django.core import mail

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        # In CI a missing browser is a failure, never a quiet skip of every journey.
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if os.environ.get("CI"):
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _links_point_at_the_live_server(settings, live_server):
    """E-mailed links are built from PANEL_URL: here, the server the browser talks to."""
    settings.PANEL_URL = live_server.url


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(page, password):
    def sign_in_as(user, secret=None):
        page.goto("/accounts/login/")
        page.fill("input[name=email]", user.email)
        page.fill("input[name=password]", secret or password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return sign_in_as


LINK = re.compile(r"https?://\S+")


@pytest.fixture
def mailbox():
    """The e-mails the panel sent (Django's locmem backend, the same process as the live
    server): ``mailbox.link_to(address)`` is the first link of the newest mail to it."""

    class Mailbox:
        @staticmethod
        def to(address: str) -> list:
            return [m for m in mail.outbox if address in m.to]

        def last_to(self, address: str):
            messages = self.to(address)
            assert messages, f"no e-mail was sent to {address}"
            return messages[-1]

        def link_to(self, address: str) -> str:
            message = self.last_to(address)
            found = LINK.search(message.body)
            assert found, f"the last e-mail to {address} has no link: {message.body!r}"
            return found.group(0)

    return Mailbox()


@pytest.fixture
def new_page(browser, live_server):
    """Another person's browser: a fresh context (own cookies) on the live server."""
    contexts = []

    def open_page(**options):
        options.setdefault("viewport", {"width": 1280, "height": 860})
        context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
