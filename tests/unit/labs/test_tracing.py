"""GenAI spans: one CLIENT span per model call with the conventions' attributes, our cost and prompt hash,
content only when asked for; the collector that keeps a request's spans; the trace JSON the chat renders."""

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import GeneratorType
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from content.model import Completion, CompletionRule, Lab, RubricItem
from labs.chat import ChatRecord, ChatRequest, Verdict
from labs.errors import ModelUnavailableError
from labs.pricing import PriceTable
from labs.prompts import Message, chat_messages
from labs.session import open_session
from labs.tracing import (
    ContentCapture,
    GenAITelemetry,
    SpanCollector,
    TracedModel,
    configure_tracing,
    content_capture,
    prompt_sha256,
    span_tree,
)

LAB = Lab(
    id="lab-x",
    lesson_id="lesson-1",
    title="Lab X",
    goal="Read trace trees",
    chat_title="Trace lab",
    task="Diagnose the trace.",
    completion_text="Discuss three scenarios.",
    starter="Say: show me a trace",
    opening_message="Ready for your first trace?",
    assistant_role="You are the observability console.",
    scenario="A RAG chatbot.",
    completion=Completion(CompletionRule.DISTINCT_SCENARIOS, 3),
    rubric=(RubricItem("slow-span", "Names the slow span"),),
)
RECORD = ChatRecord("tutor-1", "scenario-tutor", "stop", 10, 5, Verdict(substantive=True), "tracebook")


class FakeTutor:
    """A chat model double: streams its pieces (after an optional delay), then its record — or fails."""

    provider = "tracebook"
    model = "scenario-tutor"

    def __init__(
        self, pieces: tuple[str, ...] = ("Look at ", "redis_get."), delay_s: float = 0, fail: Exception | None = None
    ) -> None:
        self.pieces, self.delay_s, self.fail = pieces, delay_s, fail

    def stream(self, request: ChatRequest) -> Iterator[str | ChatRecord]:
        time.sleep(self.delay_s)
        for piece in self.pieces:
            yield piece
            if self.fail is not None:
                raise self.fail
        yield RECORD


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _telemetry(exporter: InMemorySpanExporter, capture: ContentCapture = ContentCapture.NO_CONTENT) -> GenAITelemetry:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return GenAITelemetry(provider.get_tracer("test"), PriceTable(), capture)


def _request(message: str = "The redis_get span is slow.") -> ChatRequest:
    return ChatRequest(LAB, open_session(LAB, "attempt-7", datetime(2026, 11, 28, tzinfo=UTC)), message, "attempt-7")


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


@pytest.mark.parametrize(
    ("value", "capture"),
    [
        (None, ContentCapture.NO_CONTENT),
        ("", ContentCapture.NO_CONTENT),
        ("NO_CONTENT", ContentCapture.NO_CONTENT),
        ("span_only", ContentCapture.SPAN_ONLY),
        ("EVENT_ONLY", ContentCapture.EVENT_ONLY),
        (" SPAN_AND_EVENT ", ContentCapture.SPAN_AND_EVENT),
        ("true", ContentCapture.SPAN_ONLY),
        ("False", ContentCapture.NO_CONTENT),
    ],
)
def test_the_capture_setting_is_read_as_the_conventions_define_it(value: str | None, capture: ContentCapture) -> None:
    assert content_capture(value) is capture


def test_an_unknown_capture_setting_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is 'everything'"):
        content_capture("everything")


def test_a_traced_reply_is_one_client_span_with_the_genai_attributes(exporter: InMemorySpanExporter) -> None:
    request = _request()
    items = list(TracedModel(FakeTutor(delay_s=0.02), _telemetry(exporter)).stream(request))

    assert items == ["Look at ", "redis_get.", RECORD]  # passed through unchanged
    span = _only_span(exporter)
    assert span.name == "chat scenario-tutor"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    ttft = attributes.pop("gen_ai.response.time_to_first_chunk")
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "tracebook",
        "gen_ai.request.model": "scenario-tutor",
        "gen_ai.request.stream": True,
        "gen_ai.conversation.id": "attempt-7",
        "gen_ai.response.id": "tutor-1",
        "gen_ai.response.model": "scenario-tutor",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
        "tracebook.gen_ai.cost": 0.0,
        "tracebook.gen_ai.prompt.sha256": prompt_sha256(chat_messages(request)),
        "tracebook.gen_ai.purpose": "reply",
    }
    assert isinstance(ttft, float)
    assert ttft >= 0.02
    (event,) = span.events
    assert event.name == "tracebook.gen_ai.first_chunk"
    assert span.start_time is not None
    assert event.timestamp - span.start_time == pytest.approx(ttft * 1e9, abs=1_000)
    assert span.status.status_code is StatusCode.UNSET


