"""The lab model for any server that speaks OpenAI's chat-completions API (OpenAI, Azure OpenAI, Ollama, vLLM,
LiteLLM), through the ``openai`` client: the reply streams with ``stream_options.include_usage`` — a switch,
since some servers reject the option — under a bounded timeout and retry count; then a second, non-streaming
call judges the learner's message against the lab's rubric as structured JSON (Structured Outputs,
``response_format: json_schema``). Each call is its own GenAI span (``labs.tracing``).

Library errors become ``ModelUnavailableError`` so ``FallbackChat`` can hand the exchange to the offline tutor;
a judge that fails or answers nonsense is replaced by the tutor's judge and the reply stands.
"""

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import openai
from openai import Stream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from labs.chat import ChatRecord, ChatRequest, Verdict
from labs.errors import ModelUnavailableError
from labs.prompts import Message, chat_messages, judge_messages, parse_verdict, verdict_response_format
from labs.tracing import Endpoint, GenAITelemetry, ModelCall

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str | None  # None: OpenAI itself
    api_key: str | None  # None for servers that want none (Ollama, a local vLLM)
    model: str
    provider: str = "openai"  # gen_ai.provider.name: "openai", "azure.ai.openai", "ollama", …
    include_usage: bool = True  # send stream_options.include_usage; off for servers that reject it
    timeout_s: float = 30
    max_retries: int = 2
    judge: bool = True  # judge with the model; off: the tutor's judge for every message
    max_output_tokens: int = 1024  # caps one reply, so one message cannot spend a lab's whole token budget


@dataclass
class _Reply:
    """What the stream said besides its text."""

    response_id: str = ""
    response_model: str = ""
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


def endpoint_of(base_url: str) -> Endpoint:
    parts = urlsplit(base_url)
    return Endpoint(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))


def unavailable(error: openai.OpenAIError | ValueError, timeout_s: float) -> ModelUnavailableError:
    """Our error for the library's, with a reason for the log and record and an ``error.type`` for the span."""
    if isinstance(error, openai.APITimeoutError):
        return ModelUnavailableError(f"no answer within {timeout_s:g} s", "timeout")
    if isinstance(error, openai.APIStatusError):
        # The server's own words ({"error": {"message": …}}) rather than the client's "Error code: 429 - {…}".
        said = error.body.get("message") if isinstance(error.body, dict) else None
        detail = said if isinstance(said, str) else error.message
        return ModelUnavailableError(f"HTTP {error.status_code}: {detail}", str(error.status_code))
    if isinstance(error, openai.APIConnectionError):
        return ModelUnavailableError(f"connection failed or dropped: {error.__cause__ or error}", "connection_error")
    if isinstance(error, ValueError):
        return ModelUnavailableError(f"unreadable response: {error}", "invalid_response")
    return ModelUnavailableError(str(error), f"openai.{type(error).__name__}")


def _body(model: str, messages: tuple[Message, ...], **params: object) -> dict[str, object]:
    # The request as the API takes it. Sent through client.post rather than chat.completions.create, whose
    # recursive parameter transform costs ~20 ms per call for a lab's transcript and changes nothing in ours.
    return {"model": model, "messages": [{"role": m.role, "content": m.content} for m in messages], **params}


class OpenAIChat:
    """A ``ChatModel`` on an OpenAI-compatible server. Raises ``ModelUnavailableError`` when the reply fails."""

    def __init__(
        self, settings: OpenAISettings, telemetry: GenAITelemetry, judge_fallback: Callable[[ChatRequest], Verdict]
    ) -> None:
        self.provider, self.model = settings.provider, settings.model
        self._settings, self._telemetry, self._judge_fallback = settings, telemetry, judge_fallback
        base_url = settings.base_url or OPENAI_BASE_URL
        self._endpoint = endpoint_of(base_url)
        self._client = openai.OpenAI(
            base_url=base_url,
            # The client insists on a key; servers that need none ignore the header.
            api_key=settings.api_key or "unused",
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    def close(self) -> None:
        self._client.close()

    def stream(self, request: ChatRequest) -> Iterator[str | ChatRecord]:
        messages = chat_messages(request)
        pieces: list[str] = []
        with self._telemetry.call(
            provider=self.provider,
            request_model=self.model,
            conversation_id=request.conversation_id,
            messages=messages,
            stream=True,
            endpoint=self._endpoint,
        ) as call:
            reply = yield from self._reply(messages, call, pieces)
        verdict = self._judge(request, "".join(pieces))
        yield ChatRecord(
            response_id=reply.response_id,
            response_model=reply.response_model or self.model,
            finish_reason=reply.finish_reason or "",
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            verdict=verdict,
            provider=self.provider,
        )

    def _reply(self, messages: tuple[Message, ...], call: ModelCall, pieces: list[str]) -> Generator[str, None, _Reply]:
        reply = _Reply()
        try:
            usage = {"stream_options": {"include_usage": True}} if self._settings.include_usage else {}
            stream = self._client.post(
                "/chat/completions",
                body=_body(self.model, messages, stream=True, max_tokens=self._settings.max_output_tokens, **usage),
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=Stream[ChatCompletionChunk],
            )
            with stream:
                for chunk in stream:
                    call.chunk()
                    if not reply.response_id:
                        reply.response_id, reply.response_model = chunk.id, chunk.model
                        call.response(chunk.id, chunk.model)
                    if chunk.usage is not None:
                        reply.input_tokens = chunk.usage.prompt_tokens
                        reply.output_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices[:1]:  # we ask for one choice (n=1)
                        if choice.delta.content:
                            pieces.append(choice.delta.content)
                            yield choice.delta.content
                        if choice.finish_reason:
                            reply.finish_reason = choice.finish_reason
        except (openai.OpenAIError, ValueError) as error:
            raise unavailable(error, self._settings.timeout_s) from error
        if reply.finish_reason is None:
            raise ModelUnavailableError("the stream ended without a finish reason", "invalid_response")
        call.finish(reply.finish_reason, reply.input_tokens, reply.output_tokens, "".join(pieces))
        return reply

    def _judge(self, request: ChatRequest, reply: str) -> Verdict:
        """The model's verdict on the learner's message; the tutor's when the model cannot give a valid one."""
        if not self._settings.judge:
            return self._judge_fallback(request)
        messages = judge_messages(request, reply)
        try:
            with self._telemetry.call(
                provider=self.provider,
                request_model=self.model,
                conversation_id=request.conversation_id,
                messages=messages,
                stream=False,
                endpoint=self._endpoint,
                purpose="judge",
            ) as call:
                try:
                    completion = self._client.post(
                        "/chat/completions",
                        body=_body(self.model, messages, response_format=verdict_response_format(request.lab)),
                        cast_to=ChatCompletion,
                    )
                except (openai.OpenAIError, ValueError) as error:
                    raise unavailable(error, self._settings.timeout_s) from error
                call.response(completion.id, completion.model)
                choice = completion.choices[0] if completion.choices else None
                text = (choice.message.content if choice else None) or ""
                usage = completion.usage
                call.finish(
                    choice.finish_reason if choice else "",
                    usage.prompt_tokens if usage else None,
                    usage.completion_tokens if usage else None,
                    text,
                )
            return parse_verdict(text, request.lab)
        except (ModelUnavailableError, ValueError) as error:
            log.warning(
                "The judge %s/%s gave no usable verdict (%s); the offline tutor's judge decides for conversation %s.",
                self.provider,
                self.model,
                error,
                request.conversation_id,
            )
            return self._judge_fallback(request)
