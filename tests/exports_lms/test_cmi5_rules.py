"""The cmi5 rules checker on hand-made statement lists: a conforming run passes, and each broken rule is named."""

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.exports_lms.cmi5_rules import (
    CMI5_CATEGORY,
    COMPLETED,
    FAILED,
    INITIALIZED,
    MASTERY_SCORE,
    MOVEON_CATEGORY,
    PASSED,
    SESSION_ID,
    TERMINATED,
    Launch,
    problems,
)

AU = "https://lms.example.org/activities/au-test"
PUBLISHER_ID = "https://tracebook.example.edu/xapi/modules/tracing-llm-calls/assessments/module-test"
QUESTION = f"{PUBLISHER_ID}/questions/test-q01"
ANSWERED = "http://adlnet.gov/expapi/verbs/answered"
REGISTRATION = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
ACTOR = {"objectType": "Agent", "account": {"homePage": "https://lms.example.org", "name": "ada"}, "name": "Ada"}
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def make_launch(session_id: str = "session-1", mode: str = "Normal", mastery: float | None = 0.8) -> Launch:
    launch_data: dict[str, Any] = {
        "contextTemplate": {
            "contextActivities": {"grouping": [{"objectType": "Activity", "id": PUBLISHER_ID}]},
            "extensions": {SESSION_ID: session_id},
        },
        "launchMode": mode,
        "moveOn": "Passed",
    }
    if mastery is not None:
        launch_data["masteryScore"] = mastery
    return Launch(activity_id=AU, registration=REGISTRATION, actor=ACTOR, launch_data=launch_data)


def make_statement(verb: str, at: int, launch: Launch, **result: Any) -> dict[str, Any]:
    """A statement the way a conforming AU sends it: the context template, plus the categories its verb needs."""
    context = copy.deepcopy(dict(launch.launch_data["contextTemplate"]))
    context["registration"] = REGISTRATION
    defined = verb != ANSWERED
    categories = [{"id": CMI5_CATEGORY}] if defined else []
    if defined and ("success" in result or "completion" in result):
        categories.append({"id": MOVEON_CATEGORY})
    if categories:
        context["contextActivities"]["category"] = categories
    if verb in (PASSED, FAILED) and "score" in result:
        context["extensions"][MASTERY_SCORE] = launch.launch_data["masteryScore"]
    statement: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": ACTOR,
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[1]}},
        "object": {"objectType": "Activity", "id": AU if defined else QUESTION},
        "context": context,
        "timestamp": (T0 + timedelta(seconds=at)).isoformat(),
    }
    if verb in (COMPLETED, PASSED, FAILED, TERMINATED):
        result.setdefault("duration", "PT1M")
    if result:
        statement["result"] = result
    return statement


def passed(at: int, launch: Launch, scaled: float = 0.9) -> dict[str, Any]:
    return make_statement(PASSED, at, launch, success=True, score={"scaled": scaled})


def failed(at: int, launch: Launch, scaled: float = 0.5) -> dict[str, Any]:
    return make_statement(FAILED, at, launch, success=False, score={"scaled": scaled})


def test_conforming_sessions_break_no_rule() -> None:
    first, second = make_launch("session-1"), make_launch("session-2")
    statements = [
        make_statement(INITIALIZED, 0, first),
        make_statement(ANSWERED, 1, first, success=False, response="b"),
        failed(2, first),
        make_statement(TERMINATED, 3, first),
        make_statement(INITIALIZED, 10, second),
        make_statement(ANSWERED, 11, second, success=True, response="a"),
        passed(12, second, scaled=0.8),  # exactly the mastery score passes
        make_statement(COMPLETED, 13, second, completion=True),
        make_statement(TERMINATED, 14, second),
    ]
    assert problems(statements, [first, second]) == []


def test_order_is_taken_from_timestamps_not_arrival() -> None:
    launch = make_launch()
    statements = [make_statement(TERMINATED, 5, launch), make_statement(INITIALIZED, 0, launch)]
    assert problems(statements, [launch]) == []