def test_message_content_is_captured_only_when_asked_for(exporter: InMemorySpanExporter) -> None:
    request = _request()
    list(TracedModel(FakeTutor(), _telemetry(exporter)).stream(request))
    plain = _only_span(exporter)
    assert not {"gen_ai.input.messages", "gen_ai.output.messages"} & set(plain.attributes or {})
    assert [e.name for e in plain.events] == ["tracebook.gen_ai.first_chunk"]

    exporter.clear()
    list(TracedModel(FakeTutor(), _telemetry(exporter, ContentCapture.SPAN_ONLY)).stream(request))
    attributes = _only_span(exporter).attributes or {}
    inputs = json.loads(str(attributes["gen_ai.input.messages"]))
    assert inputs[0]["role"] == "system"
    assert inputs[-1] == {"role": "user", "parts": [{"type": "text", "content": "The redis_get span is slow."}]}
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Look at redis_get."}], "finish_reason": "stop"}
    ]

    exporter.clear()
    list(TracedModel(FakeTutor(), _telemetry(exporter, ContentCapture.EVENT_ONLY)).stream(request))
    span = _only_span(exporter)
    assert "gen_ai.input.messages" not in (span.attributes or {})
    details = next(e for e in span.events if e.name == "gen_ai.client.inference.operation.details")
    assert json.loads(str((details.attributes or {})["gen_ai.output.messages"]))[0]["parts"][0]["content"] == (
        "Look at redis_get."
    )


def test_a_failed_call_ends_its_span_with_error_status_and_type(exporter: InMemorySpanExporter) -> None:
    failing = FakeTutor(fail=ModelUnavailableError("HTTP 500: The server had an error", "500"))
    with pytest.raises(ModelUnavailableError):
        list(TracedModel(failing, _telemetry(exporter)).stream(_request()))
    span = _only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "HTTP 500: The server had an error"
    assert (span.attributes or {})["error.type"] == "500"
    assert [e.name for e in span.events] == ["tracebook.gen_ai.first_chunk", "exception"]

    exporter.clear()
    with pytest.raises(KeyError):
        list(TracedModel(FakeTutor(fail=KeyError("state")), _telemetry(exporter)).stream(_request()))
    assert (_only_span(exporter).attributes or {})["error.type"] == "builtins.KeyError"


def test_a_reply_abandoned_mid_stream_still_ends_its_span(exporter: InMemorySpanExporter) -> None:
    stream = TracedModel(FakeTutor(), _telemetry(exporter)).stream(_request())
    assert isinstance(stream, GeneratorType)
    assert next(stream) == "Look at "
    stream.close()
    span = _only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "cancelled"


def test_the_prompt_hash_is_sha256_of_canonical_json() -> None:
    messages = (Message("system", "Be brief."), Message("user", "Grüße"))
    expected = '[{"content":"Be brief.","role":"system"},{"content":"Grüße","role":"user"}]'
    assert prompt_sha256(messages) == hashlib.sha256(expected.encode()).hexdigest()
    assert prompt_sha256(messages) != prompt_sha256((*messages, Message("user", "again")))


def _provider_with(collector: SpanCollector) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(collector)
    return provider


def test_the_collector_hands_out_a_trace_once() -> None:
    collector = SpanCollector()
    tracer = _provider_with(collector).get_tracer("test")
    with tracer.start_as_current_span("request") as root, tracer.start_as_current_span("chat gpt-4o"):
        pass
    with tracer.start_as_current_span("other request"):
        pass
    trace_id = root.get_span_context().trace_id
    assert [s.name for s in collector.take(trace_id)] == ["chat gpt-4o", "request"]
    assert collector.take(trace_id) == ()


