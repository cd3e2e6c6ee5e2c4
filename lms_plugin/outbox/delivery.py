"""What a sender reports for each message, and the sender interface each channel implements."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    id: int
    key: str
    channel: str
    destination: Mapping[str, Any]
    payload: Mapping[str, Any]
    attempts: int
    trace_context: str | None = None  # the traceparent of the request that queued it


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Retry:
    """Worth trying again: a network error, 429 or 5xx. ``after`` is the other side's Retry-After."""

    reason: str
    after: timedelta | None = None


@dataclass(frozen=True)
class Dead:
    """Retrying cannot help (the other side refused the content): kept, visible, resendable by an admin."""

    reason: str


@dataclass(frozen=True)
class NotGradable:
    """The gradebook refuses scores for this user (a teacher, Canvas's test student): recorded, not retried."""

    reason: str


Outcome = Delivered | Retry | Dead | NotGradable


class Sender(Protocol):
    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """One outcome per message, in order."""
        ...
