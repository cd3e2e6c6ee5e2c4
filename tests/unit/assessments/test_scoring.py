"""The pass rule at its boundary, computed exactly."""

from fractions import Fraction

import pytest

from assessments.attempt import submit
from assessments.scoring import Score, passes, result
from content import Module

from .builders import T0, answer_with_score, make_attempt


@pytest.mark.parametrize(("right", "passed"), [(15, True), (12, True), (11, False), (0, False)])
def test_the_module_test_passes_at_twelve_of_fifteen(module: Module, right: int, passed: bool) -> None:
    test = module.test
    attempt = submit(answer_with_score(make_attempt(test), test, right), test, T0)

    outcome = result(attempt, test, module.settings.pass_ratio)

    assert outcome.score == Score(correct=right, total=15)
    assert outcome.passed is passed


def test_the_pass_mark_is_an_exact_fraction(module: Module) -> None:
    assert module.settings.pass_ratio == Fraction(4, 5)
    # 0.8 as a float is 0.8000000000000000444…, which an exact comparison must not depend on.
    assert passes(Score(4, 5), Fraction(4, 5))
    assert not passes(Score(79, 100), Fraction(4, 5))


def test_unanswered_questions_count_as_wrong(module: Module) -> None:
    test = module.test
    attempt = submit(make_attempt(test), test, T0)
    assert result(attempt, test, module.settings.pass_ratio).score == Score(0, 15)
