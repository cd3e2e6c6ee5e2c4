"""A student's way through the module in a real browser: launched from the (Canvas-like) LMS into a
cross-site iframe with third-party cookies blocked, reads lesson 1, takes quiz 1, fails the module test
with 11 of 15 and passes it with 12 of 15, and comes back after closing the tab to find the test as left.
axe-core checks the overview, a lesson, the quiz, the test and both result pages on the way."""

from playwright.sync_api import Dialog, FrameLocator, Page, expect

from content import Module, Question
from lms_plugin.db import Database

from .lms import course_url, radio, serious_violations, state_checks, tool, tool_frame


def _assert_accessible(page: Page) -> None:
    assert serious_violations(tool_frame(page)) == []


def _answer_test(frame: FrameLocator, questions: list[Question], *, wrong: set[str]) -> None:
    """Choose an answer to each question, waiting for the page's autosave of each choice."""
    saved = frame.locator("#test-save-status")
    for question in questions:
        frame.locator(radio(question, correct=question.id not in wrong)).check()
        expect(saved).to_have_text("All changes saved.")


def _submit_test(page: Page) -> None:
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    tool(page).get_by_role("button", name="Submit the test").click()
    expect(tool(page).locator("#result-heading")).to_be_visible()
    assert asked == ["Submit the test? You cannot change your answers afterwards."]


def test_student_reads_takes_the_quiz_and_passes_the_test_on_the_second_attempt(
    page: Page, port: int, db: Database, module: Module
) -> None:
    frame = tool(page)

    # Launch: the whole module, in the course page's iframe.
    page.goto(course_url(port, "canvas"))
    expect(frame.locator("h1")).to_have_text(module.title)
    expect(frame.locator("label[for=module-progress]")).to_have_text(
        f"Your progress: 0 of {len(module.units)} steps done"
    )
    _assert_accessible(page)

    # Lesson 1.
    lesson = module.lessons[0]
    frame.get_by_role("link", name=module.title_of(lesson.id)).click()
    expect(frame.locator("h1").first).to_contain_text(lesson.title)
    _assert_accessible(page)

    # Quiz 1, reached from the lesson's pager: the first question answered wrongly, the rest rightly.
    quiz = module.assessment("quiz-1")
    assert quiz is not None
    frame.get_by_role("link", name=module.title_of(quiz.id)).click()
    expect(frame.locator("h1")).to_have_text(quiz.title)
    for number, question in enumerate(quiz.questions):
        correct = number > 0
        form = frame.locator(f"form[data-question='{question.id}']")
        form.locator(radio(question, correct=correct)).check()
        form.get_by_role("button", name="Check answer").click()
        feedback = question.feedback.correct if correct else question.feedback.incorrect
        expect(form.locator(".feedback")).to_have_text(feedback)
        # The answer is final: the question's choices are locked.
        for option in question.options:
            expect(form.locator(f"[id='{question.id}-{option.id}']")).to_be_disabled()
    expect(frame.locator("#quiz-score")).to_have_text(
        f"You answered {len(quiz.questions) - 1} of {len(quiz.questions)} correctly."
    )
    _assert_accessible(page)

    # The module test, first attempt: 11 of 15. Part of it now, the rest after closing the tab.
    test = module.test
    questions = list(test.questions)
    wrong = {q.id for q in questions[-4:]}
    frame.get_by_role("link", name="Overview").click()
    frame.get_by_role("link", name=module.title_of(test.id)).click()
    frame.get_by_role("button", name="Start the test").click()
    expect(frame.locator("#test-form")).to_be_visible()
    _answer_test(frame, questions[:8], wrong=wrong)

    page.close()
    page = page.context.new_page()
    frame = tool(page)
    page.goto(course_url(port, "canvas", placement="link-module-test"))
    expect(frame.locator("#test-form")).to_be_visible()
    expect(frame.get_by_text("Attempt 1 of 3.")).to_be_visible()
    for question in questions[:8]:
        expect(frame.locator(radio(question, correct=question.id not in wrong))).to_be_checked()
    for question in questions[8:]:
        expect(frame.locator(f"input[name='q-{question.id}']:checked")).to_have_count(0)
    _answer_test(frame, questions[8:], wrong=wrong)
    _assert_accessible(page)
    _submit_test(page)

    expect(frame.locator("#result-heading")).to_have_text("Not passed")
    expect(frame.locator(".score strong")).to_have_text("11 of 15")
    expect(frame.locator(".question-wrong")).to_have_count(4)
    expect(frame.get_by_text("The right answers are shown once you pass")).to_be_visible()
    _assert_accessible(page)

    # Second attempt: 12 of 15, saved with the form's own button before submitting.
    frame.get_by_role("button", name="Retake the test (2 attempts left)").click()
    expect(frame.get_by_text("Attempt 2 of 3.")).to_be_visible()
    _answer_test(frame, questions, wrong={q.id for q in questions[-3:]})
    frame.get_by_role("button", name="Save answers").click()
    expect(frame.get_by_text("Your answers are saved.")).to_be_visible()
    _submit_test(page)

    expect(frame.locator("#result-heading")).to_have_text("Passed")
    expect(frame.locator(".score strong")).to_have_text("12 of 15")
    expect(frame.locator(".question-wrong")).to_have_count(3)
    expect(frame.locator(".question-wrong").first).to_contain_text("Right answer:")
    _assert_accessible(page)

    # The overview sums it up.
    frame.get_by_role("link", name="Back to the module").click()
    units = frame.locator(".unit")
    expect(units.filter(has_text=module.title_of(lesson.id)).locator(".unit-status")).to_have_text("✓ Read")
    expect(units.filter(has_text=module.title_of(quiz.id)).locator(".unit-status")).to_have_text(
        "✓ Completed, best 3/4"
    )
    expect(units.filter(has_text=module.title_of(test.id)).locator(".unit-status")).to_have_text("✓ Passed, best 12/15")
    expect(frame.locator("label[for=module-progress]")).to_have_text(
        f"Your progress: 3 of {len(module.units)} steps done"
    )
    assert state_checks(db) == ["platform-storage", "platform-storage"]
