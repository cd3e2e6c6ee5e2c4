"""A student's whole run through the module over HTTP, for tests that need one: every lesson (each read twice),
every quiz (the first answer wrong), Lab 1 diagnosed three times, the sample messages of Labs 2-4, and two
module-test attempts five minutes apart (11 of 15, which fails, then 12 of 15, which passes)."""

from flask.testing import FlaskClient
from sqlalchemy import select

from content import Module
from lms_plugin.db import Database
from lms_plugin.models import LabExchangeRow
from tests.conftest import FrozenClock
from tests.lab_answers import RIGHT, SAMPLES

from .test_grades import _take_test
from .test_labs import send


def answer_quiz(client: FlaskClient, token: str, module: Module, quiz_id: str) -> None:
    page = client.get(f"/s/{quiz_id}", query_string={"s": token}).get_data(as_text=True)
    action = page.split(f'action="/s/quizzes/{quiz_id}/attempts/', 1)[1].split('"', 1)[0]
    quiz = module.assessment(quiz_id)
    assert quiz is not None
    for index, question in enumerate(quiz.questions):
        option = question.correct_option if index else next(o for o in question.options if not o.correct)
        response = client.post(
            f"/s/quizzes/{quiz_id}/attempts/{action}", data={"s": token, "question": question.id, "option": option.id}
        )
        assert response.status_code == 303


def diagnose_lab_1(client: FlaskClient, token: str, db: Database) -> None:
    assert send(client, token, "lab-1", "Show me a trace with a problem and help me diagnose it")[0] == 200
    for _ in range(3):
        with db.transaction() as session:
            state = session.scalars(select(LabExchangeRow.state).order_by(LabExchangeRow.id.desc()).limit(1)).one()
        assert state is not None
        assert send(client, token, "lab-1", RIGHT[state.split(":")[0]])[0] == 200


def full_run(client: FlaskClient, token: str, db: Database, clock: FrozenClock, module: Module) -> None:
    for lesson in module.lessons:
        assert client.get(f"/s/{lesson.id}", query_string={"s": token}).status_code == 200
        client.get(f"/s/{lesson.id}", query_string={"s": token})  # read twice: still one statement
    for quiz in module.quizzes:
        answer_quiz(client, token, module, quiz.id)
    diagnose_lab_1(client, token, db)
    for lab_id in ("lab-2", "lab-3", "lab-4"):
        for _, message in SAMPLES[lab_id]:
            assert send(client, token, lab_id, message)[0] == 200
    _take_test(client, token, module, right=11)
    clock.advance(minutes=5)
    _take_test(client, token, module, right=12)
