"""The outbox worker: claim due messages in order, hand them to their channel's sender, record what came of
each. On PostgreSQL any number of workers share the rows (``FOR UPDATE SKIP LOCKED``); on SQLite exactly one
runs at a time, whoever holds the lease row, however many web processes start one."""

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lms_plugin.clock import Clock
from lms_plugin.db import Database
from lms_plugin.models import OutboxMessage, WorkerLease
from lms_plugin.outbox.backoff import Backoff
from lms_plugin.outbox.delivery import Dead, Delivered, Message, NotGradable, Outcome, Retry, Sender
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.trace_context import context_of, link_to

log = logging.getLogger(__name__)
LEASE = "outbox"


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        name: str,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        batch_size: int = 100,
        lease_ttl: timedelta = timedelta(seconds=30),
        tracer: Tracer | None = None,
        chores: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.db = db
        self.senders = senders
        self.clock = clock
        self.name = name
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.batch_size = batch_size
        self.lease_ttl = lease_ttl
        self.tracer = tracer or trace.get_tracer(__name__)
        # Periodic jobs (the daily retention purge) that each decide cheaply whether they are due.
        self.chores = chores

    def _holds_lease(self, session: Session) -> bool:
        """Take or renew the SQLite lease, atomically: two workers racing for it cannot both win."""
        now = self.clock.now()
        expires_at = now + self.lease_ttl
        taken = session.execute(
            sqlite_insert(WorkerLease)
            .values(name=LEASE, holder=self.name, expires_at=expires_at)
            .on_conflict_do_nothing()
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            return True
        renewed = session.execute(
            update(WorkerLease)
            .where(WorkerLease.name == LEASE, or_(WorkerLease.holder == self.name, WorkerLease.expires_at <= now))
            .values(holder=self.name, expires_at=expires_at)
        )
        return bool(renewed.rowcount)  # type: ignore[attr-defined]

    def _record(self, session: Session, messages: list[Message], outcomes: dict[int, Outcome]) -> None:
        """Store what came of each message: the delivered ones in one statement, the rest (rare) one by one."""
        now = self.clock.now()
        # Delivered wins over whatever happened to the row meanwhile (on SQLite it was not held while sent).
        delivered = [m.id for m in messages if isinstance(outcomes[m.id], Delivered)]
        if delivered:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(delivered))
                .values(status=Status.DELIVERED, delivered_at=now, delivered_by=self.name, last_error=None)
                .execution_options(synchronize_session=False)
            )
        others = [m for m in messages if not isinstance(outcomes[m.id], Delivered)]
        if not others:
            return
        # Any other outcome applies only to a message still pending (not superseded or erased meanwhile); its
        # tries are counted from the row, which an admin may have reset.
        pending = session.execute(
            select(OutboxMessage.id, OutboxMessage.attempts).where(
                OutboxMessage.id.in_([m.id for m in others]), OutboxMessage.status == Status.PENDING
            )
        )
        attempts = dict(pending.all())
        for message in others:
            if message.id in attempts:
                changes = self._changes(message, outcomes[message.id], attempts[message.id], now)
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id)
                    .values(**changes)
                    .execution_options(synchronize_session=False)
                )

    def _changes(self, message: Message, outcome: Outcome, attempts: int, now: datetime) -> dict[str, object]:
        if isinstance(outcome, Retry):
            delay = outcome.after or self.backoff.delay(attempts + 1, self.rng)
            return {"attempts": attempts + 1, "last_error": outcome.reason, "next_attempt_at": now + delay}
        if isinstance(outcome, Dead):
            log.warning("outbox message %s dead-lettered: %s", message.key, outcome.reason)
            return {"status": Status.DEAD, "last_error": outcome.reason}
        assert isinstance(outcome, NotGradable)
        return {"status": Status.NOT_GRADABLE, "last_error": outcome.reason}

    def _send(self, messages: list[Message]) -> dict[int, Outcome]:
        by_channel: dict[str, list[Message]] = defaultdict(list)
        for message in messages:
            by_channel[message.channel].append(message)
        outcomes: dict[int, Outcome] = {}
        for channel, batch in by_channel.items():
            # One message continues the trace of the request that queued it; a batch links to each of theirs.
            # The senders' HTTP calls carry this span's traceparent to the LMS or LRS.
            parent = context_of(batch[0].trace_context) if len(batch) == 1 else None
            links = [link for link in (link_to(m.trace_context) for m in batch) if link is not None]
            with self.tracer.start_as_current_span(
                f"outbox deliver {channel}",
                context=parent,
                kind=SpanKind.CLIENT,
                links=links if len(batch) > 1 else None,
                attributes={"tracebook.outbox.channel": channel, "tracebook.outbox.batch_size": len(batch)},
            ):
                results = self._send_batch(channel, batch)
            outcomes.update({message.id: outcome for message, outcome in zip(batch, results, strict=True)})
        return outcomes

    def _send_batch(self, channel: str, batch: list[Message]) -> list[Outcome]:
        sender = self.senders.get(channel)
        if sender is None:
            return [Retry(f"no sender for channel {channel} in this worker")] * len(batch)
        try:
            return sender.send(batch)
        except Exception as error:  # a bug in a sender must not lose messages
            log.exception("outbox sender for %s failed", channel)
            return [Retry(f"{type(error).__name__}: {error}")] * len(batch)

    def run_once(self) -> int:
        """Deliver one batch; the number of messages handled (0 when nothing was due)."""
        if self.db.engine.dialect.name == "postgresql":
            # The claimed rows stay locked while they are sent: other workers skip them, nobody waits.
            with self.db.transaction() as session:
                messages = Outbox(session, self.clock.now()).claim(self.batch_size)
                self._record(session, messages, self._send(messages))
                return len(messages)
        # SQLite has one writer at a time: claim and record in short transactions and send in between, so
        # web requests are never blocked by a slow LMS. The lease makes this worker the only one.
        with self.db.transaction() as session:
            if not self._holds_lease(session):
                return 0
            messages = Outbox(session, self.clock.now()).claim(self.batch_size)
        outcomes = self._send(messages)
        with self.db.transaction() as session:
            self._record(session, messages, outcomes)
        return len(messages)

    def run_chores(self) -> None:
        for chore in self.chores:
            try:
                chore()
            except Exception:  # a failing chore must not stop deliveries
                log.exception("outbox worker %s: a periodic job failed", self.name)

    def run(self, stop: threading.Event, idle: float = 1.0) -> None:
        """Deliver until ``stop`` is set; when nothing is due, wait ``idle`` seconds (or until stopped)."""
        while not stop.is_set():
            self.run_chores()
            try:
                handled = self.run_once()
            except Exception:
                log.exception("outbox worker %s: batch failed; retrying", self.name)
                handled = 0
            if not handled:
                stop.wait(idle)
