"""The student experience over HTTP: overview and progress, lessons, quizzes with instant (then final)
feedback, the module test with its review and retakes, resume, and the cookie-less session."""

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from content import Module
from lms_plugin.db import database
from lms_plugin.lti import claims as lti
from lms_plugin.lti.errors import SessionExpiredError
from lms_plugin.lti.sessions import SessionService
from lms_plugin.models import AnswerRow
from tests.conftest import FrozenClock

from .lti_support import launch_as, session_token

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture
def token(client: FlaskClient, app: Flask) -> str:
    return session_token(launch_as(client, app))


def _page(client: FlaskClient, path: str, token: str, status: int = 200) -> str:
    response = client.get(path, query_string={"s": token})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _answers(app: Flask) -> int:
    with app.app_context(), database().transaction() as session:
        return session.scalar(select(func.count()).select_from(AnswerRow)) or 0


def test_the_launch_lands_on_the_placements_unit(client: FlaskClient, app: Flask) -> None:
    response = launch_as(client, app, unit="quiz-1")
    assert response.headers["Location"].startswith("/s/quiz-1?s=")
    assert "Lesson 1 Quiz" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_placement_for_a_unit_the_module_lacks_is_refused(client: FlaskClient, app: Flask) -> None:
    response = launch_as(client, app, **{lti.CUSTOM: {"tracebook_unit": "quiz-9"}})
    assert response.status_code == 400
    assert "asks for &#39;quiz-9&#39;, which the module does not have" in response.get_data(as_text=True)


def test_reading_a_lesson_shows_as_progress(client: FlaskClient, token: str, module: Module) -> None:
    assert "0 of 13 steps done" in _page(client, "/s/module", token)
    lesson = _page(client, "/s/lesson-1", token)
    assert "Module 3 · Lesson 1" in lesson
    assert escape(module.lessons[0].title) in lesson
    overview = _page(client, "/s/module", token)
    assert "1 of 13 steps done" in overview
    assert "Read" in overview


