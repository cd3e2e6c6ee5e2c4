"""The outbox's claim and the worker's record of outcomes, on the test database (SQLite, or PostgreSQL when asked):
one message per ordering key in order, outcomes stored as the channel reported them, and a claim whose cost does
not grow with the square of the backlog when the table's statistics are stale."""

import json
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, delete, event, insert, select, update

from lms_plugin.db import Database
from lms_plugin.models import OutboxMessage
from lms_plugin.outbox.backoff import Backoff
from lms_plugin.outbox.delivery import Dead, Delivered, Message, NotGradable, Outcome, Retry
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.outbox.worker import OutboxWorker
from tests.conftest import USE_POSTGRES, FrozenClock


def _enqueue(db: Database, clock: FrozenClock, *messages: tuple[str, str]) -> None:
    """(key, ordering key) pairs, queued in this order."""
    with db.transaction() as session:
        outbox = Outbox(session, clock.now())
        for key, ordering_key in messages:
            outbox.enqueue(
                key=key, channel="test", ordering_key=ordering_key, destination={}, payload={"k": key}, learner_id=None
            )


def _set(db: Database, key: str, **values: Any) -> None:
    with db.transaction() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.key == key).values(**values))


def _row(db: Database, key: str) -> OutboxMessage:
    with db.transaction() as session:
        found = session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    assert found is not None
    return found


def _claim(db: Database, clock: FrozenClock, limit: int) -> list[Message]:
    with db.transaction() as session:
        return Outbox(session, clock.now()).claim(limit)


def test_a_claim_looks_past_messages_that_wait_behind_an_older_one_of_their_key(
    db: Database, clock: FrozenClock
) -> None:
    _enqueue(db, clock, ("a1", "a"), ("a2", "a"), ("a3", "a"), ("a4", "a"), ("b1", "b"), ("a5", "a"), ("c1", "c"))
    _set(db, "a1", next_attempt_at=clock.now() + timedelta(minutes=5))  # backing off: a2… must wait for it

    claimed = _claim(db, clock, 2)

    assert [(m.key, m.channel, dict(m.payload)) for m in claimed] == [
        ("b1", "test", {"k": "b1"}),
        ("c1", "test", {"k": "c1"}),
    ]
    clock.advance(minutes=5)
    assert [m.key for m in _claim(db, clock, 10)] == ["a1", "b1", "c1"]
    _set(db, "a1", status=Status.DELIVERED)
    assert [m.key for m in _claim(db, clock, 10)] == ["a2", "b1", "c1"]


class ScriptedSender:
    """Answers each message by its key; with ``meanwhile``, changes the database while "sending" (as an erasure or
    a newer score can on SQLite, where the worker holds no rows while it sends)."""

    def __init__(self, outcomes: dict[str, Outcome], meanwhile: Any = None) -> None:
        self.outcomes = outcomes
        self.meanwhile = meanwhile
        self.batches: list[list[str]] = []

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        self.batches.append([m.key for m in messages])
        if self.meanwhile is not None:
            self.meanwhile()
        return [self.outcomes[m.key] for m in messages]


def test_the_worker_records_each_outcome_of_a_batch(db: Database, clock: FrozenClock) -> None:
    _enqueue(db, clock, ("ok1", "1"), ("later", "2"), ("soon", "3"), ("refused", "4"), ("teacher", "5"), ("ok2", "6"))
    _set(db, "soon", attempts=3)
    sender = ScriptedSender(
        {
            "ok1": Delivered(),
            "later": Retry("HTTP 503", after=timedelta(seconds=42)),
            "soon": Retry("HTTP 500"),
            "refused": Dead("HTTP 400: no verb"),
            "teacher": NotGradable("HTTP 403: not a student"),
            "ok2": Delivered(),
        }
    )
    worker = OutboxWorker(db, {"test": sender}, clock, name="w1", rng=random.Random(7))

    assert worker.run_once() == 6

    delivered = [_row(db, key) for key in ("ok1", "ok2")]
    assert {(r.status, r.delivered_at, r.delivered_by, r.attempts) for r in delivered} == {
        (Status.DELIVERED, clock.now(), "w1", 0)
    }
    later, soon = _row(db, "later"), _row(db, "soon")
    assert (later.status, later.attempts, later.last_error) == (Status.PENDING, 1, "HTTP 503")
    assert later.next_attempt_at == clock.now() + timedelta(seconds=42)
    assert (soon.status, soon.attempts, soon.last_error) == (Status.PENDING, 4, "HTTP 500")
    # The fourth failure: full jitter between half and all of 2 s × 2³.
    assert clock.now() + timedelta(seconds=8) <= soon.next_attempt_at <= clock.now() + timedelta(seconds=16)
    assert soon.next_attempt_at == clock.now() + Backoff().delay(4, random.Random(7))
    assert (_row(db, "refused").status, _row(db, "refused").last_error) == (Status.DEAD, "HTTP 400: no verb")
    assert (_row(db, "teacher").status, _row(db, "teacher").last_error) == (
        Status.NOT_GRADABLE,
        "HTTP 403: not a student",
    )
    assert worker.run_once() == 0  # nothing else is due


