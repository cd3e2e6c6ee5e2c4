"""The statements the tool emits, built from the real module: valid for us and for Learning Locker's validator,
deterministic, stable across rewording, and private by default."""

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from assessments.scoring import Score, passes
from content import Module
from exports.xapi import Learner, Statements, problems
from tests.xapi_validator import xapi_problems

from .builders import (
    BASE,
    ISSUER,
    LAB_REGISTRATION,
    REGISTRATION,
    T0,
    WHERE,
    WHO,
    every_statement,
    exchange,
    make_statements,
)

EXT = f"{BASE}/extensions"


def _answer(
    build: Statements,
    question_index: int = 0,
    *,
    revision: int = 1,
    registration: str = REGISTRATION,
    question_id: str | None = None,
    option_id: str | None = None,
    correct: bool = True,
) -> dict[str, Any]:
    """An answer to a module-test question, by default its first answer and the right one."""
    question = build.module.test.questions[question_index]
    return build.answered(
        WHO,
        WHERE,
        registration,
        "module-test",
        question_id or question.id,
        option_id or question.correct_option.id,
        correct,
        revision,
        T0,
    )


def test_every_statement_passes_our_checks_and_xapi_validation(module: Module) -> None:
    statements = every_statement(module)
    questions = sum(len(a.questions) for a in (*module.quizzes, module.test))

    assert len([s for s in statements if s["verb"]["display"]["en-US"] == "answered"]) == 2 * questions
    assert [problems(s) for s in statements] == [[] for _ in statements]
    assert xapi_problems(statements) == [[] for _ in statements]


def test_every_statement_has_its_own_id(module: Module) -> None:
    ids = [s["id"] for s in every_statement(module)]
    assert len(set(ids)) == len(ids)


