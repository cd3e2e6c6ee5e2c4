"""A student passes the module test in the LMS's iframe (third-party cookies blocked), downloads the certificate
PDF the worker rendered, opens the verification page from the result page and sees "Valid"; axe-core checks
the result page's certificate panel and the public verification page."""

from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from content import Module
from lms_plugin.delivery import outbox_worker
from tests.pdf_reading import pdf_text, qr_codes

from .lms import course_url, serious_violations, tool, tool_frame
from .test_student_journey import _answer_test, _submit_test


def test_a_student_passes_downloads_the_pdf_and_sees_the_certificate_valid(
    page: Page, port: int, app: Flask, module: Module, tmp_path: Path
) -> None:
    frame = tool(page)
    page.goto(course_url(port, "canvas", placement="link-module-test"))
    frame.get_by_role("button", name="Start the test").click()
    questions = list(module.test.questions)
    _answer_test(frame, questions, wrong={q.id for q in questions[-2:]})
    _submit_test(page)
    expect(frame.locator("#result-heading")).to_have_text("Passed")
    panel = frame.locator(".certificate-panel")
    expect(panel).to_contain_text("13 of 15")
    assert serious_violations(tool_frame(page)) == []

    worker = outbox_worker(app, "browser-test-worker")  # the worker renders the PDF, as `tracebook worker` does
    while worker.run_once():
        pass
    with page.expect_download() as download:
        panel.get_by_role("link", name="Download the PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    certificate_id = download.value.suggested_filename.removeprefix("certificate-").removesuffix(".pdf")
    assert "Ada" in pdf_text(pdf, tmp_path)
    [url] = qr_codes(pdf, tmp_path)
    assert url.endswith(f"/c/{certificate_id}")

    with page.context.expect_page() as opened:
        panel.get_by_role("link", name="Verification page").click()
    verification = opened.value
    expect(verification.locator("#verdict")).to_have_text("Valid")
    expect(verification.locator(".certificate-facts")).to_contain_text(module.title)
    expect(verification.locator(".certificate-signature-ok")).to_have_text("Verified")
    assert verification.url == url
    main_frame = verification.main_frame
    assert serious_violations(main_frame) == []
