"""The engine persisted through lms_plugin services, on SQLite and PostgreSQL."""

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from assessments.errors import AnswerFinalError, AttemptLimitError, AttemptSubmittedError, UnknownOptionError
from content import Module
from lms_plugin.db import Database
from lms_plugin.models import AnswerRow, AttemptRow, Course, Learner, ModuleRecord
from lms_plugin.services.attempts import AttemptService, UnknownAttemptError
from tests.conftest import FrozenClock

from .builders import make_record

_IDS = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count(1))


def _service(session, module: Module, clock: FrozenClock) -> AttemptService:  # type: ignore[no-untyped-def]
    return AttemptService(session, module, clock, new_id=lambda: next(_IDS))


def _table_counts(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Learner, Course, ModuleRecord, AttemptRow, AnswerRow)
        }


def test_a_test_attempt_survives_across_requests_and_is_resumed(db: Database, module: Module, clock) -> None:  # type: ignore[no-untyped-def]
    test = module.test
    with db.transaction() as session:
        record = make_record(session, clock)
        attempt = _service(session, module, clock).resume_or_start(record, test.id)
        question = test.questions[0]
        wrong = next(o for o in question.options if not o.correct)
        _service(session, module, clock).answer(record, attempt.id, question.id, wrong.id)
    clock.advance(minutes=5)
    with db.transaction() as session:
        record = make_record(session, clock)
        _service(session, module, clock).answer(record, attempt.id, question.id, question.correct_option.id)

    with db.transaction() as session:
        record = make_record(session, clock)
        resumed = _service(session, module, clock).resume_or_start(record, test.id)

    assert resumed.id == attempt.id
    assert resumed.question_order == attempt.question_order
    assert resumed.option_order == attempt.option_order
    assert [(a.revision, a.correct) for a in resumed.answers] == [(1, False), (2, True)]
    assert resumed.answers[1].recorded_at == resumed.answers[0].recorded_at + timedelta(minutes=5)


def test_passing_and_failing_scores_are_stored_exactly(db: Database, module: Module, clock) -> None:  # type: ignore[no-untyped-def]
    test = module.test
    stored = []
    for right in (11, 12):
        with db.transaction() as session:
            record = make_record(session, clock)
            service = _service(session, module, clock)
            attempt = service.resume_or_start(record, test.id)
            for index, question in enumerate(test.questions):
                wrong = next(o for o in question.options if not o.correct)
                option = question.correct_option if index < right else wrong
                service.answer(record, attempt.id, question.id, option.id)
            submission = service.submit(record, attempt.id)
            stored.append((submission.result.score.correct, submission.result.passed))
    with db.transaction() as session:
        rows = session.scalars(select(AttemptRow).order_by(AttemptRow.number)).all()
        assert [(r.number, r.score_correct, r.score_total, r.passed) for r in rows] == [
            (1, 11, 15, False),
            (2, 12, 15, True),
        ]
    assert stored == [(11, False), (12, True)]


def test_refused_answers_leave_the_database_unchanged(db: Database, module: Module, clock) -> None:  # type: ignore[no-untyped-def]
    quiz = module.quizzes[0]
    question = quiz.questions[0]
    with db.transaction() as session:
        record = make_record(session, clock)
        attempt = _service(session, module, clock).resume_or_start(record, quiz.id)
        _service(session, module, clock).answer(record, attempt.id, question.id, question.correct_option.id)
    with db.transaction() as session:
        make_record(session, clock, sub="someone-else")
    before = _table_counts(db)

    wrong = next(o.id for o in question.options if not o.correct)
    refusals = [
        ("student-1", AnswerFinalError, question.id, wrong),
        ("student-1", UnknownOptionError, quiz.questions[1].id, "no-such-option"),
        ("someone-else", UnknownAttemptError, question.id, question.correct_option.id),
    ]
    for sub, error, question_id, option_id in refusals:
        # Each refusal commits its unit of work: nothing may have been written before the engine refused.
        with db.transaction() as session:
            record = make_record(session, clock, sub=sub)
            service = _service(session, module, clock)
            with pytest.raises(error):
                service.answer(record, attempt.id, question_id, option_id)

    assert _table_counts(db) == before


def test_a_submitted_attempt_refuses_answers_and_the_limit_holds(db: Database, module: Module, clock) -> None:  # type: ignore[no-untyped-def]
    test = module.test
    for _ in range(module.settings.test_attempts):
        with db.transaction() as session:
            record = make_record(session, clock)
            service = _service(session, module, clock)
            attempt = service.resume_or_start(record, test.id)
            service.submit(record, attempt.id)
    question = test.questions[0]
    with db.transaction() as session:
        record = make_record(session, clock)
        service = _service(session, module, clock)
        with pytest.raises(AttemptSubmittedError):
            service.answer(record, attempt.id, question.id, question.correct_option.id)
        with pytest.raises(AttemptLimitError):
            service.resume_or_start(record, test.id)
    assert _table_counts(db)["attempts"] == 3


def test_learner_data_is_scoped_to_learner_course_and_module(db: Database, module: Module, clock) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        placed_once = make_record(session, clock, resource_link_id="link-1")
        placed_twice = make_record(session, clock, resource_link_id="link-2")
        other_course = make_record(session, clock, context_id="course-202")
        no_context = make_record(session, clock, context_id=None, resource_link_id="link-9")
        no_context_again = make_record(session, clock, context_id=None, resource_link_id="link-9")
        other_learner = make_record(session, clock, sub="student-2")
        ids = [r.id for r in (placed_once, placed_twice, other_course, no_context, no_context_again, other_learner)]

    # Same quiz placed twice in one course: one record. Another course, or another learner: another record.
    assert ids[0] == ids[1]
    assert ids[3] == ids[4]
    assert len(set(ids)) == 4
    with db.transaction() as session:
        derived = session.scalar(select(Course).where(Course.from_launch_context.is_(False)))
        assert derived is not None
        assert derived.context_id == "resource-link:link-9"


def test_every_learner_row_is_found_by_one_query_per_table(db: Database, module: Module, clock) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        for sub in ("student-1", "student-2"):
            record = make_record(session, clock, sub=sub)
            service = _service(session, module, clock)
            attempt = service.resume_or_start(record, module.quizzes[0].id)
            question = module.quizzes[0].questions[0]
            service.answer(record, attempt.id, question.id, question.correct_option.id)
    with db.transaction() as session:
        learner_id = session.scalar(select(Learner.id).where(Learner.sub == "student-1"))
        for model in (ModuleRecord, AttemptRow, AnswerRow):
            rows = session.scalars(select(model).where(model.learner_id == learner_id)).all()
            assert len(rows) == 1, model.__tablename__
