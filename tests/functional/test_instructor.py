"""The instructor dashboard over HTTP, with the roster from the emulator's NRPS endpoint (paged)."""

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from content import Module
from lms_plugin.db import Database
from lms_plugin.delivery import outbox_worker
from lms_plugin.emulator.services import FAILURES
from lms_plugin.models import EmulatorScore

from .lti_support import launch_as, session_token
from .test_grades import _take_test

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture(autouse=True)
def _no_planned_failures() -> None:
    FAILURES.clear()


def _instructor(client: FlaskClient, app: Flask) -> str:
    response = launch_as(client, app, person="alan", unit="module-test")
    assert response.headers["Location"].startswith("/instructor/?s=")
    return session_token(response)


def test_the_roster_lists_students_who_never_launched(client: FlaskClient, app: Flask, module: Module) -> None:
    student = session_token(launch_as(client, app, unit="module-test"))
    client.get("/s/lesson-1", query_string={"s": student})
    _take_test(client, student, module, right=12)
    token = _instructor(client, app)

    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)

    assert "Students (2)" in page  # Ada and Grace; the instructor and the admin are not students
    assert 'Grace Student <span class="muted">(has not opened the tool)</span>' in page
    assert "Ada Learner</th>" in page
    assert "1 of 4" in page
    assert "12 / 12 (1)" in page
    assert "<strong>passed</strong>" in page
    assert escape(module.test.questions[0].stem) in page
    assert "100%" in page  # the questions Ada got right
    wrong = next(o for o in module.test.questions[14].options if not o.correct)
    assert f"{escape(wrong.text)} (1)" in page


def test_the_class_exports_as_csv(client: FlaskClient, app: Flask, module: Module) -> None:
    student = session_token(launch_as(client, app, unit="module-test"))
    _take_test(client, student, module, right=11)
    token = _instructor(client, app)

    response = client.get("/instructor/export.csv", query_string={"s": token})

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv"
    assert [(r["name"], r["launched"], r["test best"], r["passed"]) for r in rows] == [
        ("Ada Learner", "yes", "11", "no"),
        ("Grace Student", "no", "", "no"),
    ]


def test_a_failed_sync_shows_its_reason_and_resend_delivers_it(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    student = session_token(launch_as(client, app, unit="module-test"))
    _take_test(client, student, module, right=13)
    FAILURES["scores"] = [{"status": 404, "body": "line item gone"}]
    worker = outbox_worker(app, "dashboard-worker")
    while worker.run_once():
        pass
    token = _instructor(client, app)
    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)
    assert "failed" in page
    assert "HTTP 404: line item gone" in page
    message_id = page.split('action="/instructor/sync/', 1)[1].split("/", 1)[0]

    resent = client.post(f"/instructor/sync/{message_id}/resend", data={"s": token})
    assert resent.status_code == 303
    while worker.run_once():
        pass
    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)
    assert "Placement module-test: delivered" in page


def test_learners_and_strangers_are_refused(client: FlaskClient, app: Flask) -> None:
    student = session_token(launch_as(client, app))
    assert client.get("/instructor/", query_string={"s": student}).status_code == 403
    assert client.get("/instructor/export.csv", headers={"Authorization": f"Bearer {student}"}).status_code == 403
    assert client.get("/instructor/").status_code == 401
    assert client.post("/instructor/sync/1/resend", data={"s": student}).status_code == 403


def test_an_extra_attempt_lets_a_student_retake_and_is_audited(client: FlaskClient, app: Flask, module: Module) -> None:
    student = session_token(launch_as(client, app, unit="module-test"))
    for right in (3, 4, 5):
        _take_test(client, student, module, right=right)
    assert client.post("/s/test/start", data={"s": student}).status_code == 409
    token = _instructor(client, app)
    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)
    grant = page.split('action="/instructor/students/', 1)[1].split('"', 1)[0]

    assert client.post(f"/instructor/students/{grant}", data={"s": token}).status_code == 303

    assert "You have 1 of 4 attempts left." in client.get("/s/module-test", query_string={"s": student}).get_data(
        as_text=True
    )
    assert client.post("/s/test/start", data={"s": student}).status_code == 303
    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)
    assert "Alan Teacher: extra attempt (one more module-test attempt for Ada Learner)" in page


def test_placement_settings_change_attempts_review_and_the_score_sent(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    token = _instructor(client, app)
    saved = client.post(
        "/instructor/settings",
        data={"s": token, "test_attempts": "2", "show_correct_answers": "after-submit", "score_policy": "latest"},
    )
    assert saved.status_code == 303
    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)
    assert "test_attempts: 3 → 2" in page
    assert "score_policy: best → latest" in page
    bad = client.post(
        "/instructor/settings",
        data={"s": token, "test_attempts": "0", "show_correct_answers": "never", "score_policy": "best"},
    )
    assert bad.status_code == 400

    student = session_token(launch_as(client, app, unit="module-test"))
    _take_test(client, student, module, right=13)
    first = client.get("/s/module-test", query_string={"s": student}).get_data(as_text=True)
    assert "You have 1 of 2 attempts left." in first
    _take_test(client, student, module, right=9)
    worker = outbox_worker(app, "settings-worker")
    while worker.run_once():
        pass
    with db.transaction() as session:
        given = [s.score_given for s in session.scalars(select(EmulatorScore).order_by(EmulatorScore.id))]
    assert given[-1] == 9.0  # "latest" counts: the lower retake is what the gradebook shows


def test_resetting_an_attempt_frees_it_and_resends_the_remaining_best_score(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    student = session_token(launch_as(client, app, unit="module-test"))
    _take_test(client, student, module, right=9)
    _take_test(client, student, module, right=14)
    token = _instructor(client, app)
    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)
    reset = page.split('action="/instructor/students/', 2)[2].split('"', 1)[0]
    assert reset.endswith("/reset-attempt")

    assert client.post(f"/instructor/students/{reset}", data={"s": token}).status_code == 303

    page = client.get("/instructor/", query_string={"s": token}).get_data(as_text=True)
    assert "9 / 9 (1)" in page
    assert "Alan Teacher: reset attempt (Ada Learner&#39;s attempt 2 (14/15) removed)" in page
    assert "You have 2 of 3 attempts left." in client.get("/s/module-test", query_string={"s": student}).get_data(
        as_text=True
    )
    worker = outbox_worker(app, "reset-worker")
    while worker.run_once():
        pass
    with db.transaction() as session:
        given = [s.score_given for s in session.scalars(select(EmulatorScore).order_by(EmulatorScore.id))]
    assert given[-1] == 9.0  # the gradebook follows: the remaining attempt's score
