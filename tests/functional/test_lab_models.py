"""The OpenAI-compatible lab model against a real HTTP server on loopback that speaks the chat-completions API
(tests/fake_llm.py): the spans it makes, the judge, and the fallback to the offline tutor when the provider fails.
"""

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from content import Module
from content.model import Lab
from labs.chat import ChatModel, ChatRecord, ChatRequest, Verdict
from labs.fallback import NOTE, FallbackChat
from labs.openai_chat import OpenAIChat, OpenAISettings
from labs.pricing import PriceTable
from labs.prompts import chat_messages, judge_messages
from labs.session import open_session
from labs.tracing import ContentCapture, GenAITelemetry, TracedModel, prompt_sha256
from labs.tutor import ScenarioTutor
from tests.fake_llm import DEFAULT_REPLY, Failure, FakeLLM, Target

TUTOR_VERDICT = Verdict(frozenset({"tutor-judged"}), None, True, "tutor-state")
TUTOR_RECORD = ChatRecord("tutor-1", "scenario-tutor", "stop", 40, 20, TUTOR_VERDICT, "tracebook")


class FakeTutor:
    """Stands in for the offline tutor: a fixed reply and a fixed verdict."""

    provider = "tracebook"
    model = "scenario-tutor"

    def __init__(self) -> None:
        self.judged: list[ChatRequest] = []

    def stream(self, request: ChatRequest) -> Iterator[str | ChatRecord]:
        yield from ("Offline ", "tutor ", "answer.")
        yield TUTOR_RECORD

    def judge(self, request: ChatRequest) -> Verdict:
        self.judged.append(request)
        return TUTOR_VERDICT


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def lab(module: Module) -> Lab:
    lab = module.lab("lab-1")
    assert lab is not None
    return lab


@pytest.fixture
def request_(lab: Lab) -> ChatRequest:
    session = open_session(lab, "attempt-42", datetime(2026, 11, 28, 9, tzinfo=UTC))
    return ChatRequest(lab, session, "The redis_get span takes 408 ms before the LLM call: the cache is slow.", "a-42")


class Harness:
    """The models under test wired as the app wires them, with their spans in memory."""

    def __init__(self, fake: FakeLLM, exporter: InMemorySpanExporter) -> None:
        self.fake, self.exporter = fake, exporter
        self.tutor = FakeTutor()
        self.clients: list[OpenAIChat] = []

    def telemetry(self, capture: ContentCapture = ContentCapture.NO_CONTENT) -> GenAITelemetry:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        return GenAITelemetry(provider.get_tracer("test"), PriceTable(), capture)

    def openai(
        self,
        capture: ContentCapture = ContentCapture.NO_CONTENT,
        *,
        model: str = "gpt-4o",
        provider: str = "openai",
        include_usage: bool = True,
        timeout_s: float = 2.0,
        max_retries: int = 0,
        judge: bool = True,
    ) -> OpenAIChat:
        settings = OpenAISettings(
            self.fake.base_url, "sk-test", model, provider, include_usage, timeout_s, max_retries, judge
        )
        chat = OpenAIChat(settings, self.telemetry(capture), self.tutor.judge)
        self.clients.append(chat)
        return chat

    def with_fallback(self, primary: ChatModel, tutor: ChatModel | None = None) -> FallbackChat:
        return FallbackChat(primary, TracedModel(tutor or self.tutor, self.telemetry()))

    def spans(self, purpose: str | None = None) -> list[ReadableSpan]:
        spans = self.exporter.get_finished_spans()
        return [s for s in spans if purpose is None or (s.attributes or {}).get("tracebook.gen_ai.purpose") == purpose]


@pytest.fixture
def harness(fake_llm: FakeLLM, exporter: InMemorySpanExporter) -> Iterator[Harness]:
    harness = Harness(fake_llm, exporter)
    yield harness
    for client in harness.clients:
        client.close()


def _run(model: ChatModel, request: ChatRequest) -> tuple[str, ChatRecord]:
    items = list(model.stream(request))
    *pieces, record = items
    assert all(isinstance(p, str) for p in pieces)
    assert isinstance(record, ChatRecord)
    return "".join(str(p) for p in pieces), record


