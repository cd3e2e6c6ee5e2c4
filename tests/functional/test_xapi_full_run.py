"""A student's whole run through the module, from the LMS launch to the second module-test attempt, leaves in
a real LRS (Ralph) exactly the statements of a hand-written list: each one valid for our own checks and for the
npm package xapi-validation, each retrievable by its id, none twice."""

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from content import Module
from exports.xapi import problems
from lms_plugin.db import Database
from lms_plugin.models import OutboxMessage
from tests.conftest import FrozenClock
from tests.lrs import Ralph
from tests.xapi_validator import xapi_problems

from .lti_support import launch_as, session_token
from .student_run import full_run
from .test_grades import _drain

pytestmark = pytest.mark.usefixtures("live_server")
EXPECTED = Path(__file__).with_name("fixtures") / "full_run_statements.txt"
MODULE_IRI = "/modules/tracing-llm-calls"


@pytest.fixture
def app_settings(ralph: Ralph) -> dict[str, Any]:
    return {"LRS_ENDPOINT": ralph.endpoint, "LRS_USERNAME": ralph.username, "LRS_PASSWORD": ralph.password}


def _expected() -> Counter[str]:
    lines = [line.strip() for line in EXPECTED.read_text(encoding="utf-8").splitlines()]
    return Counter(line for line in lines if line and not line.startswith("#"))


def _line(statement: dict[str, Any], fields: list[str]) -> str:
    """The statement as a line of the expected list, with the result fields that line names."""
    verb = statement["verb"]["display"]["en-US"]
    activity = statement["object"]["id"].split(MODULE_IRI, 1)[1].lstrip("/") or "module"
    result = statement.get("result", {})
    values = {
        "success": result.get("success"),
        **{key: result.get("score", {}).get(key) for key in ("raw", "min", "max", "scaled")},
    }
    shown = []
    for field in fields:
        value = values[field]
        text = str(value).lower() if isinstance(value, bool) else f"{value:.4g}" if isinstance(value, float) else value
        shown.append(f"{field}={text}")
    return " ".join([verb, activity, *shown])


def test_a_full_run_leaves_exactly_the_expected_statements_in_the_lrs(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    token = session_token(launch_as(client, app))
    full_run(client, token, db, clock, module)
    _drain(app, clock)

    stored = ralph.stored()
    expected = _expected()
    # Which result fields the list names for each verb and activity (every line of one pair names the same).
    named = {" ".join(line.split(" ")[:2]): [p.split("=")[0] for p in line.split(" ")[2:]] for line in expected}
    found = Counter(_line(s, named.get(" ".join(_line(s, []).split(" ")[:2]), [])) for s in stored)
    assert found == expected

    ids = [s["id"] for s in stored]
    assert len(ids) == len(set(ids)) == sum(expected.values())  # none twice
    assert all(ralph.statement(statement_id) is not None for statement_id in ids)
    # What the tool emitted (the LRS adds stored, authority and version to what it returns) is valid for both.
    with db.transaction() as session:
        emitted = list(session.scalars(select(OutboxMessage.payload).where(OutboxMessage.channel == "xapi")))
    assert sorted(s["id"] for s in emitted) == sorted(ids)
    assert [problems(s) for s in emitted] == [[] for _ in emitted]
    assert xapi_problems(emitted) == [[] for _ in emitted]
