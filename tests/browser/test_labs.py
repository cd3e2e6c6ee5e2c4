"""The labs in a real browser with no model at all (the offline scenario tutor), each lab placed on its own in
the LMS's cross-site iframe with third-party cookies blocked: replies stream in, the checklist fills, "Your
trace" opens the student's own span tree, and each of the four labs reaches "Lab complete". Lab 1 is not
complete after three messages about one trace. axe-core checks the chat with a trace tree open."""

from playwright.sync_api import FrameLocator, Page, expect

from content import Module
from tests.lab_answers import RIGHT, SAMPLES

from .lms import course_url, serious_violations, tool, tool_frame


def _send(frame: FrameLocator, text: str) -> str:
    """Send ``text`` and wait for the whole reply; the reply's text."""
    replies = frame.locator(".your-trace")
    before = replies.count()
    frame.locator("#chat-message").fill(text)
    frame.get_by_role("button", name="Send").click()
    expect(replies).to_have_count(before + 1)
    expect(frame.locator("#chat-message")).to_have_value("")
    return frame.locator(".message-assistant .reply").last.inner_text()


def _on_screen(frame: FrameLocator, module: Module) -> str:
    """The scenario whose trace the last reply shows, from the trace id in its caption."""
    shown = frame.locator(".message-assistant .reply figure.trace figcaption code").last.inner_text()
    lab = module.lab("lab-1")
    assert lab is not None
    return next(s.id for s in lab.scenarios if s.trace.trace_id.startswith(shown))


def test_lab_1_needs_three_different_traces_and_shows_the_students_own_trace(
    page: Page, port: int, module: Module
) -> None:
    frame = tool(page)
    page.goto(course_url(port, "canvas", placement="link-lab-1"))
    expect(frame.locator("h1")).to_have_text("Lab 1 — Reading Trace Trees")
    expect(frame.locator("#lab-progress")).to_have_text("0 of 3 different trace scenarios discussed")

    _send(frame, "Show me a trace with a problem and help me diagnose it")
    first = _on_screen(frame, module)
    expect(frame.locator(".message-assistant .reply figure.trace").last).to_be_visible()  # drawn as a tree
    _send(frame, RIGHT[first])
    second = _on_screen(frame, module)
    assert second != first
    # Two more messages about the first trace, while the second is on screen: three about one scenario.
    _send(frame, "Again, to be sure: " + RIGHT[first])
    _send(frame, "Once more, in other words: " + RIGHT[first])
    expect(frame.locator("#lab-progress")).to_have_text("1 of 3 different trace scenarios discussed")
    expect(frame.locator(".rubric-done")).not_to_have_count(0)

    # The student's own trace of the last reply: our spans, with the model call's figures.
    panel = frame.locator(".your-trace").last
    panel.locator("summary").first.click()
    expect(panel.locator(".trace-summary")).to_contain_text("scenario-tutor (tracebook)")
    expect(panel.locator(".span-name", has_text="chat scenario-tutor")).to_be_visible()
    expect(panel).to_contain_text("gen_ai.provider.name")
    assert serious_violations(tool_frame(page)) == []

    _send(frame, RIGHT[second])
    third = _on_screen(frame, module)
    _send(frame, RIGHT[third])
    expect(frame.locator("#lab-progress")).to_have_text("3 of 3 different trace scenarios discussed — Lab complete")


def test_each_design_lab_completes_offline_with_three_good_answers(page: Page, port: int, module: Module) -> None:
    frame = tool(page)
    for lab_id in ("lab-2", "lab-3", "lab-4"):
        lab = module.lab(lab_id)
        assert lab is not None
        page.goto(course_url(port, "canvas", placement=f"link-{lab_id}"))
        expect(frame.locator("h1")).to_have_text(lab.title)
        for number, (topic, message) in enumerate(SAMPLES[lab_id], start=1):
            _send(frame, message)
            expect(frame.locator(f'#rubric [data-id="{topic}"]')).to_have_class("rubric-item rubric-done")
            suffix = " — Lab complete" if number == 3 else ""
            expect(frame.locator("#lab-progress")).to_have_text(f"{number} of 3 exchanges{suffix}")
        # The transcript is kept: a new launch shows it.
        page.goto(course_url(port, "canvas", placement=f"link-{lab_id}"))
        expect(frame.locator(".message-learner")).to_have_count(3)
        expect(frame.locator("#lab-progress")).to_contain_text("Lab complete")