def test_a_streamed_reply_is_one_span_with_every_genai_attribute(harness: Harness, request_: ChatRequest) -> None:
    fake = harness.fake
    fake.reply("The redis_get ", "span is ", "the slow one.", response_model="gpt-4o-2024-08-06", usage=(1200, 300))
    fake.delay_first_chunk(0.03)
    fake.judge(json.dumps({"rubric_hits": [], "scenario_id": "slow-cache", "substantive": True}))

    text, record = _run(harness.openai(), request_)

    assert text == "The redis_get span is the slow one."
    assert record == ChatRecord(
        response_id="chatcmpl-fake-1",
        response_model="gpt-4o-2024-08-06",
        finish_reason="stop",
        input_tokens=1200,
        output_tokens=300,
        verdict=Verdict(frozenset(), "slow-cache", True),
        provider="openai",
    )
    (span,) = harness.spans("reply")
    assert span.name == "chat gpt-4o"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    ttft, cost = attributes.pop("gen_ai.response.time_to_first_chunk"), attributes.pop("tracebook.gen_ai.cost")
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.stream": True,
        "gen_ai.conversation.id": "a-42",
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "gen_ai.response.id": "chatcmpl-fake-1",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 300,
        "tracebook.gen_ai.prompt.sha256": prompt_sha256(chat_messages(request_)),
        "tracebook.gen_ai.purpose": "reply",
    }
    assert isinstance(ttft, float)
    assert ttft >= 0.03
    assert [e.name for e in span.events] == ["tracebook.gen_ai.first_chunk"]
    # gpt-4o: $2.50 per 1M input tokens, $10.00 per 1M output tokens.
    assert cost == float((1200 * Decimal("2.50") + 300 * Decimal("10.00")) / 1_000_000) == 0.006
    assert span.status.status_code is StatusCode.UNSET

    (sent,) = [r for r in fake.requests if not r.is_judge]
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["messages"] == [m.as_dict() for m in chat_messages(request_)]


def test_the_judge_is_its_own_span_and_returns_structured_json(harness: Harness, request_: ChatRequest) -> None:
    rubric_id = request_.lab.rubric[0].id
    harness.fake.judge(
        json.dumps({"rubric_hits": [rubric_id, "invented-id"], "scenario_id": "slow-cache", "substantive": True})
    )

    _, record = _run(harness.openai(), request_)

    assert record.verdict == Verdict(frozenset({rubric_id}), "slow-cache", True)  # the unknown id is dropped
    assert harness.tutor.judged == []
    (judge,) = [r for r in harness.fake.requests if r.is_judge]
    assert "stream" not in judge.body
    schema = judge.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["rubric_hits"]["items"]["enum"] == [item.id for item in request_.lab.rubric]
    assert judge.body["messages"][1]["content"] == judge_messages(request_, "".join(DEFAULT_REPLY))[1].content
    (span,) = harness.spans("judge")
    attributes = span.attributes or {}
    assert span.name == "chat gpt-4o"
    assert attributes["gen_ai.request.stream"] is False
    assert attributes["gen_ai.conversation.id"] == "a-42"
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (40, 12)
    assert "gen_ai.response.time_to_first_chunk" not in attributes
    assert span.events == ()


