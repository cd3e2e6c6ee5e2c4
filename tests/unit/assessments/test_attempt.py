"""Attempts: quiz answers final after feedback, test answers revisable until submission, limits, refusals."""

import dataclasses

import pytest

from assessments.attempt import record_answer, resume_or_start, submit
from assessments.errors import (
    AnswerFinalError,
    AttemptLimitError,
    AttemptSubmittedError,
    UnknownOptionError,
    UnknownQuestionError,
)
from content import Module

from .builders import T0, answer_with_score, make_attempt


def test_a_quiz_answer_gets_the_seeds_feedback_and_is_then_final(module: Module) -> None:
    quiz = module.quizzes[0]
    question = quiz.questions[0]
    wrong = next(o for o in question.options if not o.correct)
    attempt = make_attempt(quiz)

    outcome = record_answer(attempt, quiz, question.id, wrong.id, T0)

    assert outcome.feedback is not None
    assert outcome.feedback.correct is False
    assert outcome.feedback.text == question.feedback.incorrect
    assert outcome.feedback.correct_option_id == question.correct_option.id
    with pytest.raises(AnswerFinalError, match="final"):
        record_answer(outcome.attempt, quiz, question.id, question.correct_option.id, T0)


def test_a_quiz_is_submitted_when_its_last_question_is_answered(module: Module) -> None:
    quiz = module.quizzes[1]
    attempt = answer_with_score(make_attempt(quiz), quiz, right=3)
    assert attempt.is_submitted
    assert len(attempt.answers) == 4


def test_a_test_answer_can_change_until_submission_and_keeps_every_revision(module: Module) -> None:
    test = module.test
    question = test.questions[0]
    wrong = next(o for o in question.options if not o.correct)
    attempt = make_attempt(test)

    first = record_answer(attempt, test, question.id, wrong.id, T0)
    second = record_answer(first.attempt, test, question.id, question.correct_option.id, T0)

    assert first.feedback is None
    assert second.feedback is None
    assert [(a.option_id, a.revision) for a in second.attempt.answers] == [
        (wrong.id, 1),
        (question.correct_option.id, 2),
    ]
    assert second.attempt.current_answers()[question.id].correct is True


def test_a_submitted_attempt_refuses_further_answers_and_a_second_submission(module: Module) -> None:
    test = module.test
    submitted = submit(make_attempt(test), test, T0)
    question = test.questions[0]
    with pytest.raises(AttemptSubmittedError):
        record_answer(submitted, test, question.id, question.correct_option.id, T0)
    with pytest.raises(AttemptSubmittedError):
        submit(submitted, test, T0)


def test_unknown_question_or_option_is_a_clear_error_and_changes_nothing(module: Module) -> None:
    test = module.test
    attempt = make_attempt(test)
    before = dataclasses.asdict(attempt)

    with pytest.raises(UnknownQuestionError, match="'no-such-question' is not a question of module-test"):
        record_answer(attempt, test, "no-such-question", "a", T0)
    with pytest.raises(UnknownOptionError, match=f"'zz' is not an option of question {test.questions[0].id}"):
        record_answer(attempt, test, test.questions[0].id, "zz", T0)

    assert dataclasses.asdict(attempt) == before


def test_the_attempt_limit_holds_and_an_unfinished_attempt_is_resumed(module: Module) -> None:
    test = module.test

    def start(previous: list, attempt_id: str):  # type: ignore[no-untyped-def]
        return resume_or_start(
            test, previous, limit=3, attempt_id=attempt_id, now=T0, shuffle_questions=True, shuffle_options=True
        )

    first = start([], "a1")
    assert start([first], "ignored") is first  # unfinished: resumed, not replaced
    done = [submit(first, test, T0)]
    for n in (2, 3):
        attempt = start(done, f"a{n}")
        assert attempt.number == n
        done.append(submit(attempt, test, T0))
    with pytest.raises(AttemptLimitError, match="all 3 attempts have been used"):
        start(done, "a4")


def test_quizzes_have_no_attempt_limit(module: Module) -> None:
    quiz = module.quizzes[0]
    previous = [submit(make_attempt(quiz, attempt_id=f"q{n}", number=n), quiz, T0) for n in range(1, 6)]
    retake = resume_or_start(
        quiz, previous, limit=None, attempt_id="q6", now=T0, shuffle_questions=True, shuffle_options=True
    )
    assert retake.number == 6


def test_shuffles_are_per_attempt_and_stable_for_one_attempt(module: Module) -> None:
    test = module.test
    orders = {make_attempt(test, attempt_id=f"id-{n}").question_order for n in range(5)}
    assert len(orders) > 1
    assert make_attempt(test, attempt_id="same") == make_attempt(test, attempt_id="same")
    attempt = make_attempt(test)
    assert sorted(attempt.question_order) == sorted(q.id for q in test.questions)
    for question in test.questions:
        assert sorted(attempt.options_for(question.id)) == sorted(o.id for o in question.options)
