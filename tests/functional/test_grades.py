"""Gradebook sync against the emulator's AGS endpoints over real HTTP, through the outbox and its worker."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from content import Module
from lms_plugin.db import Database
from lms_plugin.delivery import outbox_worker
from lms_plugin.emulator.services import FAILURES, TOKENS_ISSUED
from lms_plugin.grades.sender import CHANNEL
from lms_plugin.models import EmulatorLineItem, EmulatorScore, OutboxMessage
from lms_plugin.outbox.store import Outbox, Status
from tests.conftest import USE_POSTGRES, FrozenClock

from .lti_support import launch_as, session_token

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture(autouse=True)
def _fresh_emulator() -> None:
    FAILURES.clear()
    TOKENS_ISSUED.clear()


def _take_test(client: FlaskClient, token: str, module: Module, right: int) -> None:
    client.post("/s/test/start", data={"s": token})
    page = client.get("/s/module-test", query_string={"s": token}).get_data(as_text=True)
    action = page.split('action="/s/test/attempts/', 1)[1].split('"', 1)[0]
    form = {"s": token, "action": "submit"}
    for index, question in enumerate(module.test.questions):
        wrong = next(o for o in question.options if not o.correct)
        form[f"q-{question.id}"] = (question.correct_option if index < right else wrong).id
    assert client.post(f"/s/test/attempts/{action}", data=form).status_code == 303


def _drain(app: Flask, clock: FrozenClock) -> None:
    """Deliver everything that is due (nothing here fails, so nothing waits for a backoff)."""
    worker = outbox_worker(app, "test-worker")
    while worker.run_once():
        pass


def _scores(db: Database) -> list[tuple[str, str, float | None, str]]:
    with db.transaction() as session:
        rows = session.execute(
            select(
                EmulatorLineItem.label, EmulatorScore.user_id, EmulatorScore.score_given, EmulatorScore.grading_progress
            )
            .join(EmulatorLineItem, EmulatorLineItem.id == EmulatorScore.line_item_id)
            .order_by(EmulatorScore.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _messages(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.channel == CHANNEL).order_by(OutboxMessage.id))
        )


def test_a_passing_test_scores_every_placement_once_and_a_lower_retake_changes_nothing(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    assert launch_as(client, app, unit="module").status_code == 303  # the whole module is placed too
    token = session_token(launch_as(client, app, unit="module-test"))

    _take_test(client, token, module, right=12)
    _drain(app, clock)
    graded = [s for s in _scores(db) if s[3] == "FullyGraded"]
    assert sorted(graded) == sorted(
        [
            ("Placement module", "moodle-user-ada", 12.0, "FullyGraded"),
            ("Placement module-test", "moodle-user-ada", 12.0, "FullyGraded"),
        ]
    )

    _take_test(client, token, module, right=5)  # a worse retake: the best-score column must not move
    _drain(app, clock)
    assert [s for s in _scores(db) if s[3] == "FullyGraded"] == graded

    _take_test(client, token, module, right=14)
    _drain(app, clock)
    assert [s[2] for s in _scores(db) if s[3] == "FullyGraded"][-2:] == [14.0, 14.0]


def test_started_marks_progress_but_never_overwrites_a_score(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = session_token(launch_as(client, app, unit="module-test"))
    client.post("/s/test/start", data={"s": token})
    _drain(app, clock)
    assert [s[3] for s in _scores(db)] == ["NotReady"]

    _take_test(client, token, module, right=12)  # submits the started attempt
    client.post("/s/test/start", data={"s": token})  # a retake starts: no progress message now
    _drain(app, clock)
    assert [(s[2], s[3]) for s in _scores(db)] == [(None, "NotReady"), (12.0, "FullyGraded")]


def test_canvas_line_items_are_created_by_resource_id(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = session_token(launch_as(client, app, mode="canvas", unit="quiz-1"))
    quiz = module.quizzes[0]
    page = client.get("/s/quiz-1", query_string={"s": token}).get_data(as_text=True)
    action = page.split('action="/s/quizzes/quiz-1/attempts/', 1)[1].split('"', 1)[0]
    for question in quiz.questions:
        client.post(
            f"/s/quizzes/quiz-1/attempts/{action}",
            data={"s": token, "question": question.id, "option": question.correct_option.id},
        )
    _drain(app, clock)
    with db.transaction() as session:
        item = session.scalar(select(EmulatorLineItem).where(EmulatorLineItem.mode == "canvas"))
        assert item is not None
        assert (item.resource_id, item.tag, item.score_maximum) == ("tracing-llm-calls/quiz-1", "tracebook", 4.0)
    assert _scores(db)[-1][2:] == (4.0, "FullyGraded")


def test_retries_honour_retry_after_and_end_delivered_once(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = session_token(launch_as(client, app, unit="module-test"))
    _take_test(client, token, module, right=13)
    with db.transaction() as session:  # the Started message aside: only the score is under test
        session.execute(
            OutboxMessage.__table__.delete().where(OutboxMessage.payload["gradingProgress"].as_string() == "NotReady")
        )
    FAILURES["scores"] = [{"status": 500}, {"status": 500}, {"status": 500}, {"status": 429, "retry_after": 7}]
    worker = outbox_worker(app, "retrying")

    for _ in range(4):
        worker.run_once()
        message = _messages(db)[-1]
        assert message.status == Status.PENDING
        due = message.next_attempt_at
        clock.current = due
    assert due - message.created_at >= timedelta(seconds=7)
    assert message.last_error == "planned failure"
    worker.run_once()

    message = _messages(db)[-1]
    assert (message.status, message.attempts) == (Status.DELIVERED, 4)
    assert [s[2] for s in _scores(db)] == [13.0]


def test_a_401_refreshes_the_token_exactly_once(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = session_token(launch_as(client, app, unit="module-test"))
    worker = outbox_worker(app, "refreshing")
    client.post("/s/test/start", data={"s": token})
    worker.run_once()
    assert TOKENS_ISSUED["moodle"] == 1

    _take_test(client, token, module, right=12)
    FAILURES["scores"] = [{"status": 401}]
    worker.run_once()

    assert TOKENS_ISSUED["moodle"] == 2
    assert [s[3] for s in _scores(db)] == ["NotReady", "FullyGraded"]


@pytest.mark.parametrize("person", ["alan", "root", "test"])
def test_staff_and_test_students_queue_no_score(
    client: FlaskClient, app: Flask, db: Database, module: Module, person: str
) -> None:
    token = session_token(launch_as(client, app, mode="canvas", person=person, unit="module-test"))
    _take_test(client, token, module, right=15)
    assert _messages(db) == []


def test_a_thousand_scores_are_delivered_exactly_once(
    app: Flask, db: Database, clock: FrozenClock, client: FlaskClient
) -> None:
    with db.transaction() as session:
        column = EmulatorLineItem(
            mode="moodle", context_id="moodle-course-obs-101", label="Load", score_maximum=1000, created_at=clock.now()
        )
        session.add(column)
        session.flush()
        line_item = column.id
        outbox = Outbox(session, clock.now())
        settings = app.config["TRACEBOOK"]
        column_url = f"{settings.emulator_url}/moodle/contexts/moodle-course-obs-101/lineitems"
        for n in range(1000):
            outbox.enqueue(
                key=f"load:{n}",
                channel="ags",
                ordering_key=f"load:{n % 250}",  # four scores per learner, in order
                learner_id=None,
                destination={
                    "issuer": f"{settings.emulator_url}/moodle",
                    "client_id": "qxLm3vT0sFRa7Ck",
                    "lineitem_url": f"{column_url}/{line_item}/lineitem?type_id=3",
                    "user_id": f"learner-{n % 250}",
                },
                payload={
                    "scoreGiven": n,
                    "scoreMaximum": 1000,
                    "activityProgress": "Completed",
                    "gradingProgress": "FullyGraded",
                },
            )
    workers = [outbox_worker(app, f"worker-{i}") for i in (1, 2)]
    for worker in workers:
        worker.batch_size = 20

    deadline = time.monotonic() + 60

    def drain(worker: object) -> None:
        while _pending(db) and time.monotonic() < deadline:
            if not worker.run_once():  # type: ignore[attr-defined]
                threading.Event().wait(0.01)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not _pending(db), Counter(m.last_error for m in _messages(db) if m.status == Status.PENDING)
    received = [s[2] for s in _scores(db)]
    assert sorted(received) == [float(n) for n in range(1000)]
    by_user: dict[str, list[float]] = {}
    with db.transaction() as session:
        for user, given in session.execute(
            select(EmulatorScore.user_id, EmulatorScore.score_given).order_by(EmulatorScore.id)
        ):
            by_user.setdefault(user, []).append(given)
    assert all(scores == sorted(scores) for scores in by_user.values())  # each learner's scores in order
    delivered_by = Counter(m.delivered_by for m in _messages(db))
    if USE_POSTGRES:
        assert set(delivered_by) == {"worker-1", "worker-2"}, delivered_by  # both shared the rows
    else:
        assert len(delivered_by) == 1, delivered_by  # SQLite: the lease lets exactly one worker run
    assert sum(delivered_by.values()) == 1000


def _pending(db: Database) -> int:
    with db.transaction() as session:
        return (
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == Status.PENDING)
            )
            or 0
        )


def test_a_score_the_gradebook_refuses_for_the_user_is_recorded_not_gradable(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = session_token(launch_as(client, app, unit="module-test"))
    _take_test(client, token, module, right=12)
    FAILURES["scores"] = [{"status": 422, "body": "User not found in course or is not a student"}]
    _drain(app, clock)

    message = _messages(db)[-1]
    assert message.status == Status.NOT_GRADABLE
    assert message.last_error == "HTTP 422: User not found in course or is not a student"
    clock.advance(hours=24)
    _drain(app, clock)
    assert _messages(db)[-1].status == Status.NOT_GRADABLE  # not retried
