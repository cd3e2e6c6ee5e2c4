"""The one activity-id scheme: ids from content ids, LMS ids quoted into single path segments."""

from content import Module
from exports.xapi import ActivityIds, Extension, Verb

from .builders import BASE


def test_activity_ids_are_built_from_content_ids(module: Module) -> None:
    ids = ActivityIds(BASE)
    root = f"{BASE}/modules/tracing-llm-calls"

    assert ids.module(module) == root
    assert ids.lesson(module, "lesson-1") == f"{root}/lessons/lesson-1"
    assert ids.assessment(module, "quiz-1") == f"{root}/assessments/quiz-1"
    assert ids.assessment(module, "module-test") == f"{root}/assessments/module-test"
    assert ids.question(module, "quiz-1", "l1-q1") == f"{root}/assessments/quiz-1/questions/l1-q1"
    assert ids.lab(module, "lab-1") == f"{root}/labs/lab-1"


def test_a_trailing_slash_on_the_base_gives_the_same_ids(module: Module) -> None:
    assert ActivityIds(BASE + "/").lab(module, "lab-2") == ActivityIds(BASE).lab(module, "lab-2")


def test_a_course_is_its_issuer_deployment_and_context_each_in_one_segment() -> None:
    ids = ActivityIds(BASE)

    assert ids.course("https://canvas.example.edu", "1:4dde05e8", "course 42") == (
        f"{BASE}/courses/https%3A%2F%2Fcanvas.example.edu/1%3A4dde05e8/course%2042"
    )
    # A slash inside an LMS id must not move the boundary between the parts.
    assert ids.course("https://lms.example", "a/b", "c") != ids.course("https://lms.example", "a", "b/c")


def test_extensions_are_iris_under_the_base() -> None:
    assert ActivityIds(BASE).extension(Extension.MESSAGE_SHA256) == f"{BASE}/extensions/message-sha256"


def test_verbs_display_their_vocabulary_name() -> None:
    assert Verb.ANSWERED.display == "answered"
    assert Verb.EARNED.display == "earned"
