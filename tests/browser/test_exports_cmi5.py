"""The cmi5 package's AUs launched by a small test LMS in headless Chromium (issue 7): the launch sequence (fetch
URL → auth token → LMS.LaunchData), then every statement the AU sent checked against the cmi5 rules
(:mod:`tests.exports_lms.cmi5_rules`) and Learning Locker's ``xapi-validation``, and the ``answered`` statements
against the activity ids the LTI tool's xAPI uses."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Frame, Page, expect

from content import Module, load_default_module
from exports.packages import PackageFormat
from exports.xapi import ActivityIds, Statements
from tests.exports_lms import cmi5_rules
from tests.exports_lms.cmi5_lms import Au, Cmi5Lms
from tests.exports_lms.cmi5_rules import COMPLETED, FAILED, INITIALIZED, PASSED, TERMINATED, Launch
from tests.exports_lms.learner import (
    ACTIVITY_BASE,
    answer_test,
    player_page,
    read_lesson,
    submit_test,
    take_quiz,
    unzipped_package,
)
from tests.unit.exports.builders import REGISTRATION, T0, WHERE, WHO
from tests.xapi_validator import xapi_problems

ANSWERED = "http://adlnet.gov/expapi/verbs/answered"
ACTOR = {
    "objectType": "Agent",
    "account": {"homePage": "http://lms.example.org", "name": "ada-7f3c"},
    "name": "Ada Lovelace",
}
IDS = ActivityIds(ACTIVITY_BASE)


@pytest.fixture(scope="module")
def module() -> Module:
    return load_default_module()


@pytest.fixture(scope="module")
def package(module: Module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unzipped_package(module, PackageFormat.CMI5, tmp_path_factory.mktemp("cmi5"))


@pytest.fixture
def lms(package: Path) -> Iterator[Cmi5Lms]:
    with Cmi5Lms(package).running() as running:
        yield running


@pytest.fixture
def player(blocking_browser: BrowserContext) -> Iterator[Page]:
    yield from player_page(blocking_browser)


def start(lms: Cmi5Lms, page: Page, au: Au, registration: str, mode: str = "Normal") -> tuple[Frame, Launch]:
    """Launches the AU in the page and waits until it has its token and launch data (and sent initialized)."""
    url = lms.launch(au, ACTOR, registration, mode)
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page.main_frame, lms.launches[-1]


def leave(lms: Cmi5Lms, page: Page, launch: Launch) -> None:
    """The learner goes back to the course with the AU's own button; the AU ends its session on the way."""
    page.locator("#nav-exit").click()
    page.wait_for_url(launch.launch_data["returnURL"])
    lms.wait_for(lambda statements: any(_ends(statement, launch) for statement in statements))


def _ends(statement: dict[str, Any], launch: Launch) -> bool:
    return statement["verb"]["id"] == TERMINATED and statement["context"]["extensions"].get(cmi5_rules.SESSION_ID) == (
        launch.session_id
    )


def verbs(statements: list[dict[str, Any]]) -> list[str]:
    return [statement["verb"]["id"].rsplit("/", 1)[1] for statement in statements]


def assert_conformant(lms: Cmi5Lms, launches: list[Launch]) -> list[dict[str, Any]]:
    """The registration's statements keep the cmi5 rules, pass xapi-validation, and the AU kept the protocol."""
    statements = lms.statements_for(launches[0])
    assert cmi5_rules.problems(statements, launches) == []
    assert xapi_problems(statements) == [[] for _ in statements]
    assert lms.protocol_problems == []
    return statements


def test_a_lesson_au_follows_the_launch_sequence(lms: Cmi5Lms, player: Page, module: Module) -> None:
    au = lms.au("units/lesson-1.html")
    assert au.id == IDS.lesson(module, "lesson-1")  # the publisher id is the LTI tool's activity id
    frame, launch = start(lms, player, au, str(uuid.uuid4()))
    read_lesson(frame)
    leave(lms, player, launch)

    statements = assert_conformant(lms, [launch])
    assert verbs(statements) == ["initialized", "completed", "terminated"]
    assert lms.returned == [launch.session_id]


