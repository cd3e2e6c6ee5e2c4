"""Browser fixtures: Debian's Chromium driven by Playwright, the tool inside the LMS emulator's course page.

The emulator answers on ``localhost`` and the tool on ``127.0.0.1``, so the tool's iframe is cross-site, as in
a real LMS. Third-party cookies are blocked the way a student blocks them: the profile's "Block third-party
cookies" setting (``profile.cookie_controls_mode`` = 1 in its ``Preferences`` file). Chromium reads that
setting from the profile directory, so each cookie policy is its own persistent profile, started once per
run: ``blocking_browser`` (what most tests use) and ``cookie_browser`` (cookies allowed, started only by the
test that needs it). ``test_oidc_state_paths.py`` proves the setting takes effect.

These tests run once, on SQLite: they cover the browser side, which does not depend on the database.
"""

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from tests.conftest import USE_POSTGRES

CHROMIUM = Path(os.environ.get("TRACEBOOK_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Chromium's CookieControlsMode: 0 allows third-party cookies, 1 blocks them (the user's choice in
# chrome://settings/cookies), 2 blocks them in incognito only (the default).
ALLOW_THIRD_PARTY_COOKIES, BLOCK_THIRD_PARTY_COOKIES = 0, 1
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if USE_POSTGRES:
                item.add_marker(pytest.mark.skip(reason="browser tests run once, on SQLite"))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `make test` installs it (apt-get install chromium).")
    expect.set_options(timeout=TIMEOUT_MS)  # a loaded CI machine is slower than Playwright's 5 s default
    with sync_playwright() as instance:
        yield instance


def _profile(playwright: Playwright, directory: Path, cookie_controls_mode: int) -> BrowserContext:
    (directory / "Default").mkdir(parents=True)
    preferences = {
        "profile": {
            "cookie_controls_mode": cookie_controls_mode,
            "block_third_party_cookies": cookie_controls_mode == BLOCK_THIRD_PARTY_COOKIES,  # the older name
        }
    }
    (directory / "Default" / "Preferences").write_text(json.dumps(preferences))
    # Playwright's own browser download is not used: Debian's Chromium, with the tool's CSP left in force
    # (axe-core is evaluated in the frame through the DevTools protocol, which CSP does not govern).
    context = playwright.chromium.launch_persistent_context(
        str(directory), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, viewport={"width": 1000, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture(scope="session")
def blocking_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with third-party cookies blocked."""
    context = _profile(playwright, tmp_path_factory.mktemp("chromium-blocking"), BLOCK_THIRD_PARTY_COOKIES)
    yield context
    context.close()


@pytest.fixture(scope="session")
def cookie_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with third-party cookies allowed."""
    context = _profile(playwright, tmp_path_factory.mktemp("chromium-cookies"), ALLOW_THIRD_PARTY_COOKIES)
    yield context
    context.close()


def _fresh_page(context: BrowserContext) -> Iterator[Page]:
    # The pages run with their CSP in force; a refused script or style means a page broke it.
    refused: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            refused.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", watch)
    page = context.new_page()
    yield page
    context.remove_listener("console", watch)
    # The profile outlives the test: leave no page or cookie behind for the next one.
    for open_page in context.pages:
        open_page.close()
    context.clear_cookies()
    assert refused == [], "the Content-Security-Policy refused something:\n" + "\n".join(refused)


@pytest.fixture
def page(blocking_browser: BrowserContext, live_server: str) -> Iterator[Page]:
    """A new tab in the cookie-blocking browser, with the app served."""
    yield from _fresh_page(blocking_browser)


@pytest.fixture
def cookie_page(cookie_browser: BrowserContext, live_server: str) -> Iterator[Page]:
    """A new tab in the browser that allows third-party cookies, with the app served."""
    yield from _fresh_page(cookie_browser)
