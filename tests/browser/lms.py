"""Driving the LMS emulator's course page and the tool inside it, plus the checks the browser tests share:
axe-core on the tool's frame, and which OIDC state path the tool recorded."""

import json
from pathlib import Path

from playwright.sync_api import Frame, FrameLocator, Page
from sqlalchemy import select

from content import Question
from lms_plugin.db import Database
from lms_plugin.models import OidcLogin

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def course_url(port: int, mode: str, placement: str = "link-module", person: str = "ada") -> str:
    """The emulated LMS course page (on localhost, another site than the tool) showing one placement."""
    return f"http://localhost:{port}/emulator/{mode}/course?person={person}&placement={placement}"


def tool(page: Page) -> FrameLocator:
    return page.frame_locator("#tool-frame")


def tool_frame(page: Page) -> Frame:
    frame = page.frame(name="tool")
    assert frame is not None, "the course page has no tool frame"
    return frame


def option_id(question: Question, *, correct: bool) -> str:
    return next(option.id for option in question.options if option.correct is correct)


def radio(question: Question, *, correct: bool) -> str:
    """The selector of the radio button that answers ``question`` rightly or wrongly."""
    return f"[id='{question.id}-{option_id(question, correct=correct)}']"


def serious_violations(frame: Frame) -> list[str]:
    """axe-core's serious and critical violations on the frame's document, one readable line each.

    The script is evaluated through the DevTools protocol rather than added as a <script>: the tool's CSP
    (script-src 'self') stays in force for the whole test, so a page that breaks it still fails."""
    if not frame.evaluate("() => typeof window.axe === 'object'"):
        if not AXE.exists():
            raise AssertionError(f"{AXE} is missing: run `npm install` (make test does).")
        frame.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    results = frame.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + json.dumps([node["target"] for node in violation["nodes"]])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def state_checks(db: Database) -> list[str]:
    """Which OIDC state path each completed launch ran, as the tool recorded it."""
    with db.transaction() as session:
        return [check for check in session.scalars(select(OidcLogin.state_check)) if check is not None]