def test_a_quiz_au_answers_with_the_lti_tools_activity_ids(lms: Cmi5Lms, player: Page, module: Module) -> None:
    quiz = module.quizzes[0]
    au = lms.au("units/quiz-1.html")
    assert au.id == IDS.assessment(module, quiz.id)
    frame, launch = start(lms, player, au, str(uuid.uuid4()))
    right = [True, True, False, True]
    chosen = take_quiz(frame, quiz.questions, right)
    leave(lms, player, launch)

    statements = assert_conformant(lms, [launch])
    assert verbs(statements) == ["initialized", *["answered"] * 4, "completed", "terminated"]
    answered = [statement for statement in statements if statement["verb"]["id"] == ANSWERED]
    assert [statement["object"]["id"] for statement in answered] == [
        IDS.question(module, quiz.id, question.id) for question in quiz.questions
    ]
    # The same activities, definitions included, as the LTI tool's own `answered` statements describe.
    lti = Statements(IDS, module)
    assert [statement["object"] for statement in answered] == [
        lti.answered(WHO, WHERE, REGISTRATION, quiz.id, question.id, option, ok, 1, T0)["object"]
        for question, option, ok in zip(quiz.questions, chosen, right, strict=True)
    ]
    assert {statement["context"]["contextActivities"]["parent"][0]["id"] for statement in answered} == {
        IDS.assessment(module, quiz.id)
    }
    assert [statement["result"]["response"] for statement in answered] == chosen
    assert [statement["result"]["success"] for statement in answered] == right
    # Defined statements are about the AU as the LMS named it in this launch, not about the publisher id.
    defined = [statement for statement in statements if statement["verb"]["id"] != ANSWERED]
    assert {statement["object"]["id"] for statement in defined} == {launch.activity_id}


def test_the_test_au_fails_then_passes_and_reports_passed_once(lms: Cmi5Lms, player: Page, module: Module) -> None:
    questions = module.test.questions
    au = lms.au("units/module-test.html")
    assert au.mastery_score == 0.8
    registration = str(uuid.uuid4())
    frame, first = start(lms, player, au, registration)
    answer_test(frame, questions, right=11)
    submit_test(frame, passed=False)
    frame.locator("#retake").click()
    answer_test(frame, questions, right=12)
    submit_test(frame, passed=True)
    leave(lms, player, first)

    # A second session in the same registration: the verdict stands and is not sent again.
    _, second = start(lms, player, au, registration)
    leave(lms, player, second)

    statements = assert_conformant(lms, [first, second])
    verdicts = [statement for statement in statements if statement["verb"]["id"] in (PASSED, FAILED, COMPLETED)]
    assert [statement["verb"]["id"] for statement in verdicts].count(PASSED) == 1
    assert FAILED not in [statement["verb"]["id"] for statement in verdicts]  # attempts were left after the fail
    passed = next(statement for statement in verdicts if statement["verb"]["id"] == PASSED)
    assert passed["result"]["score"]["scaled"] == pytest.approx(0.8)
    assert verbs(statements).count("answered") == 30
    assert verbs(statements)[-2:] == ["initialized", "terminated"]


def test_failing_every_attempt_sends_failed_once(lms: Cmi5Lms, player: Page, module: Module) -> None:
    questions = module.test.questions
    frame, launch = start(lms, player, lms.au("units/module-test.html"), str(uuid.uuid4()))
    for attempt in range(3):
        if attempt:
            frame.locator("#retake").click()
        answer_test(frame, questions, right=11)
        submit_test(frame, passed=False)
    expect(frame.locator("#retake")).to_be_hidden()
    leave(lms, player, launch)

    statements = assert_conformant(lms, [launch])
    failed = [statement for statement in statements if statement["verb"]["id"] == FAILED]
    assert len(failed) == 1
    assert failed[0]["result"]["score"]["scaled"] == pytest.approx(11 / 15, abs=0.0001)
    assert PASSED not in [statement["verb"]["id"] for statement in statements]


@pytest.mark.parametrize("mode", ["Browse", "Review"])
def test_browse_and_review_launches_report_no_verdict(lms: Cmi5Lms, player: Page, module: Module, mode: str) -> None:
    frame, launch = start(lms, player, lms.au("units/quiz-1.html"), str(uuid.uuid4()), mode)
    take_quiz(frame, module.quizzes[0].questions, [True] * 4)
    leave(lms, player, launch)

    statements = assert_conformant(lms, [launch])
    defined = [verb for verb in verbs(statements) if verb != "answered"]
    assert defined == ["initialized", "terminated"]


def test_the_au_fetches_its_token_once_and_statements_carry_it(lms: Cmi5Lms, player: Page) -> None:
    _, launch = start(lms, player, lms.au("units/lab-1.html"), str(uuid.uuid4()))
    leave(lms, player, launch)

    statements = assert_conformant(lms, [launch])
    assert verbs(statements) == ["initialized", "terminated"]
    assert statements[0]["verb"]["id"] == INITIALIZED
