"""The lab chat with an OpenAI-compatible model behind it (a real server on loopback that speaks the
chat-completions API): the reply and its spans reach the student, a provider failure falls back to the tutor
with nothing lost, and the gradebook delivery joins the exchange's trace."""

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.db import Database
from lms_plugin.models import LabExchangeRow, LabTraceRow, OutboxMessage
from lms_plugin.telemetry import telemetry
from tests.conftest import FrozenClock
from tests.fake_llm import Failure, FakeLLM
from tests.lab_answers import SAMPLES

from .lti_support import launch_as, session_token
from .test_grades import _drain
from .test_labs import send

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture
def app_settings(fake_llm: FakeLLM) -> dict[str, Any]:
    return {"LLM_BASE_URL": fake_llm.base_url, "LLM_MODEL": "gpt-4o-mini", "LLM_TIMEOUT": 2, "LLM_MAX_RETRIES": 0}


@pytest.fixture
def token(client: FlaskClient, app: Flask) -> str:
    return session_token(launch_as(client, app, unit="lab-2"))


def _spans(db: Database) -> list[dict[str, Any]]:
    with db.transaction() as session:
        return list(session.scalars(select(LabTraceRow)).one().tree["spans"])


def test_the_models_reply_streams_to_the_student_with_its_figures_and_spans(
    client: FlaskClient, token: str, db: Database, fake_llm: FakeLLM
) -> None:
    fake_llm.reply("Start with ", "**tail sampling**", " in the Collector.", usage=(1000, 200))
    fake_llm.judge('{"rubric_hits": ["sampling-configuration"], "scenario_id": null, "substantive": true}')
    status, stream = send(client, token, "lab-2", "What sampling should we use at 5,000 requests an hour?")
    assert status == 200
    assert isinstance(stream, list)
    assert [data["text"] for name, data in stream if name == "delta"] == [
        "Start with ", "**tail sampling**", " in the Collector."
    ]  # fmt: skip
    done = stream[-1][1]
    assert "<strong>tail sampling</strong>" in done["html"]
    assert done["summary"]["Model"] == "gpt-4o-mini (openai)"
    # The reply (1000 in, 200 out) and the judge's call (the fake server reports 40 in, 12 out for it).
    assert done["summary"]["Tokens"] == "1040 in / 212 out"
    assert done["summary"]["Cost"] == "$0.000283"  # 1040 × $0.15/M + 212 × $0.60/M
    assert [r["ticked"] for r in done["rubric"]] == [False, True, False]
    with db.transaction() as session:
        row = session.scalars(select(LabExchangeRow)).one()
        assert (row.provider, row.input_tokens, row.output_tokens) == ("openai", 1040, 212)
        assert Decimal(str(row.cost)).quantize(Decimal("0.0000001")) == Decimal("0.0002832")
    spans = _spans(db)
    exchange = next(s for s in spans if s["name"] == "lab exchange lab-2")
    calls = [s for s in spans if s["name"] == "chat gpt-4o-mini"]
    assert len(calls) == 2  # the reply and the judge, both under the exchange
    assert all(c["parent_span_id"] == exchange["span_id"] and c["kind"] == "CLIENT" for c in calls)
    reply = next(c for c in calls if c["attributes"]["gen_ai.request.stream"])
    assert reply["attributes"]["gen_ai.conversation.id"] == row.attempt_id
    assert [e["name"] for e in reply["events"]] == ["tracebook.gen_ai.first_chunk"]


def test_a_provider_failure_falls_back_to_the_tutor_and_loses_nothing(
    client: FlaskClient, token: str, db: Database, fake_llm: FakeLLM
) -> None:
    fake_llm.fail(Failure.SERVER_ERROR)
    message = SAMPLES["lab-2"][0][1]
    status, stream = send(client, token, "lab-2", message)
    assert status == 200
    assert isinstance(stream, list)
    done = stream[-1][1]
    assert done["fallback"]
    assert "500" in done["fallback"]
    assert done["summary"]["Model"] == "scenario-tutor (tracebook)"
    assert [r["ticked"] for r in done["rubric"]] == [True, False, False]  # the tutor judged it
    with db.transaction() as session:
        row = session.scalars(select(LabExchangeRow)).one()
        assert row.status == "done"
        assert row.learner_message == message
        assert row.assistant_reply
    spans = {s["name"]: s for s in _spans(db)}
    assert spans["chat gpt-4o-mini"]["status"] == "ERROR"
    assert spans["chat gpt-4o-mini"]["attributes"]["error.type"] == "500"
    assert spans["chat scenario-tutor"]["status"] != "ERROR"
    page = client.get("/s/lab-2", query_string={"s": token}).get_data(as_text=True)
    assert "The AI model is unavailable right now, so the offline tutor answers instead." in page


def test_the_gradebook_delivery_continues_the_exchanges_trace(
    client: FlaskClient, app: Flask, token: str, db: Database, clock: FrozenClock, fake_llm: FakeLLM
) -> None:
    send(client, token, "lab-2", SAMPLES["lab-2"][0][1])
    with db.transaction() as session:
        queued = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "ags")).one()
        trace_id = session.scalars(select(LabTraceRow)).one().trace_id
    assert queued.trace_context is not None
    assert queued.trace_context.split("-")[1] == trace_id
    _drain(app, clock)
    with app.app_context():
        delivered = telemetry().collector.take(int(trace_id, 16))
    names = [span.name for span in delivered]
    assert "outbox deliver ags" in names