@pytest.mark.parametrize(
    "judge_reply",
    ["I think they got it right!", '{"rubric_hits": "all", "scenario_id": null, "substantive": true}'],
)
def test_an_invalid_judge_reply_falls_back_to_the_tutors_judge(
    harness: Harness, request_: ChatRequest, judge_reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    harness.fake.judge(judge_reply)
    with caplog.at_level(logging.WARNING, logger="labs.openai_chat"):
        text, record = _run(harness.openai(), request_)
    assert text == "".join(DEFAULT_REPLY)  # the reply stands
    assert record.verdict == TUTOR_VERDICT
    assert record.fallback_reason is None
    assert harness.tutor.judged == [request_]
    assert "the offline tutor's judge decides for conversation a-42" in caplog.text


def test_a_failing_judge_falls_back_to_the_tutors_judge_with_an_error_span(
    harness: Harness, request_: ChatRequest
) -> None:
    harness.fake.fail(Failure.SERVER_ERROR, target=Target.JUDGE)
    _, record = _run(harness.openai(), request_)
    assert record.verdict == TUTOR_VERDICT
    assert record.provider == "openai"
    (judge,) = harness.spans("judge")
    assert judge.status.status_code is StatusCode.ERROR
    assert (judge.attributes or {})["error.type"] == "500"
    (reply,) = harness.spans("reply")
    assert reply.status.status_code is StatusCode.UNSET


def test_with_the_judge_switched_off_the_tutor_judges(harness: Harness, request_: ChatRequest) -> None:
    _, record = _run(harness.openai(judge=False), request_)
    assert record.verdict == TUTOR_VERDICT
    assert [r.is_judge for r in harness.fake.requests] == [False]


def test_without_include_usage_no_stream_options_are_sent_and_tokens_are_unknown(
    harness: Harness, request_: ChatRequest
) -> None:
    harness.fake.reject_stream_options()  # a server that refuses the option works once it is switched off

    text, record = _run(harness.openai(include_usage=False), request_)

    assert text == "".join(DEFAULT_REPLY)
    assert (record.input_tokens, record.output_tokens) == (None, None)
    (sent,) = [r for r in harness.fake.requests if not r.is_judge]
    assert "stream_options" not in sent.body
    (span,) = harness.spans("reply")
    attributes = span.attributes or {}
    assert not {"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "tracebook.gen_ai.cost"} & set(attributes)
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_an_unpriced_model_has_no_cost_attribute(harness: Harness, request_: ChatRequest) -> None:
    _run(harness.openai(model="llama3.1:8b", provider="ollama"), request_)
    (span,) = harness.spans("reply")
    attributes = span.attributes or {}
    assert (attributes["gen_ai.provider.name"], attributes["gen_ai.request.model"]) == ("ollama", "llama3.1:8b")
    assert attributes["gen_ai.usage.input_tokens"] == 120
    assert "tracebook.gen_ai.cost" not in attributes


def test_content_is_absent_by_default_and_present_with_span_only(harness: Harness, request_: ChatRequest) -> None:
    _run(harness.openai(), request_)
    for span in harness.spans():
        assert not {"gen_ai.input.messages", "gen_ai.output.messages"} & set(span.attributes or {})

    harness.exporter.clear()
    _run(harness.openai(ContentCapture.SPAN_ONLY), request_)
    (span,) = harness.spans("reply")
    attributes = span.attributes or {}
    inputs = json.loads(str(attributes["gen_ai.input.messages"]))
    assert [m["role"] for m in inputs] == ["system", "assistant", "user"]
    assert inputs[-1]["parts"] == [{"type": "text", "content": request_.message}]
    outputs = json.loads(str(attributes["gen_ai.output.messages"]))
    assert outputs == [
        {"role": "assistant", "parts": [{"type": "text", "content": "".join(DEFAULT_REPLY)}], "finish_reason": "stop"}
    ]


def test_a_rate_limit_is_retried_within_the_bound(harness: Harness, request_: ChatRequest) -> None:
    harness.fake.fail(Failure.RATE_LIMITED, times=1)
    text, record = _run(harness.with_fallback(harness.openai(max_retries=2)), request_)
    assert text == "".join(DEFAULT_REPLY)
    assert record.fallback_reason is None
    assert [r.is_judge for r in harness.fake.requests] == [False, False, True]


@pytest.mark.parametrize(
    ("failure", "settings", "reason", "error_type", "attempts"),
    [
        (Failure.RATE_LIMITED, {"max_retries": 2}, "HTTP 429: Rate limit reached", "429", 3),
        (Failure.SERVER_ERROR, {"max_retries": 0}, "HTTP 500: The server had an error", "500", 1),
        (Failure.HANG, {"max_retries": 0, "timeout_s": 0.1}, "no answer within 0.1 s", "timeout", 1),
    ],
)
def test_a_provider_failure_falls_back_to_the_tutor_and_loses_nothing(
    harness: Harness,
    request_: ChatRequest,
    failure: Failure,
    settings: dict[str, Any],
    reason: str,
    error_type: str,
    attempts: int,
) -> None:
    harness.fake.fail(failure)

    text, record = _run(harness.with_fallback(harness.openai(**settings)), request_)

    assert text == f"{NOTE}\n\nOffline tutor answer."
    assert record == replace(TUTOR_RECORD, fallback_reason=reason)
    assert len(harness.fake.requests) == attempts  # bounded retries, and no judge call for a failed reply
    failed, tutor = harness.spans()
    assert failed.name == "chat gpt-4o"
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == reason
    assert (failed.attributes or {})["error.type"] == error_type
    assert [e.name for e in failed.events] == ["exception"]
    assert tutor.name == "chat scenario-tutor"
    assert (tutor.attributes or {})["gen_ai.provider.name"] == "tracebook"
    assert (tutor.attributes or {})["tracebook.gen_ai.cost"] == 0.0
    assert tutor.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize(
    ("failure", "streamed", "error_type"),
    [
        (Failure.DROP, "The redis_get span takes 408 ms ", "connection_error"),
        (Failure.GARBAGE, "The redis_get span ", "invalid_response"),
    ],
)
def test_a_stream_broken_midway_keeps_what_was_said_and_the_tutor_continues(
    harness: Harness, request_: ChatRequest, failure: Failure, streamed: str, error_type: str
) -> None:
    harness.fake.fail(failure)

    text, record = _run(harness.with_fallback(harness.openai()), request_)

    assert text == f"{streamed}\n\n---\n\n{NOTE}\n\nOffline tutor answer."
    assert record.provider == "tracebook"
    assert record.response_model == "scenario-tutor"
    assert record.fallback_reason is not None
    failed, _ = harness.spans()
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == error_type
    assert [e.name for e in failed.events] == ["tracebook.gen_ai.first_chunk", "exception"]


def test_a_server_that_rejects_stream_options_falls_back_until_the_switch_is_off(
    harness: Harness, request_: ChatRequest
) -> None:
    harness.fake.reject_stream_options()
    _, record = _run(harness.with_fallback(harness.openai()), request_)
    assert record.fallback_reason == "HTTP 400: Unrecognized request argument supplied: stream_options"
    (failed, _) = harness.spans()
    assert (failed.attributes or {})["error.type"] == "400"


def test_the_scenario_tutor_takes_over_when_the_model_fails(harness: Harness, request_: ChatRequest) -> None:
    harness.fake.fail(Failure.SERVER_ERROR)
    tutor = ScenarioTutor()
    expected_text, expected_record = _run(tutor, request_)

    text, record = _run(harness.with_fallback(harness.openai(), tutor), request_)

    assert text == f"{NOTE}\n\n{expected_text}"
    assert record == replace(expected_record, fallback_reason="HTTP 500: The server had an error")
    _, tutor_span = harness.spans()
    assert (tutor_span.attributes or {})["gen_ai.response.id"] == expected_record.response_id