def test_an_answer_records_the_question_as_a_choice_interaction(module: Module) -> None:
    question = module.quizzes[0].questions[1]
    wrong = next(option for option in question.options if not option.correct)

    statement = make_statements(module).answered(
        WHO, WHERE, REGISTRATION, "quiz-1", question.id, wrong.id, False, 1, T0
    )

    root = f"{BASE}/modules/tracing-llm-calls"
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/answered"
    assert statement["object"]["id"] == f"{root}/assessments/quiz-1/questions/{question.id}"
    definition = statement["object"]["definition"]
    assert definition["type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
    assert definition["interactionType"] == "choice"
    assert definition["name"] == {"en-US": question.stem}
    assert definition["choices"] == [{"id": o.id, "description": {"en-US": o.text}} for o in question.options]
    assert definition["correctResponsesPattern"] == [question.correct_option.id]
    assert statement["result"] == {
        "response": wrong.id,
        "success": False,
        "score": {"scaled": 0, "raw": 0, "min": 0, "max": 1},
        "extensions": {f"{EXT}/answer-revision": 1},
    }
    context = statement["context"]
    assert context["registration"] == REGISTRATION
    assert [a["id"] for a in context["contextActivities"]["parent"]] == [f"{root}/assessments/quiz-1"]
    assert [a["id"] for a in context["contextActivities"]["grouping"]] == [
        root,
        f"{BASE}/courses/https%3A%2F%2Fcanvas.example.edu/1%3A4dde05e8ca1973bcca9bffc13e1548820eee93a3/course-42",
    ]


def test_a_unit_sits_in_the_module_and_the_course(module: Module) -> None:
    statement = make_statements(module).experienced(WHO, WHERE, REGISTRATION, "lesson-2", T0)

    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/experienced"
    assert statement["object"]["id"] == f"{BASE}/modules/tracing-llm-calls/lessons/lesson-2"
    activities = statement["context"]["contextActivities"]
    assert [a["id"] for a in activities["parent"]] == [f"{BASE}/modules/tracing-llm-calls"]
    assert [a["definition"]["type"] for a in activities["grouping"]] == ["http://adlnet.gov/expapi/activities/course"]
    assert activities["grouping"][0]["definition"]["name"] == {"en-US": "LLM Operations 101"}


def test_a_certificate_is_earned_on_the_module_which_sits_in_the_course(module: Module) -> None:
    statement = make_statements(module).earned(WHO, WHERE, REGISTRATION, "K7M2-9QXD-4TJA", 13, 15, T0)

    assert statement["verb"] == {"id": "http://id.tincanapi.com/verb/earned", "display": {"en-US": "earned"}}
    assert statement["object"]["id"] == f"{BASE}/modules/tracing-llm-calls"
    assert statement["context"]["extensions"][f"{EXT}/certificate-id"] == "K7M2-9QXD-4TJA"
    assert statement["result"]["score"] == {"scaled": 13 / 15, "raw": 13, "min": 0, "max": 15}
    activities = statement["context"]["contextActivities"]
    assert list(activities) == ["parent"]
    assert [a["definition"]["type"] for a in activities["parent"]] == ["http://adlnet.gov/expapi/activities/course"]
    # Each certificate (version) is earned once: its id alone decides the statement's.
    again = make_statements(module).earned(WHO, WHERE, REGISTRATION, "K7M2-9QXD-4TJA", 13, 15, T0)
    assert again["id"] == statement["id"]


def test_the_context_carries_the_lti_ids_and_the_platform(module: Module) -> None:
    context = make_statements(module).lab_started(WHO, WHERE, LAB_REGISTRATION, "lab-1", T0)["context"]

    assert context["platform"] == "Canvas"
    assert context["extensions"] == {
        f"{EXT}/lti-deployment-id": WHERE.deployment_id,
        f"{EXT}/lti-context-id": "course-42",
        f"{EXT}/lti-resource-link-id": "link-module",
    }
    assert "instructor" not in context


def test_what_the_lms_did_not_say_is_left_out(module: Module) -> None:
    where = dataclasses.replace(WHERE, platform_name=None, context_id=None, context_title=None)

    context = make_statements(module).lab_started(WHO, where, LAB_REGISTRATION, "lab-1", T0)["context"]

    assert "platform" not in context
    assert f"{EXT}/lti-context-id" not in context["extensions"]
    assert "name" not in context["contextActivities"]["grouping"][0]["definition"]


def test_the_same_inputs_give_the_same_statement(module: Module) -> None:
    first, again = make_statements(module), make_statements(module)

    assert _answer(first) == _answer(again)
    assert _answer(first)["id"] == _answer(first, registration=REGISTRATION.upper())["id"]
    assert every_statement(module) == every_statement(module)


def test_a_changed_answer_is_a_new_statement(module: Module) -> None:
    build = make_statements(module)
    question = module.test.questions[0]
    wrong = next(option for option in question.options if not option.correct)

    first = _answer(build, revision=1)
    changed = _answer(build, revision=2, option_id=wrong.id, correct=False)

    assert changed["id"] != first["id"]
    assert changed["result"]["extensions"] == {f"{EXT}/answer-revision": 2}
    other_attempt = _answer(build, registration="7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d")
    assert other_attempt["id"] != first["id"]


def test_activity_ids_stay_when_the_text_is_reworded(module: Module) -> None:
    question = module.test.questions[3]
    reworded_question = dataclasses.replace(
        question,
        stem="Reworded: " + question.stem,
        options=tuple(dataclasses.replace(o, text=o.text.upper()) for o in question.options),
    )
    test = dataclasses.replace(
        module.test,
        title="Final Test",
        questions=tuple(reworded_question if q.id == question.id else q for q in module.test.questions),
    )
    reworded = dataclasses.replace(module, title="Tracing LLM Calls, 2nd edition", test=test)

    before = _answer(make_statements(module), question_index=3)
    after = _answer(make_statements(reworded), question_index=3)

    assert after["object"]["definition"]["name"] == {"en-US": reworded_question.stem}
    assert after["object"]["id"] == before["object"]["id"]
    assert after["id"] == before["id"]
    assert [c["id"] for c in after["object"]["definition"]["choices"]] == [o.id for o in question.options]
    for key in ("parent", "grouping"):
        assert [a["id"] for a in after["context"]["contextActivities"][key]] == [
            a["id"] for a in before["context"]["contextActivities"][key]
        ]


def test_the_actor_is_the_lms_account_without_an_email(module: Module) -> None:
    for statement in every_statement(module):
        assert statement["actor"] == {
            "objectType": "Agent",
            "name": "Ada Lovelace",
            "account": {"homePage": ISSUER, "name": WHO.sub},
        }


def test_the_email_replaces_the_account_only_when_given(module: Module) -> None:
    allowed = dataclasses.replace(WHO, email="ada@example.edu")
    nameless = Learner(issuer=ISSUER, sub="s-1")

    actor = make_statements(module).lab_started(allowed, WHERE, LAB_REGISTRATION, "lab-3", T0)["actor"]

    assert actor == {"objectType": "Agent", "name": "Ada Lovelace", "mbox": "mailto:ada@example.edu"}
    assert make_statements(module).lab_started(nameless, WHERE, LAB_REGISTRATION, "lab-3", T0)["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": ISSUER, "name": "s-1"},
    }


