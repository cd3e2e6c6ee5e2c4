"""Outbox rows: enqueue in the caller's transaction, claim due rows in order, record outcomes."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

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

    def claim(self, limit: int) -> list[OutboxMessage]:
        """Due rows, oldest first, at most one per ordering key (its oldest pending), locked against other
        workers on PostgreSQL (``FOR UPDATE SKIP LOCKED``)."""
        older = aliased(OutboxMessage)
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == Status.PENDING,
                OutboxMessage.next_attempt_at <= self.now,
                ~exists().where(
                    and_(
                        older.ordering_key == OutboxMessage.ordering_key,
                        older.status == Status.PENDING,
                        older.id < OutboxMessage.id,
                    )
                ),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        return list(self.session.scalars(query))

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


def as_message(row: OutboxMessage) -> Message:
    return Message(
        id=row.id,
        key=row.key,
        channel=row.channel,
        destination=row.destination,
        payload=row.payload,
        attempts=row.attempts,
        trace_context=row.trace_context,
    )
