"""The one interface every lab model speaks: ``ChatModel.stream(request)`` yields the reply as text pieces,
then exactly one ``ChatRecord`` — what the model said about its response (id, model, finish reason, token
counts) and the verdict on the learner's message (rubric items ticked, scenario discussed). The offline
scenario tutor and the OpenAI-compatible client both implement it; the web layer never knows which it has."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from content.model import Lab
from labs.session import LabSession


@dataclass(frozen=True)
class ChatRequest:
    lab: Lab
    session: LabSession  # the transcript before this message
    message: str  # the learner's message, already checked by ``check_message``
    conversation_id: str  # the lab attempt: gen_ai.conversation.id


@dataclass(frozen=True)
class Verdict:
    """What the judge made of the learner's message."""

    rubric_hits: frozenset[str] = frozenset()  # lab rubric items this message ticked
    scenario_id: str | None = None  # the scenario this message discussed substantively (Lab 1), if any
    substantive: bool = False  # false for junk: keyword lists, the rubric pasted back, repeats, off-topic
    state: str | None = None  # the tutor's position after this exchange (scenario on screen, topic under way)


@dataclass(frozen=True)
class ChatRecord:
    response_id: str
    response_model: str
    finish_reason: str
    input_tokens: int | None
    output_tokens: int | None
    verdict: Verdict
    provider: str  # gen_ai.provider.name of the model that produced the reply
    fallback_reason: str | None = None  # set when the configured model failed and the tutor answered instead


class ChatModel(Protocol):
    provider: str
    model: str

    def stream(self, request: ChatRequest) -> Iterator[str | ChatRecord]: ...
