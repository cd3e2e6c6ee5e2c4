"""What a student may see of a submitted module-test attempt, under the placement's review policy."""

from dataclasses import dataclass
from fractions import Fraction

from assessments.attempt import Attempt
from assessments.scoring import Score, result
from content.model import Assessment, ReviewPolicy, ShowCorrectAnswers


@dataclass(frozen=True)
class Review:
    passed: bool
    score: Score | None  # None when the policy hides the score
    incorrect_question_ids: tuple[str, ...] | None  # None when the policy hides which were wrong
    correct_options: dict[str, str] | None  # question id -> right option id; None while hidden


def build_review(
    attempt: Attempt,
    assessment: Assessment,
    policy: ReviewPolicy,
    *,
    pass_ratio: Fraction,
    passed_before: bool,
    attempts_left: int,
) -> Review:
    outcome = result(attempt, assessment, pass_ratio)
    answers = attempt.current_answers()
    incorrect = tuple(q for q in attempt.question_order if q not in answers or not answers[q].correct)
    reveal = {
        ShowCorrectAnswers.NEVER: False,
        ShowCorrectAnswers.AFTER_SUBMIT: True,
        ShowCorrectAnswers.AFTER_PASS_OR_LAST_ATTEMPT: outcome.passed or passed_before or attempts_left == 0,
    }[policy.show_correct_answers]
    return Review(
        passed=outcome.passed,
        score=outcome.score if policy.show_score else None,
        incorrect_question_ids=incorrect if policy.show_incorrect_questions else None,
        correct_options={q.id: q.correct_option.id for q in assessment.questions} if reveal else None,
    )
