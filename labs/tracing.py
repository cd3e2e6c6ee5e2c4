"""Our own GenAI spans: one CLIENT span per model call, named ``chat {model}``, with the attributes of the
OpenTelemetry GenAI semantic conventions (gen-ai-spans.md, "Inference": ``gen_ai.provider.name``, which replaced
``gen_ai.system``; ``gen_ai.response.time_to_first_chunk``; ``gen_ai.input.messages`` / ``gen_ai.output.messages``
as JSON only when content capture asks for it). The contrib OpenAI instrumentation does not support openai 3.x,
so the lab models report through ``GenAITelemetry.call`` themselves; a model that does not (the offline tutor)
is wrapped in ``TracedModel``.

The conventions define neither cost nor a prompt fingerprint, so those live in our namespace:
``tracebook.gen_ai.cost`` (USD) and ``tracebook.gen_ai.prompt.sha256`` (one prompt sent twice — a retry storm —
shows up as one hash repeated).

The spans are also kept in memory by ``SpanCollector`` until the web layer takes its request's trace and stores
it as the trace JSON the chat renders (``span_tree``).
"""

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span as ApiSpan
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from labs.chat import ChatModel, ChatRecord, ChatRequest
from labs.errors import ModelUnavailableError
from labs.pricing import PriceTable
from labs.prompts import Message, chat_messages

CAPTURE_SETTING = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
FIRST_CHUNK_EVENT = "tracebook.gen_ai.first_chunk"
# The conventions' event for message content (gen-ai-events.md); we record it as a span event, not a log record.
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
COST = "tracebook.gen_ai.cost"
PROMPT_SHA256 = "tracebook.gen_ai.prompt.sha256"
PURPOSE = "tracebook.gen_ai.purpose"  # "reply" (what the student reads) or "judge" (the rubric check)


class ContentCapture(StrEnum):
    """Where message content goes, as ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` says."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        return self in (ContentCapture.SPAN_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def in_event(self) -> bool:
        return self in (ContentCapture.EVENT_ONLY, ContentCapture.SPAN_AND_EVENT)


def content_capture(value: str | None) -> ContentCapture:
    """Parse the setting. Unset means no content: prompts carry learners' words. The older boolean form is
    accepted ("true" as SPAN_ONLY)."""
    text = (value or "").strip()
    if not text or text.lower() == "false":
        return ContentCapture.NO_CONTENT
    if text.lower() == "true":
        return ContentCapture.SPAN_ONLY
    try:
        return ContentCapture(text.upper())
    except ValueError:
        choices = ", ".join(ContentCapture)
        raise ValueError(f"{CAPTURE_SETTING} is {value!r}; use one of {choices} (or true/false).") from None


def canonical_json(messages: Sequence[Message]) -> str:
    return json.dumps(
        [m.as_dict() for m in messages], sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def prompt_sha256(messages: Sequence[Message]) -> str:
    return hashlib.sha256(canonical_json(messages).encode()).hexdigest()


def input_messages_json(messages: Sequence[Message]) -> str:
    """``gen_ai.input.messages`` in the conventions' shape: role plus a list of typed parts."""
    return json.dumps(
        [{"role": m.role, "parts": [{"type": "text", "content": m.content}]} for m in messages], ensure_ascii=False
    )


