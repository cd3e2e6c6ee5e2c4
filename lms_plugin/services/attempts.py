"""Attempts persisted: load the learner's attempts, let the engine decide, store what it returns.

The engine is pure, so every refusal (unknown question, final answer, submitted attempt, limit) is raised
before anything is written: a refused request leaves the database exactly as it was.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.attempt import AnswerOutcome, Attempt, RecordedAnswer, record_answer, resume_or_start, submit
from assessments.errors import AssessmentError
from assessments.scoring import Result, result
from content.model import Assessment, AssessmentKind, Module, ModuleSettings
from lms_plugin.clock import Clock
from lms_plugin.models import AnswerRow, AttemptRow
from lms_plugin.services.records import RecordKey


class AttemptEvents(Protocol):
    """Who else must hear of an attempt, in the same transaction (the gradebook sync, the xAPI statements)."""

    def started(self, attempt: Attempt) -> None: ...

    def answered(self, attempt: Attempt, answer: RecordedAnswer) -> None: ...

    def submitted(self, attempt: Attempt, outcome: Result) -> None: ...


class UnknownAssessmentError(AssessmentError):
    def __init__(self, assessment_id: str) -> None:
        super().__init__(f"'{assessment_id}' is not a quiz or test of this module")


class UnknownAttemptError(AssessmentError):
    def __init__(self, attempt_id: str) -> None:
        super().__init__(f"attempt '{attempt_id}' does not exist for this learner")


@dataclass(frozen=True)
class Submission:
    attempt: Attempt
    result: Result


def _to_domain(row: AttemptRow, answers: list[AnswerRow]) -> Attempt:
    return Attempt(
        id=row.id,
        assessment_id=row.assessment_id,
        kind=AssessmentKind(row.kind),
        number=row.number,
        question_order=tuple(row.question_order),
        option_order=tuple((question, tuple(options)) for question, options in row.option_order),
        started_at=row.started_at,
        submitted_at=row.submitted_at,
        answers=tuple(
            RecordedAnswer(
                question_id=a.question_id,
                option_id=a.option_id,
                revision=a.revision,
                correct=a.correct,
                recorded_at=a.recorded_at,
            )
            for a in sorted(answers, key=lambda a: (a.recorded_at, a.id))
        ),
    )


class AttemptService:
    def __init__(
        self,
        session: Session,
        module: Module,
        clock: Clock,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        events: Sequence[AttemptEvents] = (),
        settings: ModuleSettings | None = None,
    ) -> None:
        self.events = events
        # The placement's settings with the student's extra attempts, or the module's defaults.
        self.settings = settings or module.settings
        self.session = session
        self.module = module
        self.clock = clock
        self.new_id = new_id

    def _assessment(self, assessment_id: str) -> Assessment:
        assessment = self.module.assessment(assessment_id)
        if assessment is None:
            raise UnknownAssessmentError(assessment_id)
        return assessment

    def _limit(self, assessment: Assessment) -> int | None:
        # Lesson quizzes can be retaken freely; the module test has the module's attempt limit.
        return self.settings.test_attempts if assessment.kind is AssessmentKind.TEST else None

    def history(self, record: RecordKey, assessment_id: str) -> list[Attempt]:
        rows = self.session.scalars(
            select(AttemptRow)
            .where(AttemptRow.record_id == record.id, AttemptRow.assessment_id == assessment_id)
            .order_by(AttemptRow.number)
        ).all()
        answers = self.session.scalars(select(AnswerRow).where(AnswerRow.attempt_id.in_([r.id for r in rows]))).all()
        return [_to_domain(row, [a for a in answers if a.attempt_id == row.id]) for row in rows]

    def resume_or_start(self, record: RecordKey, assessment_id: str) -> Attempt:
        assessment = self._assessment(assessment_id)
        history = self.history(record, assessment_id)
        attempt = resume_or_start(
            assessment,
            history,
            limit=self._limit(assessment),
            attempt_id=self.new_id(),
            now=self.clock.now(),
            shuffle_questions=self.settings.shuffle_questions,
            shuffle_options=self.settings.shuffle_options,
        )
        if attempt not in history:
            self.session.add(
                AttemptRow(
                    id=attempt.id,
                    learner_id=record.learner_id,
                    record_id=record.id,
                    assessment_id=attempt.assessment_id,
                    kind=str(attempt.kind),
                    number=attempt.number,
                    question_order=list(attempt.question_order),
                    option_order=[[q, list(options)] for q, options in attempt.option_order],
                    started_at=attempt.started_at,
                )
            )
            self.session.flush()
            for listener in self.events:
                listener.started(attempt)
        return attempt

    def _locked(self, record: RecordKey, attempt_id: str) -> tuple[AttemptRow, Attempt, Assessment]:
        # Row lock (PostgreSQL) so two concurrent answers cannot both take the same revision number.
        row = self.session.scalar(
            select(AttemptRow).where(AttemptRow.id == attempt_id, AttemptRow.record_id == record.id).with_for_update()
        )
        if row is None:
            raise UnknownAttemptError(attempt_id)
        answers = list(self.session.scalars(select(AnswerRow).where(AnswerRow.attempt_id == row.id)))
        return row, _to_domain(row, answers), self._assessment(row.assessment_id)

    def _store_submission(self, row: AttemptRow, attempt: Attempt, assessment: Assessment) -> Result:
        outcome = result(attempt, assessment, self.settings.pass_ratio)
        row.submitted_at = attempt.submitted_at
        row.score_correct = outcome.score.correct
        row.score_total = outcome.score.total
        row.passed = outcome.passed
        self.session.flush()
        for listener in self.events:
            listener.submitted(attempt, outcome)
        return outcome

    def answer(self, record: RecordKey, attempt_id: str, question_id: str, option_id: str) -> AnswerOutcome:
        row, attempt, assessment = self._locked(record, attempt_id)
        outcome = record_answer(attempt, assessment, question_id, option_id, self.clock.now())
        answer = outcome.answer
        self.session.add(
            AnswerRow(
                learner_id=record.learner_id,
                attempt_id=row.id,
                question_id=answer.question_id,
                option_id=answer.option_id,
                revision=answer.revision,
                correct=answer.correct,
                recorded_at=answer.recorded_at,
            )
        )
        for listener in self.events:
            listener.answered(outcome.attempt, answer)
        if outcome.attempt.is_submitted:
            self._store_submission(row, outcome.attempt, assessment)
        self.session.flush()
        return outcome

    def submit(self, record: RecordKey, attempt_id: str) -> Submission:
        row, attempt, assessment = self._locked(record, attempt_id)
        submitted = submit(attempt, assessment, self.clock.now())
        outcome = self._store_submission(row, submitted, assessment)
        self.session.flush()
        return Submission(attempt=submitted, result=outcome)
