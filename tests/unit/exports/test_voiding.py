"""Voiding statements (xAPI 1.0.3 §2.3.2): the voided statement by reference, the tool as the actor, an id
derived from the voided id alone."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from exports.xapi.voiding import voiding_statement, voiding_statement_id

VOIDED = "0b7e2f43-8a1c-5d6e-9f01-23456789abcd"
AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))


def test_a_voiding_statement_refers_to_the_statement_and_names_only_the_tool() -> None:
    statement = voiding_statement(VOIDED, "https://tool.example.edu", AT)
    assert statement == {
        "id": voiding_statement_id(VOIDED),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://tool.example.edu", "name": "tracebook"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": VOIDED},
        "timestamp": "2026-03-01T07:30:15.123Z",
    }


def test_the_id_is_the_same_for_the_same_statement_and_differs_for_another() -> None:
    later = voiding_statement(VOIDED, "https://tool.example.edu", AT + timedelta(days=3))
    assert later["id"] == voiding_statement(VOIDED, "https://tool.example.edu", AT)["id"]
    assert voiding_statement_id(VOIDED) != voiding_statement_id(VOIDED.replace("0b7e", "1b7e"))
    assert voiding_statement_id(VOIDED) != VOIDED


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="has no zone"):
        voiding_statement(VOIDED, "https://tool.example.edu", AT.replace(tzinfo=None))
    assert voiding_statement(VOIDED, "https://tool.example.edu", AT.astimezone(UTC))["timestamp"].endswith("Z")
