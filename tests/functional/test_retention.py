"""Retention with one-day periods and a clock moved on: the daily purge, run by the outbox workers once a day
across all of them, redacts the expired lab transcripts, deletes the expired span trees and the delivered or
superseded outbox rows — exactly those — and never touches newer rows or pending and failed ones."""

import logging
import threading
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from lms_plugin.db import Database
from lms_plugin.delivery import outbox_worker
from lms_plugin.models import (
    DeliveredStatement,
    LabAttemptRow,
    LabExchangeRow,
    LabTraceRow,
    MaintenanceRun,
    OutboxMessage,
)
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.outbox.worker import OutboxWorker
from lms_plugin.services.retention import REDACTED, DailyPurge, PurgeCounts, purge
from tests.conftest import USE_POSTGRES, FrozenClock

from .lti_support import launch_as, session_token
from .test_grades import _drain
from .test_labs import send

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture
def app_settings() -> dict[str, Any]:
    return {"RETENTION_LAB_TRANSCRIPT_DAYS": 1, "RETENTION_SPAN_DAYS": 1, "RETENTION_OUTBOX_DAYS": 1}


def _outbox_rows(db: Database, clock: FrozenClock, label: str, statuses: list[str]) -> None:
    """Outbox rows created now, in the given states (delivered ones delivered now)."""
    with db.transaction() as session:
        outbox = Outbox(session, clock.now())
        for status in statuses:
            key = f"{label}:{status}"
            outbox.enqueue(key=key, channel="xapi", ordering_key=key, destination={}, payload={}, learner_id=None)
        session.flush()
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(f"{label}:"))):
            row.status = row.key.split(":", 1)[1]
            row.delivered_at = clock.now() if row.status == Status.DELIVERED else None


def _state(db: Database) -> tuple[dict[int, str], set[int], set[str], datetime | None]:
    with db.transaction() as session:
        texts = {row.number: row.learner_message for row in session.scalars(select(LabExchangeRow))}
        traced = set(
            session.scalars(
                select(LabExchangeRow.number).join(LabTraceRow, LabTraceRow.exchange_id == LabExchangeRow.id)
            )
        )
        keys = set(session.scalars(select(OutboxMessage.key)))
        last_run = session.scalar(select(MaintenanceRun.last_run_at))
    return texts, traced, keys, last_run


def test_the_daily_purge_removes_exactly_the_expired_rows_once_a_day(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = session_token(launch_as(client, app, unit="lab-2"))
    for message in ("Our pipeline is FastAPI with the OpenAI SDK.", "We sample 10% of traces in production."):
        assert send(client, token, "lab-2", message)[0] == 200
    _drain(app, clock)  # the gradebook gets "started"; the statements wait (no LRS is configured)
    with db.transaction() as session:
        sent = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.status == Status.DELIVERED)))
    assert len(sent) == 1
    old = [Status.DELIVERED, Status.SUPERSEDED, Status.PENDING, Status.DEAD, Status.NOT_GRADABLE]
    _outbox_rows(db, clock, "day-0", old)
    clock.advance(hours=36)
    token = session_token(launch_as(client, app, unit="lab-2"))  # the first session has ended
    assert send(client, token, "lab-2", "Errors and slow traces must always be kept.")[0] == 200
    _outbox_rows(db, clock, "day-1.5", [Status.DELIVERED, Status.SUPERSEDED])
    clock.advance(hours=12)  # two days after the first rows: those of day 0 have expired, not those of day 1.5
    texts, traced, keys, _ = _state(db)
    assert (sorted(texts), traced) == ([1, 2, 3], {1, 2, 3})

    first = DailyPurge(db, clock, app.config["TRACEBOOK"].retention)
    assert first() == PurgeCounts(lab_transcripts=2, lab_traces=2, outbox_messages=3)
    after, traced_after, keys_after, last_run = _state(db)
    assert after == {1: REDACTED, 2: REDACTED, 3: texts[3]}
    assert traced_after == {3}
    assert keys - keys_after == {"day-0:delivered", "day-0:superseded", *sent}  # pending, dead, not gradable stay
    assert last_run == clock.now()
    assert "retention purge: 2 lab exchange(s) redacted, 2 span tree(s) and 3 outbox message(s) deleted" in caplog.text
    with db.transaction() as session:
        assert session.scalars(select(LabAttemptRow.completed_at)).one() is not None  # the lab stays done
    token = session_token(launch_as(client, app, unit="lab-2"))
    page = client.get("/s/lab-2", query_string={"s": token})
    assert page.status_code == 200
    assert REDACTED in page.get_data(as_text=True)

    # The same day, neither this worker nor another (the real wiring of `tracebook worker`) purges again.
    clock.advance(hours=23)
    assert first() is None
    outbox_worker(app).run_chores()
    assert _state(db) == (after, traced_after, keys_after, last_run)

    clock.advance(hours=1)  # a day after the last run: due again, and the rows of day 1.5 have expired now
    outbox_worker(app).run_chores()
    final, traced_final, keys_final, last_final = _state(db)
    assert final == {1: REDACTED, 2: REDACTED, 3: REDACTED}
    assert traced_final == set()
    assert keys_after - keys_final == {"day-1.5:delivered", "day-1.5:superseded"}
    assert {"day-0:pending", "day-0:dead", "day-0:not-gradable"} <= keys_final
    assert last_final == clock.now()
    assert first() is None  # another worker's run counts for this one too


