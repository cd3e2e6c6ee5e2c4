"""Builders for engine tests: real module content, attempts answered to a chosen score."""

from datetime import UTC, datetime

from assessments.attempt import Attempt, new_attempt, record_answer
from content import Assessment

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def make_attempt(assessment: Assessment, *, attempt_id: str = "attempt-1", number: int = 1) -> Attempt:
    return new_attempt(
        assessment, attempt_id=attempt_id, number=number, now=T0, shuffle_questions=True, shuffle_options=True
    )


def answer_with_score(attempt: Attempt, assessment: Assessment, right: int) -> Attempt:
    """Answer every question, the first ``right`` of them correctly."""
    for index, question in enumerate(assessment.questions):
        wrong = next(o for o in question.options if not o.correct)
        option = question.correct_option if index < right else wrong
        attempt = record_answer(attempt, assessment, question.id, option.id, T0).attempt
    return attempt
