"""The lab chat over HTTP with the offline tutor: streamed replies, the transcript kept, limits that refuse
without storing, the page without script, the student's own trace, and a lab placed on its own reaching the
gradebook once when complete."""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from labs.session import Limits
from lms_plugin.db import Database
from lms_plugin.models import LabAttemptRow, LabExchangeRow, LabTraceRow
from tests.conftest import FrozenClock

from .lti_support import launch_as, session_token
from .test_grades import _drain, _scores

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture
def app_settings() -> dict[str, Any]:
    return {"LAB_EXCHANGES_PER_HOUR": 6, "LAB_MAX_MESSAGE_CHARS": 400}


def events(body: str) -> list[tuple[str, Any]]:
    """Server-sent events as (name, data)."""
    found = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def send(client: FlaskClient, token: str, lab: str, message: str) -> tuple[int, list[tuple[str, Any]] | str]:
    response = client.post(
        f"/api/labs/{lab}/messages", json={"message": message}, headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code != 200:
        return response.status_code, response.get_json()["message"]
    assert response.mimetype == "text/event-stream"
    return 200, events(response.get_data(as_text=True))


def _count(db: Database, table: type) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


@pytest.fixture
def token(client: FlaskClient, app: Flask) -> str:
    return session_token(launch_as(client, app, unit="lab-2"))


def test_a_reply_streams_in_pieces_then_done_and_the_transcript_and_trace_are_kept(
    client: FlaskClient, token: str, db: Database
) -> None:
    page = client.get("/s/lab-2", query_string={"s": token}).get_data(as_text=True)
    assert "Let's design your LLM pipeline observability from scratch." in page
    assert "0 of 3 exchanges" in page
    assert "Chose a sampling setup that always keeps error and slow traces" in page

    status, stream = send(client, token, "lab-2", "Our pipeline is FastAPI with the OpenAI and Anthropic SDKs.")
    assert status == 200
    assert isinstance(stream, list)
    names = [name for name, _ in stream]
    assert names[0] == "started"
    assert names[-1] == "done"
    deltas = [data["text"] for name, data in stream if name == "delta"]
    assert len(deltas) > 5  # streamed in pieces, not one block
    done = stream[-1][1]
    assert done["number"] == 1
    assert done["summary"]["Model"] == "scenario-tutor (tracebook)"
    assert done["summary"]["Cost"] == "free (offline tutor)"
    assert "chat scenario-tutor" in done["trace"]  # the student's own span tree

    with db.transaction() as session:
        row = session.scalars(select(LabExchangeRow)).one()
        assert row.status == "done"
        assert row.assistant_reply == "".join(deltas)
        trace = session.scalars(select(LabTraceRow)).one()
        names_in_tree = {span["name"] for span in trace.tree["spans"]}
        assert {"lab exchange lab-2", "chat scenario-tutor"} <= names_in_tree

    page = client.get("/s/lab-2", query_string={"s": token}).get_data(as_text=True)
    assert "Our pipeline is FastAPI with the OpenAI and Anthropic SDKs." in page
    assert "Your trace" in page
    assert "gen_ai.provider.name" in page


def test_a_message_over_the_limit_is_refused_with_the_reason_and_nothing_is_stored(
    client: FlaskClient, token: str, db: Database
) -> None:
    status, reason = send(client, token, "lab-2", "x" * 401)
    assert status == 400
    assert reason == "Your message has 401 characters; the lab takes at most 400. Shorten it and send it again."
    status, reason = send(client, token, "lab-2", "   ")
    assert (status, reason) == (400, "Write a message first: an empty message cannot be sent.")
    assert _count(db, LabExchangeRow) == 0
    bad = client.post("/api/labs/lab-2/messages", data="nope", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400
    assert _count(db, LabExchangeRow) == 0


def test_the_hourly_limit_refuses_the_next_message_until_an_hour_has_passed(
    client: FlaskClient, token: str, db: Database, clock: FrozenClock
) -> None:
    for n in range(6):
        assert send(client, token, "lab-2", f"Message number {n} about sampling with a tail sampler.")[0] == 200
        clock.advance(minutes=1)
    status, reason = send(client, token, "lab-2", "One more about PII redaction in the collector.")
    assert status == 429
    assert "6 messages in the last hour" in str(reason)
    assert _count(db, LabExchangeRow) == 6
    clock.advance(minutes=55)
    assert send(client, token, "lab-2", "One more about PII redaction in the collector.")[0] == 200


def test_the_token_budget_refuses_messages_once_spent(
    client: FlaskClient, app: Flask, token: str, db: Database, clock: FrozenClock
) -> None:
    lab_runtime = app.extensions["tracebook.labs"]
    app.extensions["tracebook.labs"] = dataclasses.replace(lab_runtime, limits=Limits(tokens_per_lab=1000))
    sent = 0
    while (result := send(client, token, "lab-2", f"Message {sent}: how should the Collector redact PII?"))[0] == 200:
        sent += 1
        clock.advance(minutes=10)
        assert sent < 20, "the budget never ran out"
    status, reason = result
    assert status == 429
    assert "tokens, its whole budget" in str(reason)
    with db.transaction() as session:
        used = sum((r.input_tokens or 0) + (r.output_tokens or 0) for r in session.scalars(select(LabExchangeRow)))
    assert used >= 1000
    assert _count(db, LabExchangeRow) == sent  # the refused message was not stored


def test_without_script_the_form_posts_and_the_page_returns_with_the_reply(
    client: FlaskClient, token: str, db: Database
) -> None:
    response = client.post("/s/labs/lab-2/messages", data={"s": token, "message": "Which library should I pick?"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("#exchange-1")
    page = client.get(response.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert "Which library should I pick?" in page
    assert 'id="trace-1"' in page
    refused = client.post("/s/labs/lab-2/messages", data={"s": token, "message": "y" * 401})
    assert refused.status_code == 400
    assert "the lab takes at most 400" in refused.get_data(as_text=True)
    assert "y" * 401 in refused.get_data(as_text=True)  # the draft is kept in the form


def test_a_reply_cut_off_mid_stream_is_still_stored(client: FlaskClient, token: str, db: Database) -> None:
    response = client.post(
        "/api/labs/lab-2/messages", json={"message": "Tell me about tail sampling."},
        headers={"Authorization": f"Bearer {token}"}, buffered=False,
    )  # fmt: skip
    body = iter(response.response)
    next(body)  # the browser reads the first event, then goes away
    response.close()
    with db.transaction() as session:
        row = session.scalars(select(LabExchangeRow)).one()
        assert row.status == "done"
        assert row.assistant_reply


def test_a_lab_placed_on_its_own_reports_complete_once(
    client: FlaskClient, app: Flask, token: str, db: Database, clock: FrozenClock
) -> None:
    messages = [
        "We use FastAPI with the OpenAI SDK and the Anthropic SDK, so I would install "
        "opentelemetry-instrumentation-openai and opentelemetry-instrumentation-anthropic because they follow "
        "the GenAI semantic conventions.",
        "For sampling I would use tail-based sampling in the OTel Collector: keep every trace with an ERROR span "
        "and every trace above the P99 latency, plus 10% of the successful ones as a baseline.",
        "For PII I would redact or hash the prompt attributes in the Collector before spans leave our "
        "infrastructure, so no raw prompts reach the backend.",
        "Finally, both providers land in one trace and I can tell them apart by the provider attribute.",
    ]
    for text in messages[:2]:
        assert send(client, token, "lab-2", text)[0] == 200
    _drain(app, clock)
    assert [(score, progress) for _, _, score, progress in _scores(db)] == [(None, "NotReady")]  # Started
    status, stream = send(client, token, "lab-2", messages[2])
    assert status == 200
    assert isinstance(stream, list)
    assert stream[-1][1]["complete"]
    assert stream[-1][1]["completed_now"]
    assert send(client, token, "lab-2", messages[3])[0] == 200
    _drain(app, clock)
    scores = _scores(db)
    # The emulator keeps every score posted: Started once, then 1 of 1 once — the fourth exchange sent nothing.
    assert [(score, progress) for _, _, score, progress in scores] == [(None, "NotReady"), (1.0, "FullyGraded")]
    with db.transaction() as session:
        attempt = session.scalars(select(LabAttemptRow)).one()
        assert attempt.completed_at is not None
    page = client.get("/s/module", query_string={"s": token}).get_data(as_text=True)
    assert "Complete" in page


def test_instructors_see_each_students_lab_use_and_the_total(
    client: FlaskClient, app: Flask, token: str, db: Database
) -> None:
    for text in ("Which library covers both OpenAI and Anthropic?", "How should I sample errors and slow traces?"):
        assert send(client, token, "lab-2", text)[0] == 200
    with db.transaction() as session:
        rows = session.scalars(select(LabExchangeRow)).all()
        tokens_in = sum(r.input_tokens or 0 for r in rows)
        tokens_out = sum(r.output_tokens or 0 for r in rows)
    instructor = session_token(launch_as(client, app, person="alan", unit="lab-2"))
    page = client.get("/instructor/", query_string={"s": instructor}).get_data(as_text=True)
    labs = page.split('id="labs-heading"', 1)[1].split("</section>", 1)[0]
    assert (
        f'<th scope="row">Ada Learner</th><td>0 of 4</td><td>2</td><td>{tokens_in:,}</td><td>{tokens_out:,}</td>'
        in labs
    )
    assert '<th scope="row">Total</th><td>0</td><td>2</td>' in labs
    assert "0.0000" in labs  # the offline tutor costs nothing


class _BrokenModel:
    """A model with a bug: it says a little, then raises something no fallback expects."""

    provider, model = "tracebook", "broken"

    def stream(self, request: object) -> Iterator[str]:
        yield "Let me look at "
        raise KeyError("choices")


def test_a_reply_that_fails_says_so_keeps_the_message_and_lets_the_learner_send_again(
    client: FlaskClient, app: Flask, token: str, db: Database
) -> None:
    lab_runtime = app.extensions["tracebook.labs"]
    app.extensions["tracebook.labs"] = dataclasses.replace(lab_runtime, model=_BrokenModel())
    status, stream = send(client, token, "lab-2", "How do I sample errors?")
    assert status == 200
    assert isinstance(stream, list)
    assert [name for name, _ in stream] == ["started", "delta", "error"]
    assert "Your message is kept in the transcript: send it again." in stream[-1][1]["message"]
    with db.transaction() as session:
        row = session.scalars(select(LabExchangeRow)).one()
        assert (row.status, row.learner_message) == ("interrupted", "How do I sample errors?")
    page = client.get("/s/lab-2", query_string={"s": token}).get_data(as_text=True)
    assert "No reply was recorded for this message" in page
    app.extensions["tracebook.labs"] = lab_runtime
    assert send(client, token, "lab-2", "How do I sample errors?")[0] == 200  # not locked out


def test_the_page_without_script_shows_a_whole_trace_with_no_missing_parent(
    client: FlaskClient, token: str, db: Database
) -> None:
    client.post("/s/labs/lab-2/messages", data={"s": token, "message": "Which library should I pick?"})
    page = client.get("/s/lab-2", query_string={"s": token}).get_data(as_text=True)
    assert "lab exchange lab-2" in page
    assert "parent that is not in this trace" not in page