def output_messages_json(text: str, finish_reason: str) -> str:
    message = {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": finish_reason}
    return json.dumps([message], ensure_ascii=False)


@dataclass(frozen=True)
class Endpoint:
    """The server a model call goes to: ``server.address`` and ``server.port``."""

    address: str
    port: int | None = None


class ModelCall:
    """The span of one model call while it runs; the model reports what it sees through it. Made and ended by
    ``GenAITelemetry.call`` — with ERROR status when the call raised."""

    def __init__(
        self, span: ApiSpan, started_ns: int, telemetry: "GenAITelemetry", provider: str, request_model: str
    ) -> None:
        self._span, self._started_ns, self._telemetry = span, started_ns, telemetry
        self._provider, self._request_model = provider, request_model
        self._first_chunk_seen = False
        self._response_model: str | None = None
        self._finish_reason = ""
        self._output: str | None = None

    def chunk(self) -> None:
        """A chunk arrived. The first one sets the time to first chunk and the first-chunk event."""
        if self._first_chunk_seen:
            return
        self._first_chunk_seen = True
        now = time.time_ns()
        self._span.set_attribute("gen_ai.response.time_to_first_chunk", (now - self._started_ns) / 1e9)
        self._span.add_event(FIRST_CHUNK_EVENT, timestamp=now)

    def response(self, response_id: str | None, response_model: str | None) -> None:
        if response_id:
            self._span.set_attribute("gen_ai.response.id", response_id)
        if response_model:
            self._response_model = response_model
            self._span.set_attribute("gen_ai.response.model", response_model)

    def finish(self, finish_reason: str, input_tokens: int | None, output_tokens: int | None, output_text: str) -> None:
        """The call's outcome. Token counts are None when the server did not report them: then there is no usage
        attribute and no cost, rather than a made-up zero."""
        self._finish_reason, self._output = finish_reason, output_text
        self._span.set_attribute("gen_ai.response.finish_reasons", [finish_reason])
        if input_tokens is not None:
            self._span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        if output_tokens is not None:
            self._span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        if input_tokens is None or output_tokens is None:
            return
        # Priced by the model that answered (a dated snapshot), else by the model asked for.
        models = dict.fromkeys(m for m in (self._response_model, self._request_model) if m)
        costs = (self._telemetry.prices.cost(self._provider, m, input_tokens, output_tokens) for m in models)
        cost = next((c for c in costs if c is not None), None)
        if cost is not None:
            self._span.set_attribute(COST, float(cost))

    def _end(self, messages: Sequence[Message], error: BaseException | None) -> None:
        capture = self._telemetry.capture
        if self._output is not None and capture.on_span:
            self._span.set_attribute("gen_ai.output.messages", output_messages_json(self._output, self._finish_reason))
        if capture.in_event:
            details = {"gen_ai.input.messages": input_messages_json(messages)}
            if self._output is not None:
                details["gen_ai.output.messages"] = output_messages_json(self._output, self._finish_reason)
            self._span.add_event(DETAILS_EVENT, details)
        if isinstance(error, ModelUnavailableError):
            self._fail(error.error_type, error.reason, error)
        elif isinstance(error, Exception):
            self._fail(f"{type(error).__module__}.{type(error).__qualname__}", str(error), error)
        elif error is not None:
            # The reader went away mid-stream (GeneratorExit): the call did not complete.
            self._fail("cancelled", "the reply was not read to the end", None)
        self._span.end()

    def _fail(self, error_type: str, description: str, error: BaseException | None) -> None:
        self._span.set_attribute("error.type", error_type)
        self._span.set_status(StatusCode.ERROR, description)
        if error is not None:
            self._span.record_exception(error)


class GenAITelemetry:
    """Makes the span of every model call, the lab's own and the judge's alike."""

    def __init__(self, tracer: Tracer, prices: PriceTable, capture: ContentCapture) -> None:
        self.tracer, self.prices, self.capture = tracer, prices, capture

    @contextmanager
    def call(
        self,
        *,
        provider: str,
        request_model: str,
        conversation_id: str,
        messages: Sequence[Message],
        stream: bool,
        endpoint: Endpoint | None = None,
        purpose: Literal["reply", "judge"] = "reply",
    ) -> Iterator[ModelCall]:
        """``with telemetry.call(...) as call:`` around one request to a model; report chunks, the response and
        the outcome through ``call``. The span ends when the block does, with ERROR status if it raised."""
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": request_model,
            "gen_ai.request.stream": stream,
            "gen_ai.conversation.id": conversation_id,
            PROMPT_SHA256: prompt_sha256(messages),
            PURPOSE: purpose,
        }
        if endpoint is not None:
            attributes["server.address"] = endpoint.address
            if endpoint.port is not None:
                attributes["server.port"] = endpoint.port
        if self.capture.on_span:
            attributes["gen_ai.input.messages"] = input_messages_json(messages)
        started = time.time_ns()
        # Not made the current span: a model call has no children of ours, and a span left current inside a
        # suspended generator would leak into whatever the caller does between chunks.
        span = self.tracer.start_span(
            f"chat {request_model}", kind=SpanKind.CLIENT, attributes=attributes, start_time=started
        )
        call = ModelCall(span, started, self, provider, request_model)
        try:
            yield call
        except BaseException as error:
            call._end(messages, error)
            raise
        call._end(messages, None)


