"""Outbox rows: enqueue in the caller's transaction, claim due rows in order, record outcomes."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lms_plugin.models import OutboxMessage
from lms_plugin.outbox.delivery import Message
from lms_plugin.trace_context import current_traceparent


class Status:
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    SUPERSEDED = "superseded"
    NOT_GRADABLE = "not-gradable"


class Outbox:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def enqueue(
        self,
        *,
        key: str,
        channel: str,
        ordering_key: str,
        destination: Mapping[str, Any],
        payload: Mapping[str, Any],
        learner_id: int | None,
        supersede: bool = False,
    ) -> bool:
        """Add a message (once per key); with ``supersede``, undelivered older messages of its ordering key are
        replaced by it. False when the key was already queued."""
        if self.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
            return False
        if supersede:
            self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.ordering_key == ordering_key, OutboxMessage.status == Status.PENDING)
                .values(status=Status.SUPERSEDED)
            )
        self.session.add(
            OutboxMessage(
                key=key,
                channel=channel,
                ordering_key=ordering_key,
                destination=dict(destination),
                payload=dict(payload),
                learner_id=learner_id,
                status=Status.PENDING,
                attempts=0,
                next_attempt_at=self.now,
                created_at=self.now,
                trace_context=current_traceparent(),
            )
        )
        return True

    def claim(self, limit: int) -> list[Message]:
        """Due messages, oldest first, at most one per ordering key (its oldest pending), locked against other
        workers on PostgreSQL (``FOR UPDATE SKIP LOCKED``) until the transaction ends.

        Small queries instead of one with a correlated ``NOT EXISTS``: planned from stale statistics (a backlog
        built up since the table's last ANALYZE), that one became a nested loop over every pending row for every
        pending row, seconds per claim. Here no query pairs pending rows with pending rows: at worst one reads
        the pending rows' ids once."""
        locking = self.session.get_bind().dialect.name == "postgresql"
        claimable: list[int] = []
        after = 0
        while len(claimable) < limit:
            wanted = limit - len(claimable)
            due = (
                select(OutboxMessage.id, OutboxMessage.ordering_key)
                .where(
                    OutboxMessage.status == Status.PENDING,
                    OutboxMessage.next_attempt_at <= self.now,
                    OutboxMessage.id > after,
                )
                .order_by(OutboxMessage.id)
                .limit(wanted)
            )
            if locking:
                due = due.with_for_update(skip_locked=True)
            page = self.session.execute(due).all()
            if not page:
                break
            oldest = self._oldest_pending({key for _, key in page})
            claimable += [message_id for message_id, key in page if oldest.get(key) == message_id]
            if len(page) < wanted:
                break
            # Some of this page wait behind older messages of their keys: later due ones may not.
            after = page[-1].id
        return self._messages(claimable)

    def _oldest_pending(self, ordering_keys: set[str]) -> dict[str, int]:
        """The id of the oldest pending message of each key, due or not, held by another worker or not."""
        # Status is an aggregate filter, not a WHERE condition, so the only way in is the ordering-key index: a
        # plan through the status index would visit every pending row.
        rows = self.session.execute(
            select(
                OutboxMessage.ordering_key, func.min(OutboxMessage.id).filter(OutboxMessage.status == Status.PENDING)
            )
            .where(OutboxMessage.ordering_key.in_(ordering_keys))
            .group_by(OutboxMessage.ordering_key)
        )
        return {str(key): int(oldest) for key, oldest in rows if oldest is not None}

    def _messages(self, ids: list[int]) -> list[Message]:
        if not ids:
            return []
        rows = self.session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.key,
                OutboxMessage.channel,
                OutboxMessage.destination,
                OutboxMessage.payload,
                OutboxMessage.attempts,
                OutboxMessage.trace_context,
            )
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.id)
        )
        return [
            Message(
                id=row.id,
                key=row.key,
                channel=row.channel,
                destination=row.destination,
                payload=row.payload,
                attempts=row.attempts,
                trace_context=row.trace_context,
            )
            for row in rows
        ]

    def counts(self, channel: str | None = None) -> dict[str, int]:
        query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if channel is not None:
            query = query.where(OutboxMessage.channel == channel)
        found = {str(status): int(n) for status, n in self.session.execute(query)}
        statuses = (Status.PENDING, Status.DELIVERED, Status.DEAD, Status.SUPERSEDED, Status.NOT_GRADABLE)
        return {status: found.get(status, 0) for status in statuses}

    def resend(self, message_ids: list[int]) -> int:
        """Put dead-lettered (or not-gradable) messages back in the queue, due now."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status.in_([Status.DEAD, Status.NOT_GRADABLE]))
            .values(status=Status.PENDING, next_attempt_at=self.now, attempts=0)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
