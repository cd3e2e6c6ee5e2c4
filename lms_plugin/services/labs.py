"""A learner's lab: their attempt, the transcript, and one exchange run end to end.

An exchange is three steps so the model call holds no database transaction: ``begin`` checks the limits and
stores the learner's message (status ``pending``) in its own transaction; the model streams its reply with no
transaction open; ``finish`` stores the reply, what the judge made of it, the span tree and — when this
exchange completed the lab — the completion and its gradebook message, in one transaction.
"""

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, StatusCode, Tracer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from content import Lab, Module
from labs.chat import ChatModel, ChatRecord, ChatRequest
from labs.errors import ReplyPendingError
from labs.session import Exchange, LabSession, Limits, check_message, progress, record_exchange
from labs.tracing import COST, SpanCollector, span_tree
from lms_plugin.clock import Clock
from lms_plugin.db import Database
from lms_plugin.models import LabAttemptRow, LabExchangeRow, LabTraceRow
from lms_plugin.services.records import RecordKey

PENDING, DONE, INTERRUPTED = "pending", "done", "interrupted"
OPERATION, PROVIDER = "gen_ai.operation.name", "gen_ai.provider.name"
INPUT_TOKENS, OUTPUT_TOKENS = "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"
TTFT = "gen_ai.response.time_to_first_chunk"


class LabEvents(Protocol):
    """Who else must hear of a lab exchange, in its transaction (the gradebook sync, the xAPI statements)."""

    def lab_started(self, lab: Lab, attempt_id: str) -> None: ...

    def lab_exchange(self, lab: Lab, attempt_id: str, turn: int, row: LabExchangeRow) -> None: ...

    def lab_completed(self, lab: Lab, attempt_id: str) -> None: ...


@dataclass(frozen=True)
class LabState:
    """What the lab page shows: the transcript, the checklist and how far the learner is."""

    lab: Lab
    attempt_id: str
    exchanges: tuple[LabExchangeRow, ...]
    traces: dict[int, dict[str, Any]]  # exchange row id → span tree
    session: LabSession

    @property
    def ticked(self) -> frozenset[str]:
        return self.session.rubric_ticked

    @property
    def progress(self) -> int:
        return min(progress(self.session, self.lab), self.lab.completion.count)

    @property
    def complete(self) -> bool:
        return self.session.is_complete


@dataclass(frozen=True)
class Started:
    """A stored learner message, ready for the model."""

    exchange_id: int
    request: ChatRequest


@dataclass(frozen=True)
class Finished:
    exchange: LabExchangeRow
    tree: dict[str, Any] | None
    state: LabState
    completed_now: bool


def _exchange(row: LabExchangeRow, number: int) -> Exchange:
    return Exchange(
        number=number,
        learner_message=row.learner_message,
        assistant_reply=row.assistant_reply or "",
        at=row.sent_at,
        scenario_id=row.scenario_id,
        rubric_hits=frozenset(row.rubric_hits),
        substantive=row.substantive,
        state=row.state,
        input_tokens=row.input_tokens or 0,
        output_tokens=row.output_tokens or 0,
    )


def _session_of(attempt: LabAttemptRow, rows: list[LabExchangeRow]) -> LabSession:
    done = [row for row in rows if row.status == DONE]
    exchanges = tuple(_exchange(row, number) for number, row in enumerate(done, start=1))
    return LabSession(attempt.lab_id, attempt.id, attempt.started_at, exchanges, attempt.completed_at)


