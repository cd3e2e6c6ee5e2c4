"""Builders for tutor tests: talk to the scenario tutor the way the lab service does, exchange by exchange."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from content.model import Lab
from labs.chat import ChatRecord, ChatRequest
from labs.session import Exchange, LabSession, open_session, record_exchange
from labs.tutor import ScenarioTutor

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@dataclass
class Conversation:
    lab: Lab
    conversation_id: str = "attempt-1"
    tutor: ScenarioTutor = field(default_factory=ScenarioTutor)
    session: LabSession | None = None
    completions: int = 0  # how many exchanges reported completing the lab

    def __post_init__(self) -> None:
        self.session = open_session(self.lab, self.conversation_id, T0)

    def request(self, message: str) -> ChatRequest:
        assert self.session is not None
        return ChatRequest(self.lab, self.session, message, self.conversation_id)

    def say(self, message: str) -> tuple[str, ChatRecord]:
        """Send ``message``; the reply's text and record, with the exchange recorded in the session."""
        assert self.session is not None
        *pieces, record = list(self.tutor.stream(self.request(message)))
        assert all(isinstance(p, str) for p in pieces)
        assert isinstance(record, ChatRecord)
        text = "".join(str(p) for p in pieces)
        verdict = record.verdict
        exchange = Exchange(
            number=len(self.session.exchanges) + 1,
            learner_message=message,
            assistant_reply=text,
            at=T0 + timedelta(minutes=len(self.session.exchanges)),
            scenario_id=verdict.scenario_id,
            rubric_hits=verdict.rubric_hits,
            substantive=verdict.substantive,
            state=verdict.state,
            input_tokens=record.input_tokens or 0,
            output_tokens=record.output_tokens or 0,
        )
        self.session, completed = record_exchange(self.session, self.lab, exchange)
        self.completions += completed
        return text, record

    @property
    def state(self) -> str | None:
        assert self.session is not None
        return self.session.exchanges[-1].state if self.session.exchanges else None