def test_the_worker_loop_runs_its_chores_and_a_failing_one_stops_nothing(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    ran: list[datetime] = []

    def failing() -> None:
        raise RuntimeError("disk full")

    def stopping() -> None:
        ran.append(clock.now())
        stop.set()

    OutboxWorker(db, {}, clock, name="chores", chores=[failing, stopping]).run(stop, idle=0)
    assert ran == [clock.now()]
    assert "outbox worker chores: a periodic job failed" in caplog.text


def test_the_command_line_purges_now_and_says_what_it_removed(app: Flask, db: Database, clock: FrozenClock) -> None:
    _outbox_rows(db, clock, "old", [Status.DELIVERED, Status.PENDING])
    clock.advance(days=2)
    done = app.test_cli_runner().invoke(args=["retention", "purge"])
    assert done.exit_code == 0, done.output
    assert "0 lab exchange(s) redacted, 0 span tree(s) and 1 outbox message(s) deleted" in done.output
    assert _state(db)[2] == {"old:pending"}
    assert _state(db)[3] == clock.now()  # the workers' daily run counts it


def _deliver_statements(db: Database, clock: FrozenClock) -> set[tuple[str, int | None, int | None, datetime]]:
    """Mark the queued xAPI statements delivered now (no LRS here); what the purge must note of each."""
    with db.transaction() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "xapi")).all()
        for row in rows:
            row.status, row.delivered_at = Status.DELIVERED, clock.now()
        return {(row.key, row.learner_id, row.destination.get("platform_id"), clock.now()) for row in rows}


def _ledger(db: Database) -> set[tuple[str, int | None, int | None, datetime]]:
    with db.transaction() as session:
        return {
            (entry.statement_id, entry.learner_id, entry.platform_id, entry.delivered_at)
            for entry in session.scalars(select(DeliveredStatement))
        }


def test_a_learners_purged_statements_leave_their_ids_for_an_erasure_to_void(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock
) -> None:
    token = session_token(launch_as(client, app))
    assert client.get("/s/lesson-1", query_string={"s": token}).status_code == 200
    delivered = _deliver_statements(db, clock)
    assert delivered
    assert all(learner_id is not None for _, learner_id, _, _ in delivered)
    _outbox_rows(db, clock, "no-learner", [Status.DELIVERED])  # e.g. a voiding statement: nobody's
    clock.advance(days=2)
    purge = DailyPurge(db, clock, app.config["TRACEBOOK"].retention)
    counts = purge()
    assert counts is not None
    assert counts.outbox_messages == len(delivered) + 1
    assert _ledger(db) == delivered
    assert _state(db)[2] == set()

    # A statement queued again under the same id after its row went, delivered and purged again: still one entry.
    key, learner_id, _, _ = sorted(delivered)[0]
    with db.transaction() as session:
        Outbox(session, clock.now()).enqueue(
            key=key, channel="xapi", ordering_key=key, destination={}, payload={"id": key}, learner_id=learner_id
        )
    again = _deliver_statements(db, clock)
    clock.advance(days=2)
    assert purge() == PurgeCounts(lab_transcripts=0, lab_traces=0, outbox_messages=1)
    assert len(again) == 1
    assert _ledger(db) == delivered


@pytest.mark.skipif(not USE_POSTGRES, reason="row locks: SQLite has one writer at a time")
def test_the_purge_leaves_rows_another_transaction_holds_for_the_next_run(
    app: Flask, db: Database, clock: FrozenClock
) -> None:
    _outbox_rows(db, clock, "held", [Status.DELIVERED])
    _outbox_rows(db, clock, "free", [Status.DELIVERED])
    clock.advance(days=2)
    settings = app.config["TRACEBOOK"].retention
    with db.transaction() as holder:  # as an erasure holds a learner's rows until it deletes them
        holder.scalars(select(OutboxMessage).where(OutboxMessage.key == "held:delivered").with_for_update()).one()
        with db.transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail the test, not hang it
            assert purge(session, settings, clock.now()).outbox_messages == 1
        assert _state(db)[2] == {"held:delivered"}
    with db.transaction() as session:
        assert purge(session, settings, clock.now()).outbox_messages == 1
    assert _state(db)[2] == set()
