"""Retention: learner data the tool keeps only for review is removed when its period ends (TRACEBOOK_RETENTION_*),
by the outbox workers once a day — whichever worker gets there first (table ``maintenance_runs``).

- **Lab transcripts** (``lab_transcript_days``, by the reply's time, or the message's when there was no reply):
  the text of the message and the reply is replaced by ``REDACTED`` and the provider's response id cleared; the
  exchange row stays, with its time, tokens, cost and the rubric items it ticked. Deleting it would renumber the
  learner's later turns (xAPI statement ids are derived from the turn: a reused id is a conflict in the LRS),
  take the lab's spend off the instructor's dashboard, and untick a lab the learner has not finished. The lab
  attempt (started, completed) holds no text and is progress, so it stays too.
- **Spans** (``span_days``): the ``lab_traces`` rows, and with them those of transcripts removed above (spans may
  carry the text when content capture is on).
- **Outbox** (``outbox_days``): delivered messages by their delivery time, superseded ones by their creation
  time. Pending and failed ones (dead, not gradable) are never removed: they are work not yet done. A learner's
  delivered xAPI statement leaves its id behind in ``delivered_statements`` (with the LRS it went to and when):
  the LRS keeps the statement, and an erasure must still void it there.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lms_plugin.clock import Clock
from lms_plugin.config import RetentionSettings
from lms_plugin.db import Database
from lms_plugin.models import DeliveredStatement, LabExchangeRow, LabTraceRow, MaintenanceRun, OutboxMessage
from lms_plugin.outbox.store import Status
from lms_plugin.xapi.store import CHANNEL as XAPI

log = logging.getLogger(__name__)

JOB = "retention-purge"
PERIOD = timedelta(days=1)
RETRY_AFTER_FAILURE = timedelta(hours=1)
REDACTED = "[removed after the retention period]"
LEDGER_CHUNK = 500  # rows per INSERT: well below SQLite's limit on bound parameters


@dataclass(frozen=True)
class PurgeCounts:
    lab_transcripts: int  # exchanges whose text was removed
    lab_traces: int
    outbox_messages: int

    def __str__(self) -> str:
        return (
            f"{self.lab_transcripts} lab exchange(s) redacted, {self.lab_traces} span tree(s) and "
            f"{self.outbox_messages} outbox message(s) deleted"
        )


def purge(session: Session, settings: RetentionSettings, now: datetime) -> PurgeCounts:
    """Remove what has outlived its period, in the caller's transaction."""
    redacted = session.execute(
        update(LabExchangeRow)
        .where(
            func.coalesce(LabExchangeRow.replied_at, LabExchangeRow.sent_at)
            < now - timedelta(days=settings.lab_transcript_days),
            LabExchangeRow.learner_message != REDACTED,
        )
        .values(
            learner_message=REDACTED,
            # A message that never got its reply keeps none.
            assistant_reply=case((LabExchangeRow.assistant_reply.is_(None), None), else_=REDACTED),
            response_id=None,
        )
    ).rowcount  # type: ignore[attr-defined]
    redacted_exchanges = select(LabExchangeRow.id).where(LabExchangeRow.learner_message == REDACTED)
    traces = session.execute(
        delete(LabTraceRow).where(
            or_(
                LabTraceRow.created_at < now - timedelta(days=settings.span_days),
                LabTraceRow.exchange_id.in_(redacted_exchanges),
            )
        )
    ).rowcount  # type: ignore[attr-defined]
    outbox_before = now - timedelta(days=settings.outbox_days)
    # Rows another transaction holds are left for the next run (PostgreSQL): an erasure locks a learner's rows
    # in id order before deleting them, and waiting for it while it waits for rows deleted here would deadlock.
    expired = (
        select(OutboxMessage.id)
        .where(
            or_(
                and_(OutboxMessage.status == Status.DELIVERED, OutboxMessage.delivered_at < outbox_before),
                and_(OutboxMessage.status == Status.SUPERSEDED, OutboxMessage.created_at < outbox_before),
            )
        )
        .with_for_update(skip_locked=True)
    )
    statements = session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.id.in_(
                expired.where(
                    OutboxMessage.channel == XAPI,
                    OutboxMessage.status == Status.DELIVERED,
                    OutboxMessage.learner_id.is_not(None),
                )
            )
        )
        .returning(OutboxMessage.key, OutboxMessage.learner_id, OutboxMessage.destination, OutboxMessage.delivered_at)
        .execution_options(synchronize_session=False)
    ).all()
    others = session.execute(
        delete(OutboxMessage).where(OutboxMessage.id.in_(expired)).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    _keep_for_voiding(session, statements)
    return PurgeCounts(int(redacted or 0), int(traces or 0), len(statements) + int(others or 0))


def _keep_for_voiding(session: Session, statements: Sequence[Any]) -> None:
    """Note which statements of which learner each LRS accepted (once each: a purge may run again)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "statement_id": key,
            "learner_id": learner_id,
            "platform_id": destination.get("platform_id"),
            "delivered_at": delivered_at,
        }
        for key, learner_id, destination, delivered_at in statements
    ]
    for start in range(0, len(rows), LEDGER_CHUNK):
        session.execute(
            insert(DeliveredStatement)
            .values(rows[start : start + LEDGER_CHUNK])
            .on_conflict_do_nothing(index_elements=[DeliveredStatement.statement_id])
        )


def record_run(session: Session, now: datetime, *, only_if_due: bool) -> bool:
    """Note that the purge runs now; with ``only_if_due``, only if it has not run in the last ``PERIOD``. Atomic
    (an upsert with a condition): of two workers asking at once, one gets True. On PostgreSQL the loser waits
    for the winner's transaction and then sees its time."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(MaintenanceRun).values(name=JOB, last_run_at=now)
    written = session.execute(
        statement.on_conflict_do_update(
            index_elements=[MaintenanceRun.name],
            set_={"last_run_at": now},
            where=(MaintenanceRun.last_run_at <= now - PERIOD) if only_if_due else None,
        ).returning(MaintenanceRun.name)  # rowcount is not reliable for an upsert on every driver
    )
    return written.first() is not None


class DailyPurge:
    """The outbox worker's daily chore. Between runs it asks the database at most once per ``PERIOD`` (it keeps
    the next due time in memory), so an idle worker's loop adds no writes."""

    def __init__(self, db: Database, clock: Clock, settings: RetentionSettings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.next_check: datetime | None = None

    def __call__(self) -> PurgeCounts | None:
        """Purge if due; the counts, or None when it was not this worker's turn."""
        now = self.clock.now()
        if self.next_check is not None and now < self.next_check:
            return None
        # Set first: a failing purge is tried again in an hour, not on every turn of the worker's loop.
        self.next_check = now + RETRY_AFTER_FAILURE
        with self.db.transaction() as session:
            if not record_run(session, now, only_if_due=True):
                last = session.scalar(select(MaintenanceRun.last_run_at).where(MaintenanceRun.name == JOB))
                self.next_check = (last or now) + PERIOD
                return None
            counts = purge(session, self.settings, now)
        self.next_check = now + PERIOD
        log.info("retention purge: %s", counts)
        return counts
