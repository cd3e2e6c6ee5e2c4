"""An instructor's visit in a real browser, in the Canvas-like course page with third-party cookies blocked:
the class list from the LMS roster (a student who never launched included), the charts, a failed gradebook
sync with its reason, "Resend" until it is delivered, and an extra attempt for a student."""

from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from content import Module
from lms_plugin.delivery import outbox_worker
from lms_plugin.emulator.services import FAILURES
from tests.functional.lti_support import launch_as, session_token
from tests.functional.test_grades import _take_test

from .lms import course_url, serious_violations, tool, tool_frame


def test_instructor_sees_the_class_resends_a_failed_score_and_grants_an_attempt(
    page: Page, port: int, app: Flask, client: FlaskClient, module: Module
) -> None:
    student = session_token(launch_as(client, app, mode="canvas", unit="module-test"))
    _take_test(client, student, module, right=10)
    FAILURES.clear()
    FAILURES["scores"] = [{"status": 404, "body": "line item gone"}]
    worker = outbox_worker(app, "browser-worker")
    while worker.run_once():
        pass

    page.goto(course_url(port, "canvas", placement="link-module-test", person="alan"))
    frame = tool(page)
    expect(frame.locator("h2#students-heading")).to_have_text("Students (2)")
    expect(frame.get_by_role("row", name="Grace Student (has not opened the tool)")).to_be_visible()
    expect(frame.get_by_role("img", name="Share of students answering each test question correctly")).to_be_visible()
    expect(frame.get_by_role("img", name="How many students have each best test score, from 0 to 15")).to_be_visible()
    expect(frame.get_by_text("HTTP 404: line item gone")).to_be_visible()
    assert serious_violations(tool_frame(page)) == []

    frame.get_by_role("button", name="Resend").click()
    expect(frame.get_by_role("button", name="Resend")).to_have_count(0)
    while worker.run_once():
        pass
    page.reload()
    expect(frame.get_by_text(f"{module.test.title}: delivered")).to_be_visible()

    frame.get_by_role("button", name="Grant an extra attempt to Ada Learner").click()
    expect(frame.get_by_text("extra attempt (one more module-test attempt for Ada Learner)")).to_be_visible()
