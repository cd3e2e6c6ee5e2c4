"""A real HTTP server on loopback that speaks the OpenAI chat-completions API (POST /v1/chat/completions), for the
tests of the OpenAI-compatible lab model. openai 3.x sends through httpx2, which respx cannot intercept, so the
client under test talks to this server over a real socket.

It answers streaming requests as server-sent events the way OpenAI does — chunks with id, model, choices[].delta
and finish_reason, a final ``choices: []`` chunk carrying ``usage`` when ``stream_options.include_usage`` was
asked, then ``data: [DONE]`` — and non-streaming requests with one completion (the judge's JSON when the request
has a ``response_format``). Failures are scripted per test: 429, 500, a hang longer than the client's timeout, a
400 for ``stream_options`` on a server that rejects it, a connection dropped mid-stream, an unparseable chunk.
Every request received is logged for assertions. One server serves the whole session; ``reset()`` between tests.
For benchmarks it also notes when it served each request (``timings``), on ``time.perf_counter``'s clock: a
benchmark in the same process subtracts these from its own readings to tell the model's time from the tool's.
"""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_REPLY = ("The redis_get span ", "takes 408 ms ", "before the LLM call.")
DEFAULT_JUDGE = json.dumps({"rubric_hits": [], "scenario_id": None, "substantive": True})


class Failure(StrEnum):
    RATE_LIMITED = "429"  # 429 with Retry-After: 0
    SERVER_ERROR = "500"
    HANG = "hang"  # no answer for longer than any test's client timeout
    DROP = "drop"  # stream two chunks, then close the connection without ending the chunked body
    GARBAGE = "garbage"  # stream a chunk that is not JSON


class Target(StrEnum):
    ANY = "any"
    REPLY = "reply"  # the reply: every request without a response_format
    JUDGE = "judge"  # the judge: requests with a response_format


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def is_judge(self) -> bool:
        return "response_format" in self.body


@dataclass(frozen=True)
class ServedTiming:
    """When one request was served, in ``time.perf_counter`` seconds (this process's clock)."""

    request: ReceivedRequest
    arrived: float  # the handler had the request line and headers
    first_chunk: float | None  # the first chunk with content was written (streamed replies only)
    ended: float  # the last byte of the response was written


@dataclass
class Script:
    """What the server does; tests change it through ``FakeLLM``'s methods."""

    pieces: tuple[str, ...] = DEFAULT_REPLY
    finish_reason: str = "stop"
    response_model: str | None = None  # None: echo the requested model
    usage: tuple[int, int] = (120, 30)  # prompt_tokens, completion_tokens
    judge: str = DEFAULT_JUDGE
    first_chunk_delay_s: float = 0.0
    reject_stream_options: bool = False
    failure: Failure | None = None
    failure_target: Target = Target.ANY
    failures_left: int = 0
    requests: list[ReceivedRequest] = field(default_factory=list)
    timings: list[ServedTiming] = field(default_factory=list)
    served: int = 0


