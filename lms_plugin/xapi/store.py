"""xAPI statements in the outbox (channel ``xapi``): queue one, count them, export them, send failed ones again.

A statement's outbox key is its id (a deterministic UUID): queuing it twice keeps one row, and the LRS keeps
one copy of a statement sent twice. Each statement is its own ordering key: statements need no order among
themselves, so a worker can take a hundred at once.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_plugin.models import OutboxMessage
from lms_plugin.outbox.store import Outbox, Status

CHANNEL = "xapi"
# What admins see and ask for, and the outbox states behind each word.
STATES: dict[str, tuple[str, ...]] = {
    "pending": (Status.PENDING,),
    "sent": (Status.DELIVERED,),
    "failed": (Status.DEAD,),
}


def queue_statement(
    outbox: Outbox, statement: Mapping[str, Any], platform_id: int | None, learner_id: int | None
) -> bool:
    """Queue a statement for the LRS of ``platform_id`` (resolved when it is sent); False when already queued."""
    return outbox.enqueue(
        key=str(statement["id"]),
        channel=CHANNEL,
        ordering_key=str(statement["id"]),
        destination={"platform_id": platform_id},
        payload=statement,
        learner_id=learner_id,
    )


@dataclass(frozen=True)
class XapiCounts:
    pending: int
    sent: int
    failed: int


class XapiStatements:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def counts(self) -> XapiCounts:
        found = Outbox(self.session, self.now).counts(CHANNEL)
        return XapiCounts(pending=found[Status.PENDING], sent=found[Status.DELIVERED], failed=found[Status.DEAD])

    def export(self, state: str | None = None) -> Iterator[dict[str, Any]]:
        """The stored statements, oldest first (all of them, or those in one of ``STATES``), read in chunks."""
        query = select(OutboxMessage.payload).where(OutboxMessage.channel == CHANNEL).order_by(OutboxMessage.id)
        if state is not None:
            query = query.where(OutboxMessage.status.in_(STATES[state]))
        for payload in self.session.scalars(query.execution_options(yield_per=500)):
            yield dict(payload)

    def resend_failed(self) -> int:
        """Queue every dead-lettered statement again, due now, its tries counted afresh; the number queued."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == CHANNEL, OutboxMessage.status == Status.DEAD)
            .values(status=Status.PENDING, next_attempt_at=self.now, attempts=0)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def release_waiting(self) -> int:
        """Make every waiting statement due now: an LRS was just configured, so those that waited for one go out
        without sitting out their backoff."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == CHANNEL,
                OutboxMessage.status == Status.PENDING,
                OutboxMessage.next_attempt_at > self.now,
            )
            .values(next_attempt_at=self.now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