def test_a_quiz_gives_the_seeds_feedback_once_and_the_answer_is_then_final(
    client: FlaskClient, app: Flask, token: str, module: Module
) -> None:
    quiz = module.quizzes[0]
    page = _page(client, "/s/quiz-1", token)
    for question in quiz.questions:
        assert escape(question.feedback.correct) not in page
        assert escape(question.feedback.incorrect) not in page
    assert "Right answer" not in page
    action = re.search(r'action="(/s/quizzes/quiz-1/attempts/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    first, second = quiz.questions[0], quiz.questions[1]
    wrong = next(o for o in first.options if not o.correct)

    answered = client.post(action, data={"s": token, "question": first.id, "option": wrong.id})
    assert answered.status_code == 303
    page = _page(client, "/s/quiz-1", token)
    assert escape(first.feedback.incorrect) in page
    assert "Right answer" in page

    again = client.post(action, data={"s": token, "question": first.id, "option": first.correct_option.id})
    assert again.status_code == 409
    assert "a quiz answer is final" in again.get_data(as_text=True)

    api = action.replace("/s/quizzes", "/api/quizzes")
    headers = {"Authorization": f"Bearer {token}"}
    junk = client.post(api, json={"question": second.id, "option": "not-an-option"}, headers=headers)
    assert junk.status_code == 400
    assert junk.get_json()["message"] == f"'not-an-option' is not an option of question {second.id}"
    assert _answers(app) == 1

    right = client.post(api, json={"question": second.id, "option": second.correct_option.id}, headers=headers)
    assert right.get_json() == {
        "question": second.id,
        "correct": True,
        "feedback": second.feedback.correct,
        "correct_option": second.correct_option.id,
        "completed": False,
        "score": 1,
        "total": 4,
    }
    for question in quiz.questions[2:]:
        client.post(api, json={"question": question.id, "option": question.correct_option.id}, headers=headers)
    page = _page(client, "/s/quiz-1", token)
    assert "You answered 3 of 4 correctly." in page
    assert "Completed, best 3/4" in _page(client, "/s/module", token)

    assert client.post("/s/quizzes/quiz-1/retake", data={"s": token}).status_code == 303
    retake = _page(client, "/s/quiz-1", token)
    assert retake.count("Check answer") == 4


def _test_form(client: FlaskClient, token: str) -> str:
    page = _page(client, "/s/module-test", token)
    return re.search(r'action="(/s/test/attempts/[^"]+)"', page).group(1)  # type: ignore[union-attr]


def _take_test(client: FlaskClient, token: str, module: Module, right: int) -> str:
    assert client.post("/s/test/start", data={"s": token}).status_code == 303
    action = _test_form(client, token)
    form = {"s": token, "action": "submit"}
    for index, question in enumerate(module.test.questions):
        wrong = next(o for o in question.options if not o.correct)
        form[f"q-{question.id}"] = (question.correct_option if index < right else wrong).id
    submitted = client.post(action, data=form)
    assert submitted.status_code == 303
    return _page(client, submitted.headers["Location"].split("?")[0], token)


def test_the_module_test_fails_at_11_passes_at_12_and_reveals_answers_after_the_pass(
    client: FlaskClient, token: str, module: Module
) -> None:
    intro = _page(client, "/s/module-test", token)
    assert "Score 80% or higher to pass (12 of 15)" in intro
    assert "Start the test" in intro

    failed = _take_test(client, token, module, right=11)
    assert "Not passed" in failed
    assert "You scored <strong>11 of 15</strong> (73%)" in failed
    assert failed.count("question-wrong") == 4
    assert "Right answer:" not in failed
    assert "The right answers are shown once you pass or have used every attempt." in failed
    assert "Retake the test (2 attempts left)" in failed

    passed = _take_test(client, token, module, right=12)
    assert "Passed" in passed
    assert "You scored <strong>12 of 15</strong> (80%)" in passed
    assert passed.count("Right answer:") == 15
    assert "Passed, best 12/15" in _page(client, "/s/module", token)

    _take_test(client, token, module, right=3)
    refused = client.post("/s/test/start", data={"s": token})
    assert refused.status_code == 409
    assert "all 3 attempts have been used" in refused.get_data(as_text=True)


def test_an_unfinished_test_resumes_in_a_new_launch(
    client: FlaskClient, app: Flask, token: str, module: Module
) -> None:
    client.post("/s/test/start", data={"s": token})
    action = _test_form(client, token)
    question = module.test.questions[0]
    attempt_id = action.rsplit("/", 1)[1]
    saved = client.post(
        f"/api/test/attempts/{attempt_id}/answers",
        json={"question": question.id, "option": question.options[2].id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert saved.get_json() == {"question": question.id, "revision": 1, "saved": True}
    assert escape(question.feedback.correct) not in _page(client, "/s/module-test", token)

    new_token = session_token(launch_as(client, app))
    assert new_token != token
    page = _page(client, "/s/module-test", new_token)
    assert action in page
    assert re.search(rf'id="{question.id}-{question.options[2].id}" value="{question.options[2].id}" checked', page)


def test_no_forged_or_expired_session_gets_in(client: FlaskClient, app: Flask, token: str, clock: FrozenClock) -> None:
    assert "Open the activity again from your course" in _page(client, "/s/module", "", status=401)
    assert _page(client, "/s/module", token + "x", status=401)
    api = client.post("/api/test/attempts/x/answers", json={}, headers={"Authorization": "Bearer nope"})
    assert api.status_code == 401
    assert api.get_json()["message"] == "Your session has ended. Open the activity again from your course."

    clock.advance(hours=4, seconds=1)
    assert "Your session has ended" in _page(client, "/s/module", token, status=401)


def test_every_page_refuses_referrers(client: FlaskClient, token: str) -> None:
    for path in ("/s/module", "/s/lesson-2", "/s/quiz-2", "/s/lab-2", "/s/module-test", "/lti/jwks.json", "/"):
        response = client.get(path, query_string={"s": token})
        assert response.headers["Referrer-Policy"] == "no-referrer", path


def test_url_tickets_are_short_lived_and_single_use(app: Flask, token: str, clock: FrozenClock) -> None:
    with app.app_context(), database().transaction() as session:
        sessions = SessionService(session, app.config["SECRET_KEY"], clock.now())
        tool_session = sessions.resolve(token)
        ticket = sessions.issue_ticket(tool_session, "download")
        other = sessions.issue_ticket(tool_session, "download")
        assert sessions.redeem_ticket(ticket, "download").id == tool_session.id
        with pytest.raises(SessionExpiredError):
            sessions.redeem_ticket(ticket, "download")
        with pytest.raises(SessionExpiredError):
            sessions.redeem_ticket(other, "events")
    clock.advance(seconds=61)
    with app.app_context(), database().transaction() as session, pytest.raises(SessionExpiredError):
        SessionService(session, app.config["SECRET_KEY"], clock.now()).redeem_ticket(other, "download")


def test_a_returning_learner_keeps_one_record_and_the_lms_latest_name(client: FlaskClient, app: Flask) -> None:
    from lms_plugin.models import LaunchSession, Learner, ModuleRecord, Placement

    assert launch_as(client, app).status_code == 303
    assert launch_as(client, app).status_code == 303
    assert launch_as(client, app, unit="quiz-1").status_code == 303  # another placement of the same module
    assert launch_as(client, app, name="Ada L. Lovelace").status_code == 303
    with app.app_context(), database().transaction() as session:
        counts = {
            m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (Learner, ModuleRecord, Placement, LaunchSession)
        }
        learner = session.scalar(select(Learner))
        assert learner is not None
        assert learner.name == "Ada L. Lovelace"
        units = set(session.scalars(select(Placement.unit)))
    assert counts == {"learners": 1, "module_records": 1, "placements": 2, "launch_sessions": 4}
    assert units == {"module", "quiz-1"}