class FakeLLM:
    """The server and its script. ``base_url`` is what an OpenAI client is configured with."""

    hang_s = 5.0  # the hang ends sooner when the test resets the server

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script = Script()
        self._wake = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        self._wake.set()  # end any hang left over from the previous test
        with self._lock:
            self._script = Script()
        self._wake = threading.Event()

    def close(self) -> None:
        self._wake.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def reply(
        self,
        *pieces: str,
        finish_reason: str = "stop",
        response_model: str | None = None,
        usage: tuple[int, int] = (120, 30),
    ) -> None:
        with self._lock:
            self._script.pieces = pieces
            self._script.finish_reason = finish_reason
            self._script.response_model = response_model
            self._script.usage = usage

    def judge(self, content: str) -> None:
        """The judge's reply content, verbatim (usually JSON; anything else to test the fallback)."""
        with self._lock:
            self._script.judge = content

    def delay_first_chunk(self, seconds: float) -> None:
        with self._lock:
            self._script.first_chunk_delay_s = seconds

    def reject_stream_options(self) -> None:
        with self._lock:
            self._script.reject_stream_options = True

    def fail(self, failure: Failure, *, times: int = 1_000, target: Target = Target.ANY) -> None:
        """Fail the next ``times`` requests to ``target`` (all of them by default)."""
        with self._lock:
            self._script.failure, self._script.failure_target, self._script.failures_left = failure, target, times

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._script.requests)

    @property
    def timings(self) -> list[ServedTiming]:
        """Requests answered to the end (not the hangs and dropped streams), in the order they ended."""
        with self._lock:
            return list(self._script.timings)

    def _served(self, script: Script, timing: ServedTiming) -> None:
        with self._lock:
            script.timings.append(timing)

    def _receive(self, request: ReceivedRequest) -> tuple[Script, Failure | None, int]:
        """Log the request; the script to answer it with, the failure to play (if any) and its serial number."""
        with self._lock:
            script = self._script
            script.requests.append(request)
            script.served += 1
            failure = None
            aimed = script.failure_target is Target.ANY or (script.failure_target is Target.JUDGE) == request.is_judge
            if script.failure is not None and script.failures_left > 0 and aimed:
                script.failures_left -= 1
                failure = script.failure
            return script, failure, script.served

    def _hang(self) -> None:
        self._wake.wait(self.hang_s)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timed out, closed the stream) is part of the script, not a server error."""


def _handler_for(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked bodies, so a dropped connection is an error, not an end

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is ``FakeLLM.requests``."""

        def do_POST(self) -> None:
            arrived = time.perf_counter()
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            request = ReceivedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                return
            script, failure, serial = fake._receive(request)
            first_chunk: float | None = None
            if failure is Failure.RATE_LIMITED:
                # retry-after-ms as well, which the openai client prefers: it retries after 1 ms, not 0.5 s backoff.
                headers = {"Retry-After": "0", "retry-after-ms": "1"}
                self._json(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}, headers)
            elif failure is Failure.SERVER_ERROR:
                self._json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
            elif failure is Failure.HANG:
                fake._hang()
                self.close_connection = True
                return
            elif body.get("stream"):
                first_chunk = self._stream(body, script, failure, serial)
                if failure is Failure.DROP:
                    return
            else:
                self._complete(body, script, serial)
            fake._served(script, ServedTiming(request, arrived, first_chunk, time.perf_counter()))

        def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _complete(self, body: dict[str, Any], script: Script, serial: int) -> None:
            is_judge = "response_format" in body
            content = script.judge if is_judge else "".join(script.pieces)
            prompt_tokens, completion_tokens = (40, 12) if is_judge else script.usage
            self._json(
                200,
                {
                    "id": f"chatcmpl-fake-{serial}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": script.response_model or body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop" if is_judge else script.finish_reason,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                },
            )

        def _stream(self, body: dict[str, Any], script: Script, failure: Failure | None, serial: int) -> float | None:
            """Stream the reply; when its first content chunk was written."""
            if "stream_options" in body and script.reject_stream_options:
                message = "Unrecognized request argument supplied: stream_options"
                self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                return None
            first_chunk: float | None = None
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            base = {
                "id": f"chatcmpl-fake-{serial}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": script.response_model or body["model"],
            }
            usage_field = {"usage": None} if include_usage else {}
            time.sleep(script.first_chunk_delay_s)
            for index, piece in enumerate(script.pieces):
                if index == 2 and failure is Failure.DROP:
                    self.connection.shutdown(socket.SHUT_RDWR)  # no terminating chunk: the body is cut short
                    self.close_connection = True
                    return first_chunk
                if index == 1 and failure is Failure.GARBAGE:
                    self._chunk(b"data: {this is not json\n\n")
                delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
                choice = {"index": 0, "delta": delta, "finish_reason": None}
                self._event({**base, "choices": [choice], **usage_field})
                if first_chunk is None and piece:
                    first_chunk = time.perf_counter()
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": script.finish_reason}]})
            if include_usage:
                prompt_tokens, completion_tokens = script.usage
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                }
                self._event({**base, "choices": [], "usage": usage})
            self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            return first_chunk

        def _event(self, payload: object) -> None:
            self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler
