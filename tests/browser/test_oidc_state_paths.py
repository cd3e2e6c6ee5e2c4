"""The three ways the tool proves the browser that launched is the one that started the login, seen from
a real browser in the LMS's iframe: LTI Platform Storage (Canvas), a cookie (Moodle, cookies allowed) and a
cookie in a new window (Moodle, third-party cookies blocked). Each asserts which path ran, both as the
launch told the browser and as the tool recorded it in ``oidc_logins.state_check``.

The two Moodle tests differ only in the browser profile's third-party cookie setting, so together they
prove that setting really blocks the tool's cookies in the frame."""

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import BrowserContext, Page, Response, Route, expect

from lms_plugin.db import Database

from .lms import course_url, state_checks, tool

STATE_HEADER = "x-tracebook-state-check"


@contextmanager
def _launch_responses(context: BrowserContext) -> Iterator[list[Response]]:
    """Every answer to the platform's form_post, wherever it lands (frame or window), as it arrives."""
    seen: list[Response] = []

    def record(response: Response) -> None:
        if response.url.endswith("/lti/launch") and response.request.method == "POST":
            seen.append(response)

    context.on("response", record)
    try:
        yield seen
    finally:
        context.remove_listener("response", record)


def _state_cookies(context: BrowserContext, port: int) -> list[str]:
    return [c["name"] for c in context.cookies(f"http://127.0.0.1:{port}/lti/") if c["name"].startswith("tb_state_")]


def test_canvas_launch_keeps_the_state_in_platform_storage_with_cookies_blocked(
    page: Page, port: int, db: Database
) -> None:
    confirmations: list[dict[str, str]] = []

    def pass_through(route: Route) -> None:
        # The page navigates away as soon as it has the answer, so read it on its way through.
        response = route.fetch()
        confirmations.append(response.json())
        route.fulfill(response=response)

    page.route("**/lti/launch/confirm", pass_through)
    page.goto(course_url(port, "canvas"))

    expect(tool(page).locator("h1")).to_have_text("Tracing LLM Calls")
    assert [c["state_check"] for c in confirmations] == ["platform-storage"]
    assert state_checks(db) == ["platform-storage"]
    assert _state_cookies(page.context, port) == []


def test_moodle_launch_opens_a_new_window_when_third_party_cookies_are_blocked(
    page: Page, port: int, db: Database
) -> None:
    with _launch_responses(page.context) as launches:
        page.goto(course_url(port, "moodle"))

        offer = tool(page).locator("#lti-new-window")
        expect(offer).to_be_visible()
        expect(offer.get_by_role("heading")).to_have_text("Open the activity in a new window")
        # The frame's Set-Cookie was refused, and the tool never sent the browser on to the platform.
        assert _state_cookies(page.context, port) == []
        assert launches == []

        with page.context.expect_page() as opened:
            offer.get_by_role("link", name="Open in a new window").click()
        window = opened.value
        expect(window.locator("h1")).to_have_text("Tracing LLM Calls")
        assert window.url.startswith(f"http://127.0.0.1:{port}/s/module?s=")
        assert [r.headers.get(STATE_HEADER) for r in launches] == ["new-window"]
        assert state_checks(db) == ["new-window"]


def test_moodle_launch_checks_the_state_cookie_when_third_party_cookies_are_allowed(
    cookie_page: Page, port: int, db: Database
) -> None:
    with _launch_responses(cookie_page.context) as launches:
        cookie_page.goto(course_url(port, "moodle"))

        expect(tool(cookie_page).locator("h1")).to_have_text("Tracing LLM Calls")
        # The cookie came back with the platform's cross-site POST into the frame: no new window was needed.
        assert [r.headers.get(STATE_HEADER) for r in launches] == ["cookie"]
        assert state_checks(db) == ["cookie"]
        # The launch spent the state cookie.
        assert _state_cookies(cookie_page.context, port) == []