def test_a_lab_exchange_carries_hashes_not_text_by_default(module: Module) -> None:
    marker = "unique-marker-5f1e0c"
    message = f"My trace id is {marker}, why is it slow?"

    statement = exchange(make_statements(module), "lab-1", include_text=False, message=message)

    assert marker not in json.dumps(statement)
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/interacted"
    assert statement["object"]["id"] == f"{BASE}/modules/tracing-llm-calls/labs/lab-1"
    result = statement["result"]["extensions"]
    assert result[f"{EXT}/message-sha256"] == hashlib.sha256(message.encode()).hexdigest()
    assert f"{EXT}/message" not in result
    assert f"{EXT}/reply" not in result
    assert result[f"{EXT}/input-tokens"] == 812
    assert result[f"{EXT}/output-tokens"] == 240
    assert result[f"{EXT}/latency-ms"] == 1532.5
    assert statement["context"]["extensions"][f"{EXT}/lab-turn"] == 1
    assert statement["context"]["extensions"][f"{EXT}/model"] == "gpt-4o-mini"
    assert statement["context"]["extensions"][f"{EXT}/provider"] == "openai"


def test_a_lab_exchange_carries_the_text_when_the_admin_allows_it(module: Module) -> None:
    statement = exchange(make_statements(module), "lab-2", include_text=True, turn=3)

    result = statement["result"]["extensions"]
    assert result[f"{EXT}/message"] == "Show me a trace with a problem and help me diagnose it"
    assert result[f"{EXT}/reply"].startswith("Here is a trace")
    assert statement["context"]["extensions"][f"{EXT}/lab-turn"] == 3


def test_a_lab_exchange_leaves_out_what_is_unknown_and_says_when_the_tutor_stood_in(module: Module) -> None:
    build = make_statements(module)
    unknown = exchange(build, "lab-4", include_text=False, input_tokens=None)
    fallback = build.lab_exchange(
        WHO,
        WHERE,
        LAB_REGISTRATION,
        "lab-4",
        2,
        "m",
        "r",
        "tutor",
        "offline",
        None,
        None,
        3.0,
        "model-timeout",
        False,
        T0,
    )

    assert f"{EXT}/input-tokens" not in unknown["result"]["extensions"]
    assert fallback["result"]["extensions"][f"{EXT}/fallback"] == "model-timeout"
    assert fallback["id"] != unknown["id"]


