"""LTI Dynamic Registration in a real browser, as a Moodle admin does it: paste the tool's one-time link, the
LMS frames the tool's registration page, the tool registers and posts ``org.imsglobal.lti.close``, and the
LMS returns to its tool list, where the new tool is listed."""

from datetime import timedelta

from flask import Flask
from playwright.sync_api import Page, expect

from lms_plugin.db import Database
from lms_plugin.lti.registration import RegistrationLinks
from tests.conftest import FrozenClock


def test_the_tool_registers_in_the_lms_frame_and_tells_the_lms_to_close_it(
    page: Page, app: Flask, db: Database, clock: FrozenClock, port: int
) -> None:
    with db.transaction() as session:
        link = RegistrationLinks(session, clock.now()).create(f"http://127.0.0.1:{port}", "test", timedelta(hours=1))

    page.goto(f"http://localhost:{port}/emulator/moodle/tools")
    page.get_by_label("Tool URL").fill(link)
    page.get_by_role("button", name="Add LTI Advantage").click()

    # Only the tool's close message brings the LMS back to its tool list.
    expect(page).to_have_url(f"http://localhost:{port}/emulator/moodle/tools")
    expect(page.get_by_role("heading", level=3)).to_contain_text("Tracebook")
    expect(page.get_by_role("heading", level=3)).to_contain_text("client id")
