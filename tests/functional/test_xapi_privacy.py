"""With the default settings, a learner's e-mail and what they write in a lab never leave the tool: not in the
outbox, not in the LRS, not in the spans it exports, not in its logs — only the LMS account and SHA-256 hashes."""

import hashlib
import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from lms_plugin.db import Database
from lms_plugin.models import OutboxMessage
from lms_plugin.telemetry import Telemetry
from tests.conftest import FrozenClock
from tests.lrs import Ralph

from .lti_support import launch_as, session_token
from .test_grades import _drain
from .test_labs import send

pytestmark = pytest.mark.usefixtures("live_server")
EMAIL = "marie.sklodowska.7731@sorbonne-example.fr"
MARKER = "zebra-quokka-5521"


@pytest.fixture
def app_settings(ralph: Ralph) -> dict[str, Any]:
    return {"LRS_ENDPOINT": ralph.endpoint, "LRS_USERNAME": ralph.username, "LRS_PASSWORD": ralph.password}


def test_the_email_and_lab_text_stay_in_the_tool(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, ralph: Ralph, caplog: pytest.LogCaptureFixture
) -> None:
    exported = InMemorySpanExporter()
    telemetry: Telemetry = app.extensions["tracebook.telemetry"]
    telemetry.provider.add_span_processor(SimpleSpanProcessor(exported))
    caplog.set_level(logging.DEBUG)
    message = f"My team tags every prompt with {MARKER} before it reaches the Collector; is that PII handling?"

    token = session_token(launch_as(client, app, unit="lab-2", email=EMAIL, name="Marie Sklodowska"))
    assert send(client, token, "lab-2", message)[0] == 200
    _drain(app, clock)

    with db.transaction() as session:
        outbox = json.dumps([[m.destination, m.payload] for m in session.scalars(select(OutboxMessage))])
    in_lrs = json.dumps(ralph.stored()) + "".join(p.read_text() for p in ralph.store.rglob("*") if p.is_file())
    spans = json.dumps([json.loads(span.to_json()) for span in exported.get_finished_spans()])
    logs = caplog.text
    assert exported.get_finished_spans()  # the spans were exported…
    assert '"interacted"' in in_lrs  # …and the exchange reached the LRS
    for place, text in {"outbox": outbox, "LRS": in_lrs, "spans": spans, "logs": logs}.items():
        assert EMAIL not in text, f"the e-mail reached the {place}"
        assert MARKER not in text, f"the lab message reached the {place}"
    assert hashlib.sha256(message.encode()).hexdigest() in in_lrs  # the statement carries the hash instead
