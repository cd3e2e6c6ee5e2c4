"""Whatever a model writes is shown inert: a reply full of script, event-handler HTML and javascript: links,
from a real OpenAI-compatible server on loopback, runs nothing in the student's browser — while it streams
and after it is rendered — and the page's CSP is never the only thing standing in the way."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fake_llm import FakeLLM

from .lms import course_url, tool, tool_frame

HOSTILE = (
    "Here is a trace tip. <script>window.pwned = 'script'</script>",
    '<img src="x" onerror="window.pwned = \'img\'"> ',
    "[open the docs](javascript:window.pwned='link') ",
    "<a href=\"javascript:window.pwned='anchor'\">click</a> ",
    "and **tail sampling** keeps errors.",
)


@pytest.fixture
def app_settings(fake_llm: FakeLLM) -> dict[str, Any]:
    return {"LLM_BASE_URL": fake_llm.base_url, "LLM_MODEL": "gpt-4o-mini", "LLM_TIMEOUT": 5, "LLM_MAX_RETRIES": 0}


def test_script_html_and_javascript_links_from_the_model_are_shown_as_text(
    page: Page, port: int, fake_llm: FakeLLM
) -> None:
    fake_llm.reply(*HOSTILE)
    frame = tool(page)
    page.goto(course_url(port, "canvas", placement="link-lab-2"))
    frame.locator("#chat-message").fill("How should I sample at 5,000 requests an hour?")
    frame.get_by_role("button", name="Send").click()
    reply = frame.locator(".message-assistant .reply").last
    expect(reply.locator("strong")).to_have_text("tail sampling")  # Markdown is rendered…
    expect(reply).to_contain_text("<script>window.pwned = 'script'</script>")  # …HTML is text
    assert reply.locator("script, img, iframe, [onerror]").count() == 0
    hrefs = reply.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h and not h.startswith(("http://", "https://", "mailto:"))]
    for link in reply.get_by_text("click").all() + reply.get_by_text("open the docs").all():
        link.click()
    assert tool_frame(page).evaluate("() => window.pwned") is None
    # The same reply, rendered again from the stored transcript when the student launches again.
    page.goto(course_url(port, "canvas", placement="link-lab-2"))
    expect(frame.locator(".message-assistant .reply strong").last).to_have_text("tail sampling")
    assert frame.locator(".message-assistant .reply script").count() == 0
    assert tool_frame(page).evaluate("() => window.pwned") is None