class TracedModel:
    """A chat model that does not trace itself (the offline tutor), with one GenAI span around each reply."""

    def __init__(self, model: ChatModel, telemetry: GenAITelemetry) -> None:
        self._model, self._telemetry = model, telemetry
        self.provider, self.model = model.provider, model.model

    def stream(self, request: ChatRequest) -> Iterator[str | ChatRecord]:
        with self._telemetry.call(
            provider=self.provider,
            request_model=self.model,
            conversation_id=request.conversation_id,
            messages=chat_messages(request),
            stream=True,
        ) as call:
            pieces: list[str] = []
            for item in self._model.stream(request):
                if isinstance(item, ChatRecord):
                    call.response(item.response_id, item.response_model)
                    call.finish(item.finish_reason, item.input_tokens, item.output_tokens, "".join(pieces))
                else:
                    call.chunk()
                    pieces.append(item)
                yield item


class SpanCollector(SpanProcessor):
    """Keeps ended spans per trace in memory until ``take``n: the "Your trace" view stores them with the
    exchange. Bounded: the oldest traces are dropped first, so traces nobody takes (Flask requests of other
    pages) cannot grow memory."""

    def __init__(self, max_traces: int = 1000, max_spans_per_trace: int = 256) -> None:
        self._max_traces, self._max_spans = max_traces, max_spans_per_trace
        self._traces: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do until the span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is None:
            return
        with self._lock:
            spans = self._traces.setdefault(context.trace_id, [])
            self._traces.move_to_end(context.trace_id)
            if len(spans) < self._max_spans:
                spans.append(span)
            while len(self._traces) > self._max_traces:
                self._traces.popitem(last=False)

    def take(self, trace_id: int) -> tuple[ReadableSpan, ...]:
        """The ended spans of a trace, forgotten here once taken."""
        with self._lock:
            return tuple(self._traces.pop(trace_id, ()))

    def shutdown(self) -> None:
        with self._lock:
            self._traces.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _json_safe(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | list) else value


def _ms(nanoseconds: int) -> float:
    return round(nanoseconds / 1e6, 1)


def span_tree(spans: Sequence[ReadableSpan], title: str | None = None) -> dict[str, Any]:
    """The chat's trace JSON (content/README.md): spans in start order, times in milliseconds from the earliest
    span's start (events too), attributes as JSON values. The tree's trace id is the first span's; a span of
    another trace carries its own."""
    ordered = sorted(spans, key=lambda s: s.start_time or 0)
    if not ordered:
        raise ValueError("a trace tree needs at least one span")
    origin = ordered[0].start_time or 0
    tree_trace_id = _trace_id(ordered[0])
    tree: dict[str, Any] = {"trace_id": tree_trace_id}
    if title is not None:
        tree["title"] = title
    tree["spans"] = [_span_json(span, origin, tree_trace_id) for span in ordered]
    return tree


def _trace_id(span: ReadableSpan) -> str:
    context = span.get_span_context()
    return format(context.trace_id if context else 0, "032x")


def _span_json(span: ReadableSpan, origin: int, tree_trace_id: str) -> dict[str, Any]:
    context = span.get_span_context()
    start, end = span.start_time or origin, span.end_time or span.start_time or origin
    data: dict[str, Any] = {
        "span_id": format(context.span_id if context else 0, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
    }
    if _trace_id(span) != tree_trace_id:
        data["trace_id"] = _trace_id(span)
    data |= {
        "name": span.name,
        "kind": span.kind.name,
        "start_ms": _ms(start - origin),
        "duration_ms": _ms(end - start),
        "status": span.status.status_code.name,
    }
    if span.status.description:
        data["status_message"] = span.status.description
    attributes: Mapping[str, Any] = span.attributes or {}
    data["attributes"] = {key: _json_safe(value) for key, value in attributes.items()}
    data["events"] = [{"name": event.name, "at_ms": _ms(event.timestamp - origin)} for event in span.events]
    return data


def configure_tracing(service_name: str, otlp_endpoint: str | None, collector: SpanCollector) -> TracerProvider:
    """A tracer provider that keeps every span in ``collector`` and, when ``otlp_endpoint`` (the value of
    ``OTEL_EXPORTER_OTLP_ENDPOINT``, a base URL) is set, also exports them over OTLP/HTTP to its ``/v1/traces``.
    The caller decides whether to make it the global provider."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(collector)
    if otlp_endpoint:
        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