class LabService:
    def __init__(self, session: Session, module: Module, clock: Clock) -> None:
        self.session = session
        self.module = module
        self.clock = clock

    def lab(self, lab_id: str) -> Lab:
        lab = self.module.lab(lab_id)
        if lab is None:
            raise LookupError(f"There is no lab '{lab_id}' in this module.")
        return lab

    def _attempt(self, record: RecordKey, lab: Lab) -> LabAttemptRow:
        query = select(LabAttemptRow).where(LabAttemptRow.record_id == record.id, LabAttemptRow.lab_id == lab.id)
        attempt = self.session.scalar(query)
        if attempt is not None:
            return attempt
        attempt = LabAttemptRow(
            id=str(uuid.uuid4()),
            learner_id=record.learner_id,
            record_id=record.id,
            lab_id=lab.id,
            started_at=self.clock.now(),
            completed_at=None,
        )
        try:
            with self.session.begin_nested():  # two first visits at once: the other one's row wins
                self.session.add(attempt)
        except IntegrityError:
            return self.session.scalars(query).one()
        return attempt

    def _rows(self, attempt_id: str) -> list[LabExchangeRow]:
        return list(
            self.session.scalars(
                select(LabExchangeRow).where(LabExchangeRow.attempt_id == attempt_id).order_by(LabExchangeRow.number)
            )
        )

    def state(self, record: RecordKey, lab: Lab) -> LabState:
        attempt = self._attempt(record, lab)
        rows = self._rows(attempt.id)
        traces = {
            row.exchange_id: row.tree
            for row in self.session.scalars(
                select(LabTraceRow).where(LabTraceRow.exchange_id.in_([r.id for r in rows]))
            )
        }
        return LabState(lab, attempt.id, tuple(rows), traces, _session_of(attempt, rows))

    def trace(self, record: RecordKey, lab: Lab, number: int) -> dict[str, Any] | None:
        """The span tree behind the reply to message ``number`` of this learner's lab, if it is still kept."""
        attempt = self._attempt(record, lab)
        return self.session.scalar(
            select(LabTraceRow.tree)
            .join(LabExchangeRow, LabExchangeRow.id == LabTraceRow.exchange_id)
            .where(LabExchangeRow.attempt_id == attempt.id, LabExchangeRow.number == number)
        )

    def begin(self, record: RecordKey, lab: Lab, text: str, limits: Limits, reply_deadline: timedelta) -> Started:
        """Store the learner's message, or refuse it (with nothing stored) when a limit says no. A reply still
        pending after ``reply_deadline`` was cut off (a crashed or restarted worker): the learner may send again."""
        now = self.clock.now()
        attempt = self._attempt(record, lab)
        rows = self._rows(attempt.id)
        for row in rows:
            if row.status == PENDING:
                if now - row.sent_at < reply_deadline:
                    raise ReplyPendingError()
                row.status = INTERRUPTED
        lab_session = _session_of(attempt, rows)
        message = check_message(lab_session, text, now, limits)
        number = (self.session.scalar(select(func.max(LabExchangeRow.number)).where(
            LabExchangeRow.attempt_id == attempt.id)) or 0) + 1  # fmt: skip
        row = LabExchangeRow(
            learner_id=record.learner_id,
            attempt_id=attempt.id,
            number=number,
            status=PENDING,
            learner_message=message,
            sent_at=now,
            rubric_hits=[],
            substantive=False,
        )
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:
            raise ReplyPendingError() from None  # another tab stored a message at the same moment
        return Started(row.id, ChatRequest(lab, lab_session, message, attempt.id))

    def finish(
        self,
        started: Started,
        reply: str,
        record: ChatRecord,
        figures: "Figures",
        tree: dict[str, Any] | None,
        listeners: Sequence[LabEvents],
    ) -> Finished:
        now = self.clock.now()
        row = self.session.get(LabExchangeRow, started.exchange_id)
        if row is None:
            raise LookupError(f"lab exchange {started.exchange_id} is gone")
        attempt = self.session.get(LabAttemptRow, row.attempt_id)
        assert attempt is not None
        # The session as stored now, not as it was when the message was sent: completion is judged on the facts.
        before = _session_of(attempt, [r for r in self._rows(attempt.id) if r.id != row.id])
        verdict = record.verdict
        row.status = DONE
        row.assistant_reply = reply
        row.replied_at = now
        row.scenario_id = verdict.scenario_id
        row.rubric_hits = sorted(verdict.rubric_hits)
        row.substantive = verdict.substantive
        row.state = verdict.state
        row.provider = record.provider
        row.response_model = record.response_model
        row.response_id = record.response_id
        row.finish_reason = record.finish_reason
        row.input_tokens = figures.input_tokens
        row.output_tokens = figures.output_tokens
        row.cost = figures.cost
        row.latency_ms = figures.latency_ms
        row.first_chunk_ms = figures.first_chunk_ms
        row.fallback_reason = record.fallback_reason
        if tree is not None:
            self.session.add(
                LabTraceRow(learner_id=row.learner_id, exchange_id=row.id, trace_id=tree["trace_id"], tree=tree,
                            created_at=now)
            )  # fmt: skip
        lab = started.request.lab
        exchange = _exchange(row, len(before.exchanges) + 1)
        _, completed_now = record_exchange(before, lab, exchange)
        completed_now = completed_now and attempt.completed_at is None
        if completed_now:
            attempt.completed_at = now
        for listener in listeners:
            if not before.exchanges:
                listener.lab_started(lab, attempt.id)
            listener.lab_exchange(lab, attempt.id, exchange.number, row)
            if completed_now:
                listener.lab_completed(lab, attempt.id)
        self.session.flush()
        rows = self._rows(attempt.id)
        state = LabState(lab, attempt.id, tuple(rows), {}, _session_of(attempt, rows))
        return Finished(row, tree, state, completed_now)

    def interrupt(self, started: Started) -> None:
        """The reply failed: the message stays in the transcript, marked for sending again."""
        row = self.session.get(LabExchangeRow, started.exchange_id)
        if row is not None and row.status == PENDING:
            row.status = INTERRUPTED


