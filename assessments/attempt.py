"""Attempts and answers.

Rules: a lesson-quiz answer is final as soon as its feedback is shown (a retake is a new attempt) and the
quiz is submitted when its last question is answered; a module-test answer can be changed until submission
and gets no feedback before it. A submitted attempt never changes, and every recorded answer keeps its
revision number. All functions return new values and never mutate their arguments, so a refused request
provably leaves the attempt unchanged.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from assessments.errors import (
    AnswerFinalError,
    AttemptLimitError,
    AttemptMismatchError,
    AttemptSubmittedError,
    UnknownOptionError,
    UnknownQuestionError,
)
from content.model import Assessment, AssessmentKind, Question


@dataclass(frozen=True)
class RecordedAnswer:
    question_id: str
    option_id: str
    revision: int  # 1 for the first answer to a question in this attempt, +1 for each change
    correct: bool
    recorded_at: datetime


@dataclass(frozen=True)
class Attempt:
    id: str
    assessment_id: str
    kind: AssessmentKind
    number: int  # 1 for the learner's first attempt at this assessment
    question_order: tuple[str, ...]
    option_order: tuple[tuple[str, tuple[str, ...]], ...]  # (question id, option ids as shown)
    started_at: datetime
    answers: tuple[RecordedAnswer, ...] = ()  # every revision, oldest first
    submitted_at: datetime | None = None

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    def current_answers(self) -> dict[str, RecordedAnswer]:
        """The latest revision per question."""
        latest: dict[str, RecordedAnswer] = {}
        for answer in self.answers:
            latest[answer.question_id] = answer
        return latest

    def options_for(self, question_id: str) -> tuple[str, ...]:
        return dict(self.option_order)[question_id]


@dataclass(frozen=True)
class QuizFeedback:
    """Shown right after a quiz answer, which is final from then on."""

    correct: bool
    text: str
    correct_option_id: str


@dataclass(frozen=True)
class AnswerOutcome:
    attempt: Attempt
    answer: RecordedAnswer
    feedback: QuizFeedback | None  # None for the module test: no feedback before submission


def _order(items: Sequence[str], rng: random.Random, shuffle: bool) -> tuple[str, ...]:
    ordered = list(items)
    if shuffle:
        rng.shuffle(ordered)
    return tuple(ordered)


def new_attempt(
    assessment: Assessment,
    *,
    attempt_id: str,
    number: int,
    now: datetime,
    shuffle_questions: bool,
    shuffle_options: bool,
) -> Attempt:
    """A fresh attempt; the shuffle is seeded by the attempt id, so the same attempt always shows one order."""
    rng = random.Random(attempt_id)
    question_order = _order([q.id for q in assessment.questions], rng, shuffle_questions)
    option_order = tuple((q.id, _order([o.id for o in q.options], rng, shuffle_options)) for q in assessment.questions)
    return Attempt(
        id=attempt_id,
        assessment_id=assessment.id,
        kind=assessment.kind,
        number=number,
        question_order=question_order,
        option_order=option_order,
        started_at=now,
    )


def resume_or_start(
    assessment: Assessment,
    previous: Sequence[Attempt],
    *,
    limit: int | None,
    attempt_id: str,
    now: datetime,
    shuffle_questions: bool,
    shuffle_options: bool,
) -> Attempt:
    """The learner's unfinished attempt if there is one, else a new one within ``limit`` (None: no limit)."""
    mine = [a for a in previous if a.assessment_id == assessment.id]
    unfinished = [a for a in mine if not a.is_submitted]
    if unfinished:
        return unfinished[-1]
    if limit is not None and len(mine) >= limit:
        raise AttemptLimitError(limit)
    return new_attempt(
        assessment,
        attempt_id=attempt_id,
        number=max((a.number for a in mine), default=0) + 1,
        now=now,
        shuffle_questions=shuffle_questions,
        shuffle_options=shuffle_options,
    )


def _question(assessment: Assessment, question_id: str) -> Question:
    question = assessment.question(question_id)
    if question is None:
        raise UnknownQuestionError(assessment.id, question_id)
    return question


def record_answer(
    attempt: Attempt, assessment: Assessment, question_id: str, option_id: str, now: datetime
) -> AnswerOutcome:
    """Record one answer; a quiz answer is graded at once and the quiz submitted after its last question."""
    if attempt.assessment_id != assessment.id:
        raise AttemptMismatchError(attempt.id, assessment.id)
    if attempt.is_submitted:
        raise AttemptSubmittedError(attempt.id)
    question = _question(assessment, question_id)
    option = question.option(option_id)
    if option is None:
        raise UnknownOptionError(question_id, option_id)
    previous = attempt.current_answers().get(question_id)
    if previous is not None and attempt.kind is AssessmentKind.QUIZ:
        raise AnswerFinalError(question_id)

    answer = RecordedAnswer(
        question_id=question_id,
        option_id=option_id,
        revision=previous.revision + 1 if previous else 1,
        correct=option.correct,
        recorded_at=now,
    )
    updated = replace(attempt, answers=(*attempt.answers, answer))
    if attempt.kind is not AssessmentKind.QUIZ:
        return AnswerOutcome(attempt=updated, answer=answer, feedback=None)

    if len(updated.current_answers()) == len(assessment.questions):
        updated = replace(updated, submitted_at=now)
    feedback = QuizFeedback(
        correct=option.correct,
        text=question.feedback.correct if option.correct else question.feedback.incorrect,
        correct_option_id=question.correct_option.id,
    )
    return AnswerOutcome(attempt=updated, answer=answer, feedback=feedback)


def submit(attempt: Attempt, assessment: Assessment, now: datetime) -> Attempt:
    """Close the attempt for good; unanswered questions count as wrong."""
    if attempt.assessment_id != assessment.id:
        raise AttemptMismatchError(attempt.id, assessment.id)
    if attempt.is_submitted:
        raise AttemptSubmittedError(attempt.id)
    return replace(attempt, submitted_at=now)