def test_lab_start_and_completion(module: Module) -> None:
    build = make_statements(module)

    started = build.lab_started(WHO, WHERE, LAB_REGISTRATION, "lab-2", T0)
    completed = build.lab_completed(WHO, WHERE, LAB_REGISTRATION, "lab-2", T0)

    assert started["verb"]["id"] == "http://adlnet.gov/expapi/verbs/attempted"
    assert completed["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
    assert completed["result"] == {"completion": True}
    assert started["object"] == completed["object"]


def test_no_statement_sets_a_version_and_every_time_is_utc(module: Module) -> None:
    for statement in every_statement(module):
        assert "version" not in statement
        assert statement["timestamp"] == "2026-11-28T09:00:00.000Z"


def test_a_time_in_another_zone_is_sent_in_utc(module: Module) -> None:
    paris = datetime(2026, 11, 28, 10, 0, 0, 250000, tzinfo=timezone(timedelta(hours=1)))

    statement = make_statements(module).experienced(WHO, WHERE, REGISTRATION, "lesson-1", paris)

    assert statement["timestamp"] == "2026-11-28T09:00:00.250Z"


def test_a_time_without_a_zone_is_refused(module: Module) -> None:
    with pytest.raises(ValueError, match="no zone"):
        make_statements(module).experienced(WHO, WHERE, REGISTRATION, "lesson-1", datetime(2026, 11, 28, 9, 0))


@pytest.mark.parametrize(
    ("right", "verdict", "scaled"),
    [(12, "passed", 0.8), (11, "failed", 11 / 15)],
)
def test_a_finished_module_test_is_completed_and_passed_or_failed(
    module: Module, right: int, verdict: str, scaled: float
) -> None:
    passed = passes(Score(right, 15), module.settings.pass_ratio)

    statements = make_statements(module).finished(
        WHO, WHERE, REGISTRATION, "module-test", right, 15, passed, timedelta(minutes=12, seconds=34.5), T0
    )

    assert [s["verb"]["display"]["en-US"] for s in statements] == ["completed", verdict]
    assert [s["verb"]["id"] for s in statements] == [
        "http://adlnet.gov/expapi/verbs/completed",
        f"http://adlnet.gov/expapi/verbs/{verdict}",
    ]
    for statement in statements:
        assert statement["object"]["id"] == f"{BASE}/modules/tracing-llm-calls/assessments/module-test"
        assert statement["result"] == {
            "score": {"scaled": pytest.approx(scaled), "raw": right, "min": 0, "max": 15},
            "success": passed,
            "completion": True,
            "duration": "PT754.5S",
        }
    assert statements[0]["result"]["score"]["scaled"] == right / 15
    assert xapi_problems(statements) == [[], []]


def test_passed_and_failed_share_one_id_so_a_changed_verdict_is_a_conflict(module: Module) -> None:
    build = make_statements(module)
    minute = timedelta(minutes=1)

    passed = build.finished(WHO, WHERE, REGISTRATION, "module-test", 12, 15, True, minute, T0)[1]
    failed = build.finished(WHO, WHERE, REGISTRATION, "module-test", 12, 15, False, minute, T0)[1]

    assert passed["id"] == failed["id"]


def test_a_finished_quiz_is_completed_only(module: Module) -> None:
    statements = make_statements(module).finished(
        WHO, WHERE, REGISTRATION, "quiz-3", 3, 4, None, timedelta(seconds=61.237), T0
    )

    assert [s["verb"]["display"]["en-US"] for s in statements] == ["completed"]
    assert statements[0]["result"] == {
        "score": {"scaled": 0.75, "raw": 3, "min": 0, "max": 4},
        "completion": True,
        "duration": "PT61.24S",
    }


@pytest.mark.parametrize(
    ("assessment_id", "correct", "total", "passed", "message"),
    [
        ("module-test", 12, 15, None, "say whether the attempt passed"),
        ("quiz-1", 4, 4, True, "no pass mark"),
        ("quiz-1", 5, 4, None, "impossible"),
        ("quiz-1", 0, 0, None, "impossible"),
    ],
)
def test_an_impossible_outcome_is_refused(
    module: Module, assessment_id: str, correct: int, total: int, passed: bool | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_statements(module).finished(
            WHO, WHERE, REGISTRATION, assessment_id, correct, total, passed, timedelta(minutes=1), T0
        )


def test_durations_are_iso_8601_seconds(module: Module) -> None:
    build = make_statements(module)

    def duration(value: timedelta) -> str:
        statement = build.finished(WHO, WHERE, REGISTRATION, "quiz-1", 4, 4, None, value, T0)[0]
        return str(statement["result"]["duration"])

    assert duration(timedelta(0)) == "PT0S"
    assert duration(timedelta(hours=2)) == "PT7200S"
    assert re.fullmatch(r"PT\d+(\.\d{1,2})?S", duration(timedelta(seconds=1, microseconds=999)))
    with pytest.raises(ValueError, match="negative"):
        duration(timedelta(seconds=-1))


def test_a_grade_that_contradicts_the_content_is_refused(module: Module) -> None:
    with pytest.raises(ValueError, match="is correct"):
        _answer(make_statements(module), correct=False)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.experienced(WHO, WHERE, REGISTRATION, "lesson-9", T0), "no lesson 'lesson-9'"),
        (lambda b: b.attempted(WHO, WHERE, REGISTRATION, "quiz-9", T0), "no quiz or test 'quiz-9'"),
        (lambda b: b.lab_completed(WHO, WHERE, REGISTRATION, "lab-9", T0), "no lab 'lab-9'"),
        (lambda b: _answer(b, question_id="l9-q9"), "no question 'l9-q9'"),
        (lambda b: _answer(b, option_id="nope"), "no option 'nope'"),
    ],
)
def test_content_ids_the_module_does_not_have_are_refused(
    module: Module, call: Callable[[Statements], object], message: str
) -> None:
    with pytest.raises(LookupError, match=message):
        call(make_statements(module))


def test_a_registration_must_be_a_uuid(module: Module) -> None:
    with pytest.raises(ValueError, match="badly formed"):
        make_statements(module).attempted(WHO, WHERE, "attempt-1", "quiz-1", T0)
