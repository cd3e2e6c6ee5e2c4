"""Scores and the pass rule, computed exactly with :class:`fractions.Fraction` (12/15 passes at 4/5)."""

import math
from dataclasses import dataclass
from fractions import Fraction

from assessments.attempt import Attempt
from content.model import Assessment


@dataclass(frozen=True)
class Score:
    correct: int
    total: int

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.correct, self.total)

    @property
    def percent(self) -> Fraction:
        return self.ratio * 100


@dataclass(frozen=True)
class Result:
    score: Score
    passed: bool


def score(attempt: Attempt, assessment: Assessment) -> Score:
    answers = attempt.current_answers()
    correct = sum(1 for q in assessment.questions if q.id in answers and answers[q.id].correct)
    return Score(correct=correct, total=len(assessment.questions))


def passes(value: Score, pass_ratio: Fraction) -> bool:
    """The pass rule: the exact ratio of right answers reaches the pass mark."""
    return value.ratio >= pass_ratio


def pass_mark(total: int, pass_ratio: Fraction) -> int:
    """The fewest right answers that pass: 12 of 15 at 4/5."""
    return math.ceil(total * pass_ratio)


def result(attempt: Attempt, assessment: Assessment, pass_ratio: Fraction) -> Result:
    value = score(attempt, assessment)
    return Result(score=value, passed=passes(value, pass_ratio))