def test_the_collector_forgets_the_oldest_traces_first() -> None:
    collector = SpanCollector(max_traces=2, max_spans_per_trace=3)
    tracer = _provider_with(collector).get_tracer("test")
    ids = []
    for name in ("first", "second", "third"):
        with tracer.start_as_current_span(name) as span:
            for _ in range(5):
                tracer.start_span("child").end()
        ids.append(span.get_span_context().trace_id)
    assert collector.take(ids[0]) == ()
    assert [s.name for s in collector.take(ids[1])] == ["child", "child", "child"]  # bounded per trace too
    assert len(collector.take(ids[2])) == 3


def test_the_span_tree_is_the_chat_trace_json() -> None:
    collector = SpanCollector()
    tracer = _provider_with(collector).get_tracer("test")
    t0 = 1_700_000_000_000_000_000
    ms = 1_000_000
    root = tracer.start_span("POST /labs/lab-1/messages", kind=SpanKind.SERVER, start_time=t0)
    child = tracer.start_span(
        "chat gpt-4o",
        context=trace.set_span_in_context(root),
        kind=SpanKind.CLIENT,
        attributes={"gen_ai.response.finish_reasons": ["stop"], "gen_ai.usage.input_tokens": 12},
        start_time=t0 + 5 * ms,
    )
    child.add_event("tracebook.gen_ai.first_chunk", timestamp=t0 + 955 * ms)
    child.set_status(StatusCode.ERROR, "HTTP 500")
    child.end(end_time=t0 + 1_205 * ms)
    root.end(end_time=t0 + 1_250 * ms)
    stranger = tracer.start_span("vector_search", start_time=t0 + 10 * ms)  # another trace: a lost traceparent
    stranger.end(end_time=t0 + 60 * ms)
    spans = [*collector.take(root.get_span_context().trace_id), *collector.take(stranger.get_span_context().trace_id)]

    tree = span_tree(spans, title="Your trace")

    root_id, child_id = (format(s.get_span_context().span_id, "016x") for s in (root, child))
    assert tree == {
        "trace_id": format(root.get_span_context().trace_id, "032x"),
        "title": "Your trace",
        "spans": [
            {
                "span_id": root_id,
                "parent_span_id": None,
                "name": "POST /labs/lab-1/messages",
                "kind": "SERVER",
                "start_ms": 0.0,
                "duration_ms": 1250.0,
                "status": "UNSET",
                "attributes": {},
                "events": [],
            },
            {
                "span_id": child_id,
                "parent_span_id": root_id,
                "name": "chat gpt-4o",
                "kind": "CLIENT",
                "start_ms": 5.0,
                "duration_ms": 1200.0,
                "status": "ERROR",
                "status_message": "HTTP 500",
                "attributes": {"gen_ai.response.finish_reasons": ["stop"], "gen_ai.usage.input_tokens": 12},
                "events": [{"name": "tracebook.gen_ai.first_chunk", "at_ms": 955.0}],
            },
            {
                "span_id": format(stranger.get_span_context().span_id, "016x"),
                "parent_span_id": None,
                "trace_id": format(stranger.get_span_context().trace_id, "032x"),
                "name": "vector_search",
                "kind": "INTERNAL",
                "start_ms": 10.0,
                "duration_ms": 50.0,
                "status": "UNSET",
                "attributes": {},
                "events": [],
            },
        ],
    }
    assert json.loads(json.dumps(tree)) == tree


def test_without_an_endpoint_spans_stay_in_the_collector() -> None:
    collector = SpanCollector()
    provider = configure_tracing("tracebook", None, collector)
    with provider.get_tracer("test").start_as_current_span("request") as span:
        pass
    assert [s.name for s in collector.take(span.get_span_context().trace_id)] == ["request"]
    assert dict(provider.resource.attributes)["service.name"] == "tracebook"
    provider.shutdown()


def test_with_an_endpoint_spans_are_also_exported_over_otlp_http() -> None:
    received: list[tuple[str, str, int]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], len(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        collector = SpanCollector()
        provider = configure_tracing("tracebook", f"http://127.0.0.1:{server.server_address[1]}/", collector)
        with provider.get_tracer("test").start_as_current_span("request") as span:
            pass
        assert provider.force_flush(5_000)
        assert len(collector.take(span.get_span_context().trace_id)) == 1  # kept for the view as well
        provider.shutdown()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert len(received) == 1
    path, content_type, size = received[0]
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert size > 0