def test_a_session_must_start_with_initialized_and_end_with_terminated() -> None:
    launch = make_launch()
    statements = [
        make_statement(ANSWERED, 0, launch, success=True),
        make_statement(INITIALIZED, 1, launch),
        make_statement(TERMINATED, 2, launch),
        make_statement(ANSWERED, 3, launch, success=True),
    ]
    assert problems(statements, [launch]) == [
        f"session session-1: the first statement is {ANSWERED}, not initialized (§9.3)",
        f"session session-1: the last statement is {ANSWERED}, not terminated (§9.3.8)",
    ]


def test_a_launch_the_au_never_answered_is_reported() -> None:
    assert problems([], [make_launch()]) == ["session session-1: the AU sent nothing, not even initialized (§9.3.2)"]


def test_passed_and_failed_in_one_session_break_the_rules() -> None:
    launch = make_launch()
    statements = [
        make_statement(INITIALIZED, 0, launch),
        failed(1, launch),
        passed(2, launch),
        make_statement(TERMINATED, 3, launch),
    ]
    assert problems(statements, [launch]) == [
        "session session-1: both passed and failed sent (§9.3: at most one of them in a session)"
    ]


def test_passed_twice_in_a_registration_and_failed_after_passed_are_refused() -> None:
    launches = [make_launch(f"session-{n}") for n in (1, 2, 3)]
    statements = []
    for n, (launch, verdict) in enumerate(zip(launches, (passed, passed, failed), strict=True)):
        statements += [
            make_statement(INITIALIZED, 10 * n, launch),
            verdict(10 * n + 1, launch),
            make_statement(TERMINATED, 10 * n + 2, launch),
        ]
    assert problems(statements, launches) == [
        f"registration: {PASSED} sent 2 times (§9.3: at most once)",
        "registration: failed sent after passed (§9.3)",
    ]


def test_completed_twice_in_a_session_is_reported_for_the_session_and_the_registration() -> None:
    launch = make_launch()
    statements = [
        make_statement(INITIALIZED, 0, launch),
        make_statement(COMPLETED, 1, launch, completion=True),
        make_statement(COMPLETED, 2, launch, completion=True),
        make_statement(TERMINATED, 3, launch),
    ]
    assert problems(statements, [launch]) == [
        f"session session-1: {COMPLETED} sent 2 times (§9.3: no defined verb twice in a session)",
        f"registration: {COMPLETED} sent 2 times (§9.3: at most once)",
    ]


def test_the_cmi5_category_belongs_only_to_defined_statements() -> None:
    launch = make_launch()
    answered = make_statement(ANSWERED, 1, launch, success=True)
    answered["context"]["contextActivities"]["category"] = [{"id": CMI5_CATEGORY}]
    initialized = make_statement(INITIALIZED, 0, launch)
    del initialized["context"]["contextActivities"]["category"]
    statements = [initialized, answered, make_statement(TERMINATED, 2, launch)]
    assert problems(statements, [launch]) == [
        "statement 0 (initialized): a cmi5 defined statement lacks the cmi5 category (§9.6.2.1)",
        "statement 1 (answered): a cmi5 allowed statement carries a cmi5 category (§7.1.3, §9.6.2)",
    ]


def test_the_context_template_session_id_and_registration_are_required() -> None:
    launch = make_launch()
    stray = make_statement(ANSWERED, 1, launch, success=True)
    stray["context"]["extensions"][SESSION_ID] = "someone-elses-session"
    ungrouped = make_statement(ANSWERED, 2, launch, success=True)
    ungrouped["context"]["contextActivities"]["grouping"] = []
    ungrouped["context"]["registration"] = str(uuid.uuid4())
    statements = [make_statement(INITIALIZED, 0, launch), stray, ungrouped, make_statement(TERMINATED, 3, launch)]
    found = problems(statements, [launch])
    assert found == [
        "statement 1 (answered): session id 'someone-elses-session' is not one the LMS launched (§9.6.3.1)",
        f"statement 2 (answered): registration {ungrouped['context']['registration']!r} is not the launch's "
        f"{REGISTRATION!r} (§9.6.1)",
        f"statement 2 (answered): contextActivities.grouping lacks the contextTemplate's {PUBLISHER_ID} (§9.6.2)",
    ]


