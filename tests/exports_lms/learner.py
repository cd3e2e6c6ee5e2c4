"""A learner working through an export package's pages (the DOM hooks the package builder keeps stable), and the
packages themselves, built from the default module and unzipped for a test runtime to serve."""

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Frame, Page, expect

from content import Module, Question
from exports.packages import PackageFormat, build_package

ROOT = Path(__file__).resolve().parents[2]
STYLESHEET = ROOT / "lms_plugin" / "static" / "tracebook.css"
ACTIVITY_BASE = "https://tracebook.example.edu/xapi"
DOCUMENTS = ("/xapi/activities/state?", "/xapi/agents/profile?")


def unzipped_package(module: Module, package_format: PackageFormat, directory: Path) -> Path:
    """The package as the CLI builds it (the tool's stylesheet, the LTI tool's activity ids), unzipped."""
    data = build_package(module, package_format, stylesheet=STYLESHEET.read_bytes(), activity_base=ACTIVITY_BASE)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(directory)
    return directory


def option(question: Question, *, correct: bool) -> str:
    return next(choice.id for choice in question.options if choice.correct is correct)


def choose(frame: Frame, question: Question, *, correct: bool) -> str:
    """Picks a right or wrong option of the question; returns the option id."""
    chosen = option(question, correct=correct)
    frame.locator(f"input[name='q-{question.id}'][value='{chosen}']").check()
    return chosen


def read_lesson(frame: Frame) -> None:
    """Reads to the end of the lesson: the end marker comes into view, and stays until the page has noticed.

    The runtime hears of it from an IntersectionObserver, whose callback runs in a task queued after the next
    rendering update: two animation frames later it has run, so leaving the page next cannot outrun it."""
    frame.locator("#lesson-end").scroll_into_view_if_needed()
    frame.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def take_quiz(frame: Frame, questions: tuple[Question, ...], right: list[bool]) -> list[str]:
    """Answers each question (rightly where ``right`` says so) and checks it; returns the chosen option ids."""
    chosen = []
    for question, correct in zip(questions, right, strict=True):
        chosen.append(choose(frame, question, correct=correct))
        frame.locator(f"#q-{question.id} button.check").click()
        expect(frame.locator(f"#q-{question.id} .feedback")).not_to_be_empty()
    expect(frame.locator("#quiz-done")).to_be_visible()
    return chosen


def answer_test(frame: Frame, questions: tuple[Question, ...], right: int, start: int = 0) -> list[str]:
    """Answers the test's questions from ``start`` on: the first ``right`` of them rightly, the rest wrongly."""
    return [
        choose(frame, question, correct=number < right)
        for number, question in enumerate(questions[start:], start=start)
    ]


def submit_test(frame: Frame, *, passed: bool) -> None:
    frame.locator("#submit-test").click()
    expect(frame.locator("#test-result")).to_be_visible()
    verdict = "result-passed" if passed else "result-failed"
    expect(frame.locator("#test-result")).to_have_class(re.compile(rf"\b{verdict}\b"))


def player_page(context: BrowserContext) -> Iterator[Page]:
    """A new tab for one test; afterwards, no script in it (host, package or runtime) may have logged an error
    or thrown, and it is closed."""
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # An xAPI document the AU has not saved yet is a 404 by design (xAPI 1.0.3 §2.7.3); Chromium logs it.
        unsaved = "404" in message.text and any(part in message.location.get("url", "") for part in DOCUMENTS)
        if message.type == "error" and not unsaved:
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    def thrown(error: Error) -> None:
        errors.append(f"uncaught: {error}")

    page = context.new_page()
    page.on("console", console)
    page.on("pageerror", thrown)
    yield page
    page.close()
    assert errors == [], "the pages reported errors:\n" + "\n".join(errors)
