"""A student's lab session: the transcript, the limits on what may be sent, and completion as the seed states
it — Lab 1 when three *different* trace scenarios have been discussed, Labs 2–4 after three real exchanges.
Completion is recorded once. Pure: values in, new values out; a refused message changes nothing."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from content.model import CompletionRule, Lab
from labs.errors import EmptyMessageError, MessageTooLongError, RateLimitError, TokenBudgetError

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Limits:
    max_message_chars: int = 2000
    exchanges_per_hour: int = 30
    tokens_per_lab: int = 60_000


@dataclass(frozen=True)
class Exchange:
    """One learner message and the assistant's reply, with what the tutor judged of it."""

    number: int
    learner_message: str
    assistant_reply: str
    at: datetime
    scenario_id: str | None = None  # the scenario this exchange discussed substantively, if any
    rubric_hits: frozenset[str] = frozenset()  # rubric items this exchange ticked
    substantive: bool = True  # false for junk (keyword lists, the rubric pasted back, repeats, off-topic)
    state: str | None = None  # the tutor's position after this exchange
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class LabSession:
    lab_id: str
    attempt_id: str
    started_at: datetime
    exchanges: tuple[Exchange, ...] = ()
    completed_at: datetime | None = None

    @property
    def tokens_used(self) -> int:
        return sum(e.input_tokens + e.output_tokens for e in self.exchanges)

    @property
    def scenarios_discussed(self) -> frozenset[str]:
        return frozenset(e.scenario_id for e in self.exchanges if e.scenario_id)

    @property
    def rubric_ticked(self) -> frozenset[str]:
        return frozenset().union(*(e.rubric_hits for e in self.exchanges))

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


def open_session(lab: Lab, attempt_id: str, now: datetime) -> LabSession:
    return LabSession(lab_id=lab.id, attempt_id=attempt_id, started_at=now)


def check_message(session: LabSession, text: str, now: datetime, limits: Limits) -> str:
    """The message to send, stripped; or the reason it may not be sent."""
    message = text.strip()
    if not message:
        raise EmptyMessageError()
    if len(message) > limits.max_message_chars:
        raise MessageTooLongError(len(message), limits.max_message_chars)
    recent = [e.at for e in session.exchanges if now - e.at < HOUR]
    if len(recent) >= limits.exchanges_per_hour:
        wait = HOUR - (now - min(recent))
        raise RateLimitError(limits.exchanges_per_hour, int(wait.total_seconds()))
    if session.tokens_used >= limits.tokens_per_lab:
        raise TokenBudgetError(session.tokens_used, limits.tokens_per_lab)
    return message


def progress(session: LabSession, lab: Lab) -> int:
    """How far towards completion: distinct scenarios discussed (Lab 1) or real exchanges made (Labs 2–4); junk
    counts for neither."""
    if lab.completion.rule is CompletionRule.DISTINCT_SCENARIOS:
        return len(session.scenarios_discussed)
    return sum(1 for e in session.exchanges if e.substantive)


def record_exchange(session: LabSession, lab: Lab, exchange: Exchange) -> tuple[LabSession, bool]:
    """The session with ``exchange`` added, and whether this exchange completed the lab (true only once)."""
    if exchange.number != len(session.exchanges) + 1:
        raise ValueError(f"exchange {exchange.number} does not follow exchange {len(session.exchanges)}")
    updated = replace(session, exchanges=(*session.exchanges, exchange))
    if session.is_complete or progress(updated, lab) < lab.completion.count:
        return updated, False
    return replace(updated, completed_at=exchange.at), True