@dataclass(frozen=True)
class Figures:
    """What one exchange's model calls cost and took, summed from their spans: the reply and the judge (and, after
    a fallback, the failed call and the tutor) — the same numbers the student sees in "Your trace"."""

    input_tokens: int | None
    output_tokens: int | None
    cost: float | None  # None when a call that used tokens has no price
    first_chunk_ms: float | None  # of the call whose reply the student got
    latency_ms: float  # the whole exchange, message in to reply stored

    @classmethod
    def of(cls, tree: dict[str, Any] | None, record: ChatRecord, latency_ms: float) -> "Figures":
        calls = [s["attributes"] for s in (tree or {}).get("spans", []) if s["attributes"].get(OPERATION) == "chat"]
        if not calls:
            return cls(record.input_tokens, record.output_tokens, None, None, latency_ms)

        def total(key: str) -> int | None:
            counts = [c[key] for c in calls if key in c]
            return sum(counts) if counts else None

        used = [c for c in calls if INPUT_TOKENS in c or OUTPUT_TOKENS in c]
        cost = sum(c[COST] for c in used) if all(COST in c for c in used) else None
        answered = [c for c in calls if c.get(PROVIDER) == record.provider and c.get(TTFT) is not None]
        first_chunk = answered[-1][TTFT] * 1000 if answered else None
        return cls(total(INPUT_TOKENS), total(OUTPUT_TOKENS), cost, first_chunk, latency_ms)


@dataclass(frozen=True)
class ExchangeRun:
    """Runs one exchange: stored message → streamed reply → stored reply. Iterating yields the reply's text
    pieces, then one ``Finished``; the reply is stored only when the iteration is run to its end."""

    database: Database
    module: Module
    clock: Clock
    model: ChatModel
    tracer: Tracer
    collector: SpanCollector
    listeners: Callable[[Session], Sequence[LabEvents]]

    def __call__(self, started: Started) -> Iterator[str | Finished]:
        request = started.request
        pieces: list[str] = []
        record: ChatRecord | None = None
        # Its own trace, linked to the request that carried it: the student's tree starts at the exchange.
        request_span = trace.get_current_span().get_span_context()
        span = self.tracer.start_span(
            f"lab exchange {request.lab.id}",
            context=Context(),
            links=[Link(request_span)] if request_span.is_valid else None,
            attributes={
                "gen_ai.conversation.id": request.conversation_id,
                "tracebook.lab.id": request.lab.id,
                "tracebook.lab.exchange": len(request.session.exchanges) + 1,
            },
        )
        began = time.perf_counter()
        try:
            stream = self.model.stream(request)
            while True:
                # Current only while the model works, never while this generator waits for its reader.
                with trace.use_span(span, end_on_exit=False, record_exception=False):
                    item = next(stream, None)
                if item is None:
                    break
                if isinstance(item, ChatRecord):
                    record = item
                    continue
                pieces.append(item)
                yield item
            if record is None:
                raise RuntimeError(f"{type(self.model).__name__} ended its stream without a record")
        except Exception as error:
            span.record_exception(error)
            span.set_status(StatusCode.ERROR, str(error))
            span.end()
            with self.database.transaction() as session:
                LabService(session, self.module, self.clock).interrupt(started)
            raise
        span.end()
        tree = span_tree(spans) if (spans := self.collector.take(span.get_span_context().trace_id)) else None
        figures = Figures.of(tree, record, (time.perf_counter() - began) * 1000)
        # What the exchange queues (its gradebook message) carries this exchange's trace context.
        with trace.use_span(span, end_on_exit=False), self.database.transaction() as session:
            service = LabService(session, self.module, self.clock)
            finished = service.finish(started, "".join(pieces), record, figures, tree, self.listeners(session))
            session.expunge(finished.exchange)
        yield finished