@pytest.mark.skipif(USE_POSTGRES, reason="row locks: on PostgreSQL nothing changes a claimed row while it is sent")
def test_what_changed_while_a_batch_was_sent_on_sqlite_is_kept_unless_it_was_delivered(
    db: Database, clock: FrozenClock
) -> None:
    _enqueue(db, clock, ("sent", "1"), ("failed", "2"), ("erased", "3"))

    def meanwhile() -> None:
        _set(db, "sent", status=Status.SUPERSEDED)
        _set(db, "failed", status=Status.SUPERSEDED)
        with db.transaction() as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.key == "erased"))

    sender = ScriptedSender({"sent": Delivered(), "failed": Retry("HTTP 503"), "erased": Delivered()}, meanwhile)
    OutboxWorker(db, {"test": sender}, clock, name="w1").run_once()

    assert (_row(db, "sent").status, _row(db, "sent").delivered_by) == (Status.DELIVERED, "w1")  # the LMS has it
    assert (_row(db, "failed").status, _row(db, "failed").attempts) == (Status.SUPERSEDED, 0)
    with db.transaction() as session:
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.key == "erased")) is None


@contextmanager
def _statements_run(db: Database) -> Iterator[list[tuple[str, Any]]]:
    ran: list[tuple[str, Any]] = []

    def seen(connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        ran.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield ran
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def _rows_examined(plan: dict[str, Any]) -> float:
    """Rows a plan node and its children produced or threw away, over all their loops."""
    loops = plan.get("Actual Loops", 1)
    here = sum(plan.get(field, 0) for field in ("Actual Rows", "Rows Removed by Filter", "Rows Removed by Join Filter"))
    return here * loops + sum(_rows_examined(child) for child in plan.get("Plans", []))


@pytest.mark.skipif(not USE_POSTGRES, reason="query plans: PostgreSQL's planner and statistics")
def test_a_claim_stays_proportionate_when_statistics_say_nothing_is_pending(db: Database, clock: FrozenClock) -> None:
    # The statistics are taken while every message is delivered; then a backlog builds up (an LRS outage) and is
    # released before autovacuum analyses the table again. A correlated NOT EXISTS was planned from those
    # statistics as a nested loop over every pending row for every pending row.
    backlog = 2000
    rows = [
        {
            "key": f"m{n}",
            "channel": "test",
            "ordering_key": f"m{n}",
            "destination": {},
            "payload": {"n": n},
            "learner_id": None,
            "status": Status.DELIVERED if n < backlog else Status.PENDING,
            "attempts": 0,
            "next_attempt_at": clock.now(),
            "created_at": clock.now(),
        }
        for n in range(2 * backlog)
    ]
    with db.transaction() as session:
        session.execute(insert(OutboxMessage), rows[:backlog])
    with db.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE outbox_messages")
        connection.commit()
    with db.transaction() as session:
        session.execute(insert(OutboxMessage), rows[backlog:])

    with _statements_run(db) as ran:
        claimed = _claim(db, clock, 100)

    assert [m.key for m in claimed] == [f"m{n}" for n in range(backlog, backlog + 100)]
    examined = 0.0
    with db.engine.connect() as connection:
        for statement, parameters in ran:
            if statement.lstrip().upper().startswith("SELECT"):
                result = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
                found = result.scalar_one()
                examined += _rows_examined((json.loads(found) if isinstance(found, str) else found)[0]["Plan"])
        connection.rollback()
    assert examined < 10 * backlog, f"the claim looked at {examined:g} rows for 100 messages"
