"""An instructor adds Tracebook to a (Canvas-like) course in a real browser, third-party cookies blocked: the
picker in the course page's iframe, the signed answer posted back by the page's own script (no inline script
under the tool's CSP), the emulator's verification, and a student's launch of one of the new links."""

from playwright.sync_api import Page, expect
from sqlalchemy import select

from lms_plugin.db import Database
from lms_plugin.models import EmulatorPlacement

from .lms import course_url, serious_violations, tool, tool_frame


def test_an_instructor_picks_units_and_a_student_opens_the_new_quiz_link(page: Page, port: int, db: Database) -> None:
    page.goto(f"http://localhost:{port}/emulator/canvas/deep-link?person=alan")
    expect(tool(page).locator("h1")).to_have_text("Add Tracebook to Observability for AI Engineers")
    assert serious_violations(tool_frame(page)) == []

    tool(page).get_by_label("Lesson 2 Quiz").check()
    tool(page).locator("#unit-module-test").check()
    tool(page).get_by_role("button", name="Add to the course").click()
    expect(tool(page).locator("h1")).to_have_text("2 links added to the course")

    with db.transaction() as session:
        added = {p.unit: p.resource_link_id for p in session.scalars(select(EmulatorPlacement))}
    assert set(added) == {"quiz-2", "module-test"}
    page.goto(course_url(port, "canvas", placement=added["quiz-2"]))
    expect(tool(page).locator("h1")).to_contain_text("Lesson 2 Quiz")