def test_result_properties_follow_the_verb() -> None:
    launch = make_launch()
    statements = [
        make_statement(INITIALIZED, 0, launch, score={"scaled": 1.0}),
        make_statement(COMPLETED, 1, launch, completion=True, success=True),
        make_statement(PASSED, 2, launch, success=True, score={"scaled": 0.5}),
        make_statement(TERMINATED, 3, launch, duration=None),
    ]
    del statements[3]["result"]["duration"]
    del statements[3]["result"]
    statements[2]["context"]["extensions"][MASTERY_SCORE] = 0.8
    assert problems(statements, [launch]) == [
        "statement 0 (initialized): only passed and failed may carry a score (§9.5.1)",
        "statement 1 (completed): result.success must be absent (§9.5.2)",
        "statement 2 (passed): scaled score 0.5 does not agree with the verb for masteryScore 0.8 (§9.3.4, §9.3.5)",
        "statement 3 (terminated): result.duration is missing (§9.5.4.1)",
    ]


def test_a_verdict_from_the_mastery_score_names_it_in_its_context() -> None:
    launch = make_launch()
    verdict = failed(1, launch)
    del verdict["context"]["extensions"][MASTERY_SCORE]
    statements = [make_statement(INITIALIZED, 0, launch), verdict, make_statement(TERMINATED, 2, launch)]
    assert problems(statements, [launch]) == [
        "statement 1 (failed): the masteryscore context extension is not the launch's 0.8 (§9.6.3.2)"
    ]


def test_the_moveon_category_goes_with_success_or_completion() -> None:
    launch = make_launch()
    completed = make_statement(COMPLETED, 1, launch, completion=True)
    completed["context"]["contextActivities"]["category"] = [{"id": CMI5_CATEGORY}]
    terminated = make_statement(TERMINATED, 2, launch)
    terminated["context"]["contextActivities"]["category"].append({"id": MOVEON_CATEGORY})
    statements = [make_statement(INITIALIZED, 0, launch), completed, terminated]
    assert problems(statements, [launch]) == [
        "statement 1 (completed): the moveOn category must be present (§9.6.2.2)",
        "statement 2 (terminated): the moveOn category must be absent (§9.6.2.2)",
    ]


@pytest.mark.parametrize("mode", ["Browse", "Review"])
def test_browse_and_review_launches_send_no_verdict(mode: str) -> None:
    launch = make_launch(mode=mode)
    statements = [
        make_statement(INITIALIZED, 0, launch),
        make_statement(COMPLETED, 1, launch, completion=True),
        make_statement(TERMINATED, 2, launch),
    ]
    assert problems(statements, [launch]) == [
        f"statement 1 (completed): sent in {mode} mode, which allows only initialized/terminated (§10.2.2)"
    ]


def test_identity_and_timestamp_are_checked() -> None:
    launch = make_launch()
    initialized = make_statement(INITIALIZED, 0, launch)
    initialized["id"] = "not-a-uuid"
    initialized["actor"] = {"objectType": "Agent", "mbox": "mailto:ada@example.org"}
    terminated = make_statement(TERMINATED, 1, launch)
    terminated["timestamp"] = "2026-11-28T10:00:01+01:00"
    found = problems([initialized, terminated], [launch])
    assert found == [
        "statement 0 (initialized): id 'not-a-uuid' is not a UUID (§9.1)",
        f"statement 0 (initialized): actor {initialized['actor']!r} is not the launch's agent with an account "
        f"{ACTOR!r} (§9.2)",
        "statement 1 (terminated): timestamp '2026-11-28T10:00:01+01:00' is not a UTC ISO 8601 time (§9.7)",
    ]
