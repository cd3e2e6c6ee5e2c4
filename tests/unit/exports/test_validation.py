"""Our checks catch planted mistakes, and agree with Learning Locker's validator where the spec is the rule."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from content import Module
from exports.xapi import problems
from tests import xapi_validator
from tests.xapi_validator import xapi_problems

from .builders import REGISTRATION, T0, WHERE, WHO, make_statements

Statement = dict[str, Any]


def _remove_actor(s: Statement) -> None:
    del s["actor"]


def _bad_uuid(s: Statement) -> None:
    s["id"] = "not-a-uuid"


def _naive_timestamp(s: Statement) -> None:
    s["timestamp"] = "2026-11-28T09:00:00"


def _version(s: Statement) -> None:
    s["version"] = "1.0.3"


def _scaled_above_one(s: Statement) -> None:
    s["result"]["score"]["scaled"] = 1.5


def _two_identifiers(s: Statement) -> None:
    s["actor"]["mbox"] = "mailto:ada@example.edu"


def _relative_verb(s: Statement) -> None:
    s["verb"]["id"] = "answered"


def _bad_registration(s: Statement) -> None:
    s["context"]["registration"] = "attempt-1"


def _extension_not_an_iri(s: Statement) -> None:
    s["result"]["extensions"]["revision"] = 1


def _raw_above_max(s: Statement) -> None:
    s["result"]["score"]["raw"] = 2


def _local_time(s: Statement) -> None:
    s["timestamp"] = "2026-11-28T10:00:00.000+01:00"


def _unknown_correct_response(s: Statement) -> None:
    s["object"]["definition"]["correctResponsesPattern"] = ["no-such-choice"]


def _success_as_text(s: Statement) -> None:
    s["result"]["success"] = "true"


def _bad_duration(s: Statement) -> None:
    s["result"]["duration"] = "12 minutes"


@dataclass(frozen=True)
class Mistake:
    plant: Callable[[Statement], None]
    problem: str  # what our check says about it
    forbidden_by_spec: bool  # xAPI 1.0.3 itself forbids it, so xapi-validation must flag it too (else our rule)


PLANTED = [
    Mistake(_remove_actor, "actor: is required", True),
    Mistake(_bad_uuid, "id: 'not-a-uuid' is not a lower-case RFC 4122 UUID", True),
    Mistake(_naive_timestamp, "timestamp: '2026-11-28T09:00:00' is not an ISO 8601 date and time with a zone", True),
    Mistake(_version, "version: must not be set", False),
    Mistake(_scaled_above_one, "result.score.scaled: 1.5 is outside -1..1", True),
    Mistake(_two_identifiers, "actor: must have exactly one identifier", True),
    Mistake(_relative_verb, "verb.id: 'answered' is not an absolute IRI", True),
    Mistake(_bad_registration, "context.registration: 'attempt-1' is not a lower-case RFC 4122 UUID", True),
    Mistake(_extension_not_an_iri, "result.extensions: the key 'revision' is not an IRI", True),
    Mistake(_raw_above_max, "result.score.raw: 2 is above max 1", True),
    Mistake(_local_time, "timestamp: '2026-11-28T10:00:00.000+01:00' is not in UTC", False),
    Mistake(_unknown_correct_response, "'no-such-choice' is not one of the choices", False),
    Mistake(_success_as_text, "result.success: must be true or false", True),
    Mistake(_bad_duration, "result.duration: '12 minutes' is not an ISO 8601 duration", True),
]


def _answer(module: Module) -> Statement:
    question = module.test.questions[0]
    statement = make_statements(module).answered(
        WHO, WHERE, REGISTRATION, "module-test", question.id, question.correct_option.id, True, 1, T0
    )
    statement["result"]["duration"] = "PT5S"  # gives the duration mistake a field to spoil
    return statement


def test_the_unspoiled_statement_is_valid(module: Module) -> None:
    assert problems(_answer(module)) == []
    assert xapi_problems([_answer(module)]) == [[]]


def _spoiled(module: Module, mistake: Mistake) -> Statement:
    statement = _answer(module)
    mistake.plant(statement)
    return statement


@pytest.mark.parametrize("mistake", PLANTED, ids=[m.plant.__name__.strip("_") for m in PLANTED])
def test_our_checks_catch_a_planted_mistake(module: Module, mistake: Mistake) -> None:
    found = problems(_spoiled(module, mistake))

    assert len(found) == 1, found
    assert mistake.problem in found[0]


def test_xapi_validation_agrees_on_every_mistake_the_spec_forbids(module: Module) -> None:
    verdicts = xapi_problems([_spoiled(module, mistake) for mistake in PLANTED])

    assert {m.plant.__name__: bool(found) for m, found in zip(PLANTED, verdicts, strict=True)} == {
        m.plant.__name__: m.forbidden_by_spec for m in PLANTED
    }


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("not a statement", ["statement: is not an object"]),
        ({"id": 1}, ["actor: is required", "verb: is required", "object: is required", "timestamp: is required"]),
    ],
)
def test_what_is_not_a_statement_at_all(statement: object, expected: list[str]) -> None:
    assert problems(statement)[: len(expected)] == expected


def test_unknown_properties_and_lrs_properties_are_named(module: Module) -> None:
    statement = _answer(module) | {"stored": "2026-11-28T09:00:01Z", "grade": "A"}

    assert problems(statement) == [
        "stored: must not be set by the statement's provider: the LRS sets it (xAPI 1.0.3 §2.4.8-10)",
        "grade: is not a statement property",
    ]


def test_minus_zero_is_not_utc(module: Module) -> None:
    statement = _answer(module) | {"timestamp": "2026-11-28T09:00:00-00:00"}

    assert problems(statement) == ["timestamp: '2026-11-28T09:00:00-00:00' is not in UTC (Z or +00:00)"]


def test_the_second_opinion_says_how_to_install_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(xapi_validator, "PACKAGE", tmp_path / "node_modules" / "xapi-validation")

    with pytest.raises(RuntimeError, match="run `npm ci`"):
        xapi_validator.xapi_problems([{}])
