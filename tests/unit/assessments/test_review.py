"""What the review shows after a test attempt, under each policy."""

import dataclasses

from assessments.attempt import submit
from assessments.review import build_review
from content import Module, ShowCorrectAnswers

from .builders import T0, answer_with_score, make_attempt


def _review(module: Module, right: int, *, attempts_left: int, passed_before: bool = False, policy=None):  # type: ignore[no-untyped-def]
    test = module.test
    attempt = submit(answer_with_score(make_attempt(test), test, right), test, T0)
    return build_review(
        attempt,
        test,
        policy or module.settings.review,
        pass_ratio=module.settings.pass_ratio,
        passed_before=passed_before,
        attempts_left=attempts_left,
    )


def test_default_policy_shows_score_and_wrong_questions_but_not_answers_while_attempts_remain(module: Module) -> None:
    review = _review(module, 11, attempts_left=2)
    assert review.passed is False
    assert review.score is not None
    assert review.score.correct == 11
    wrong_ids = {q.id for q in module.test.questions[11:]}
    assert set(review.incorrect_question_ids or ()) == wrong_ids
    assert review.correct_options is None


def test_answers_are_revealed_after_a_pass_or_the_last_attempt(module: Module) -> None:
    assert _review(module, 12, attempts_left=2).correct_options is not None
    assert _review(module, 5, attempts_left=0).correct_options is not None
    assert _review(module, 5, attempts_left=1, passed_before=True).correct_options is not None


def test_a_policy_can_hide_everything(module: Module) -> None:
    policy = dataclasses.replace(
        module.settings.review,
        show_score=False,
        show_incorrect_questions=False,
        show_correct_answers=ShowCorrectAnswers.NEVER,
    )
    review = _review(module, 15, attempts_left=0, policy=policy)
    assert (review.score, review.incorrect_question_ids, review.correct_options) == (None, None, None)
    assert review.passed is True
