"""Benchmark of the lab chat: the time the tool adds to a streamed lab exchange, with 20 chats at once.

The tool runs under gunicorn (``tracebook serve``), the LMS emulator in its own process, and an
OpenAI-compatible model server (``tests/fake_llm.py``, a real HTTP server on loopback) in this process, with
a fixed delay before its first chunk. ``--learners`` students are launched into Lab 2 (one through the
emulator's whole flow; the others with id_tokens signed by the emulator's key, each with its own login and
state cookie, since the emulator knows only a few people). Then ``--chats`` chats at once, each a student's
browser with a kept-alive connection, send ``--messages`` messages each through the streaming API
(``POST /api/labs/lab-2/messages``, Bearer token) and read the server-sent events as they come.

The fake server notes, on this process's ``time.perf_counter`` clock, when each model request arrived, when
its first content chunk was written and when its response ended, so per exchange:

(a) first-chunk overhead = the browser's first ``delta`` event received - the server's first content chunk
    written: what the tool adds between the provider's first chunk and the browser's;
(b) per-exchange overhead = (message sent -> ``done`` received) - the model calls' own time (the streamed
    reply and the judge call, each from its arrival at the model server to its last byte): everything the
    tool does outside the model calls (limits, storing the message and the reply, the transcript, spans).

Both are compared with the target: p99 <= 20 ms. With ``--offline`` the tool uses its offline scenario tutor:
there is no provider, so (a) is the whole time to the first ``delta`` and (b) the whole exchange.

    python benchmarks/labs.py                    # throwaway PostgreSQL database, 20 chats x 10 messages
    python benchmarks/labs.py --sqlite --offline
    python benchmarks/labs.py --smoke            # 2 chats x 2 messages, 1 worker, SQLite: the test suite's run

The model server shares this process (and its GIL) with the chats' reading threads, so its timestamps and the
browsers' are on one clock; a late reading thread counts against the tool, never in its favour. Missing a
target is reported, not an error: the exit status is non-zero only when an exchange failed (or fell back to
the tutor) or a server did not start.
"""

import argparse
import html
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import jwt
import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder would be first on sys.path, where benchmarks/labs.py and exports.py would
# shadow the packages of those names: the repository takes its place.
sys.path[0] = str(Path(__file__).resolve().parents[1])

# The launch benchmark's helpers: subprocess servers, CPU
# from /proc, the throwaway database, the emulator's pages.
from benchmarks.launch import (
    _AUTH_URL,
    _FORM_ACTION,
    _HIDDEN,
    REQUEST_TIMEOUT,
    LaunchClient,
    LaunchFailedError,
    Server,
    ServerError,
    _check,
    _find,
    _own_cpu,
    add_database_options,
    free_port,
    percentile,
    run_on_database,
    table,
)
from tests.fake_llm import FakeLLM, ServedTiming

TARGET_MS = 20.0
LAB = "lab-2"
MODEL = "gpt-4o-mini"
# A reply of the length a tutor's answer has, one word (about a token) per chunk, as providers stream.
REPLY = (
    "Good start. With 5,000 requests an hour, keep every trace that has an ERROR span or runs above your P99 "
    "latency, and a fixed share of the rest for baselines: that is tail sampling in the Collector, since the "
    "decision needs the whole trace. Which share of successful traces would you keep, and why?"
)
REPLY_PIECES = tuple(word + " " for word in REPLY.split(" "))
# What the learners write, in turn; each message starts with its tag, so the model server's requests can be
# matched to the exchange that made them.
MESSAGES = (
    "Our pipeline is FastAPI with the OpenAI SDK for GPT-4o and the Anthropic SDK as the fallback.",
    "I would use opentelemetry-instrumentation-openai and -anthropic so both providers follow the GenAI "
    "conventions and land in one trace.",
    "For sampling I keep every trace with an error or above the P99 latency in the Collector's tail sampler, "
    "plus 10% of the rest.",
    "Prompts carry PII, so the Collector hashes the prompt attributes before any span leaves our network.",
    "Should the BatchSpanProcessor export to the Collector over OTLP, or straight to the backend?",
    "Head-based TraceIdRatio sampling would lose the rare errors, which is why I prefer tail sampling.",
    "How do I see in the trace that the Claude fallback answered instead of GPT-4o?",
    "We run two backends: Langfuse for prompts and Jaeger for the service spans, both fed by the Collector.",
    "What should the tail sampler's decision wait be at 80 requests a minute?",
    "I would record gen_ai.usage input and output tokens on every call to watch the cost per request.",
)
_TAG = re.compile(r"\[c\d+-m\d+\]")


class ExchangeFailedError(Exception):
    pass


@dataclass(frozen=True)
class Exchange:
    """One message and its streamed reply, as the browser saw it (``time.perf_counter`` seconds)."""

    tag: str
    sent: float
    first_delta: float
    done: float
    fallback: str | None


@dataclass(frozen=True)
class ModelTime:
    """The model server's side of one exchange: its streamed reply and its judge call."""

    reply: ServedTiming
    judge: ServedTiming

    @property
    def seconds(self) -> float:
        return (self.reply.ended - self.reply.arrived) + (self.judge.ended - self.judge.arrived)


@dataclass
class Phase:
    name: str
    exchanges: list[Exchange] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0


# --- the learners ---------------------------------------------------------------------------------------------

# The platform's side of a login: given the browser and the tool's authorization URL, where to post and what.
IdTokenFor = Callable[[requests.Session, str], tuple[str, dict[str, str]]]


def _with_login_hint(login_url: str, hint: str) -> str:
    parts = urlsplit(login_url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, "login_hint": hint})))


def _launch(tool_url: str, login_url: str, id_token_for: IdTokenFor) -> str:
    """A fresh browser's launch: the tool's login (its state cookie), the platform's form post, the launch and
    the first page. Returns the session token the student's pages carry."""
    with requests.Session() as http:
        login = _check(http.get(login_url, timeout=REQUEST_TIMEOUT), "login")
        auth_url = _find(_AUTH_URL, login.text, "login")
        state_cookies = {name: value for name, value in login.cookies.items() if name.startswith("tb_state_")}
        action, fields = id_token_for(http, auth_url)
        # The state cookie is Secure, the tool plain http: send it as a browser on https would (see launch.py).
        launched = _check(
            http.post(action, data=fields, cookies=state_cookies, allow_redirects=False, timeout=REQUEST_TIMEOUT),
            "launch",
            303,
        )
        location = urljoin(tool_url, launched.headers["Location"])
        _check(http.get(location, timeout=REQUEST_TIMEOUT), "first page")
    token = parse_qs(urlsplit(location).query).get("s", [""])[0]
    if not token:
        raise LaunchFailedError(f"launch: the first page's address {location!r} carries no session token")
    return token


def launch_learners(tool_url: str, emulator_url: str, database_url: str, count: int) -> list[str]:
    """``count`` students launched into the lab, their session tokens. Ada goes through the emulator's own
    authorization; the emulator knows only a few people, so each other student's id_token is a copy of Ada's
    for another person (own sub, name, email and nonce), signed with the emulator's key from the database."""
    setup = LaunchClient(tool_url)
    login_url = setup.course_page(emulator_url, "ada", f"link-{LAB}").login_url
    setup.close()
    template: dict[str, Any] = {}

    def from_emulator(http: requests.Session, auth_url: str) -> tuple[str, dict[str, str]]:
        form = _check(http.get(auth_url, timeout=REQUEST_TIMEOUT), "emulator auth").text
        fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(form)}
        if set(fields) != {"id_token", "state"}:
            raise LaunchFailedError(f"emulator auth: the form_post lacks id_token or state ({sorted(fields)})")
        template.update(jwt.decode(fields["id_token"], options={"verify_signature": False}))
        return _find(_FORM_ACTION, form, "emulator auth"), fields

    tokens = [_launch(tool_url, login_url, from_emulator)]
    if count == 1:
        return tokens
    # Read with a plain query: importing the tool's package would add seconds to every run, the smoke test's too.
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            kid, private_pem = connection.execute(
                text("SELECT kid, private_pem FROM emulator_keys WHERE active")  # made by Ada's authorization
            ).one()
    finally:
        engine.dispose()

    def signed_for(person: str) -> IdTokenFor:
        def id_token_for(http: requests.Session, auth_url: str) -> tuple[str, dict[str, str]]:
            query = {name: values[0] for name, values in parse_qs(urlsplit(auth_url).query).items()}
            now = int(time.time())
            payload = {
                **template,
                "sub": f"moodle-user-{person}",
                "name": f"Learner {person}",
                "given_name": "Learner",
                "family_name": person,
                "email": f"{person}@example.edu",
                "nonce": query["nonce"],
                "iat": now,
                "exp": now + 300,
            }
            # As the emulator signs (lms_plugin.emulator.tokens.sign).
            id_token = jwt.encode(payload, private_pem, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
            return query["redirect_uri"], {"id_token": id_token, "state": query["state"]}

        return id_token_for

    for index in range(1, count):
        person = f"bench-{index:03d}"
        tokens.append(_launch(tool_url, _with_login_hint(login_url, person), signed_for(person)))
    return tokens


# --- the chats ------------------------------------------------------------------------------------------------


def _parse_event(block: bytes) -> tuple[str, dict[str, Any]]:
    lines = dict(line.split(": ", 1) for line in block.decode().split("\n") if ": " in line)
    return lines.get("event", ""), json.loads(lines.get("data", "{}"))


class Chat:
    """One student's browser on the lab page: a kept-alive connection, the session token as Bearer."""

    def __init__(self, tool_url: str, token: str) -> None:
        self.url = f"{tool_url}/api/labs/{LAB}/messages"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.http.close()

    def send(self, tag: str, text: str) -> Exchange:
        """Send a message and read its reply's events as they arrive; when each one came."""
        first_delta: float | None = None
        done: dict[str, Any] | None = None
        done_at = 0.0
        sent = time.perf_counter()
        with self.http.post(
            self.url, json={"message": f"{tag} {text}"}, stream=True, timeout=REQUEST_TIMEOUT
        ) as response:
            if response.status_code != 200:
                raise ExchangeFailedError(f"{tag}: HTTP {response.status_code}: {response.text[:300]!r}")
            pending = b""
            # chunk_size=None: each HTTP chunk as it arrives (the tool writes one per event), nothing held back.
            for data in response.iter_content(chunk_size=None):
                received = time.perf_counter()
                *blocks, pending = (pending + data).split(b"\n\n")
                for block in blocks:
                    name, payload = _parse_event(block)
                    if name == "delta" and first_delta is None:
                        first_delta = received
                    elif name == "done":
                        done, done_at = payload, received
        if first_delta is None or done is None:
            raise ExchangeFailedError(f"{tag}: the stream ended without a delta and a done event")
        return Exchange(tag, sent, first_delta, done_at, done.get("fallback"))


def run_phase(name: str, chats: Sequence[Chat], messages: int, kind: str) -> Phase:
    """Every chat sends ``messages`` messages, one after the other, all chats at once. ``kind`` goes into the
    tags: "m" for measured exchanges (the tags ``_TAG`` matches), anything else for the rest."""
    phase = Phase(name)
    lock = threading.Lock()
    start = threading.Barrier(len(chats) + 1)

    def converse(index: int, chat: Chat) -> None:
        start.wait()
        for number in range(messages):
            tag = f"[c{index:02d}-{kind}{number:02d}]"
            try:
                exchange = chat.send(tag, MESSAGES[(index + number) % len(MESSAGES)])
            except (ExchangeFailedError, requests.RequestException) as error:
                with lock:
                    phase.failures.append(str(error))
                continue
            with lock:
                phase.exchanges.append(exchange)

    threads = [threading.Thread(target=converse, args=(i, chat), name=f"chat-{i}") for i, chat in enumerate(chats)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.wall = time.perf_counter() - began
    return phase


def model_times(timings: Sequence[ServedTiming]) -> tuple[dict[str, ModelTime], list[str]]:
    """The model server's requests by exchange: the tag in the last message (the learner's for the reply; for
    the judge, the message it judges comes after the earlier ones it quotes). An exchange whose calls were not
    exactly one reply and one judge (a retry, a missing call) is a failure: its model time would be wrong."""
    found: dict[str, dict[bool, list[ServedTiming]]] = {}
    for timing in timings:
        messages = timing.request.body.get("messages") or [{}]
        tags = _TAG.findall(str(messages[-1].get("content", "")))
        if tags:
            found.setdefault(tags[-1], {True: [], False: []})[timing.request.is_judge].append(timing)
    times, failures = {}, []
    for tag, calls in found.items():
        if len(calls[False]) == 1 and len(calls[True]) == 1:
            times[tag] = ModelTime(reply=calls[False][0], judge=calls[True][0])
        else:
            failures.append(f"{tag}: {len(calls[False])} reply and {len(calls[True])} judge requests (expected 1 each)")
    return times, failures


# --- the figures ----------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _distribution(label: str, values: Sequence[float], target: bool) -> tuple[str, ...]:
    if not values:
        return (label, "0", "-", "-", "-", "-", "", "")
    p99 = percentile(values, 99)
    # Compared unrounded: a p99 of 20.004 ms is a miss even though it prints as 20.00.
    verdict = ("PASS" if p99 * 1000 <= TARGET_MS else "MISS") if target else ""
    return (
        label,
        str(len(values)),
        _ms(statistics.median(values)),
        _ms(percentile(values, 95)),
        _ms(p99),
        _ms(max(values)),
        f"<= {TARGET_MS:g}" if target else "",
        verdict,
    )


# --- the run --------------------------------------------------------------------------------------------------


def benchmark(args: argparse.Namespace, database_url: str, workdir: Path) -> int:
    tool_port, emulator_port = free_port(), free_port()
    tool_url = f"http://127.0.0.1:{tool_port}"
    emulator_url = f"http://localhost:{emulator_port}/emulator"
    fake = FakeLLM()
    fake.reply(*REPLY_PIECES, usage=(850, len(REPLY_PIECES)))
    fake.delay_first_chunk(args.first_chunk_delay)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TRACEBOOK_", "PG", "OTEL_"))}
    env.update(
        TRACEBOOK_ENV="demo",
        TRACEBOOK_DATABASE_URL=database_url,
        TRACEBOOK_SECRET_KEY="benchmark-" + uuid.uuid4().hex + uuid.uuid4().hex,
        TRACEBOOK_DATA_DIR=str(workdir / "data"),
        TRACEBOOK_BASE_URL=tool_url,
        TRACEBOOK_EMULATOR_URL=emulator_url,
        TRACEBOOK_WEB_WORKERS=str(args.workers),
        TRACEBOOK_WEB_THREADS=str(args.threads),
        TRACEBOOK_PORT=str(tool_port),
        TRACEBOOK_LOG_LEVEL="WARNING",
        # Limits high enough never to refuse a benchmark message.
        TRACEBOOK_LAB_EXCHANGES_PER_HOUR="10000",
        TRACEBOOK_LAB_TOKENS_PER_LAB="10000000",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    if not args.offline:
        env.update(TRACEBOOK_LLM_BASE_URL=fake.base_url, TRACEBOOK_LLM_MODEL=MODEL)
    servers: list[Server] = []
    chats: list[Chat] = []
    try:
        # The tool first: it migrates the database and registers the emulator's platforms before serving.
        tool = Server("tool", ["serve"], {**env, "PGAPPNAME": "tracebook-tool"}, workdir, tool_url)
        servers.append(tool)
        tool.wait_until_up("/")
        emulator = Server(
            "emulator",
            ["emulator", "--host", "127.0.0.1", "--port", str(emulator_port), "--workers", "1"],
            {**env, "PGAPPNAME": "tracebook-emulator"},
            workdir,
            emulator_url,
        )
        servers.append(emulator)
        emulator.wait_until_up("/")
        tokens = launch_learners(tool_url, emulator_url, database_url, args.learners)
        chats = [Chat(tool_url, token) for token in tokens[: args.chats]]
        # Warm-up (not measured): each chat's first message, all at once, so every worker has served a few.
        warmup = run_phase("warm-up", chats, 1, "w")
        served_before = len(fake.timings)
        tool_before, own_before = tool.cpu_seconds(), _own_cpu()
        measured = run_phase("measured", chats, args.messages, "m")
        tool_cpu, own_cpu = tool.cpu_seconds() - tool_before, _own_cpu() - own_before
    except (ServerError, LaunchFailedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        for chat in chats:
            chat.close()
        for server in reversed(servers):
            server.stop()
        fake.close()

    failures = warmup.failures + measured.failures
    exchanges = measured.exchanges
    if args.offline:
        first_chunk = [e.first_delta - e.sent for e in exchanges]
        overhead = [e.done - e.sent for e in exchanges]
        parts: list[tuple[str, list[float]]] = []
    else:
        times, mismatched = model_times(fake.timings[served_before:])
        failures += mismatched
        failures += [
            f"{e.tag}: the tutor answered instead of the model ({e.fallback})" for e in exchanges if e.fallback
        ]
        failures += [f"{e.tag}: the model server has no record of it" for e in exchanges if e.tag not in times]
        timed = [(e, times[e.tag]) for e in exchanges if e.tag in times and not e.fallback]
        first_chunk = [e.first_delta - m.reply.first_chunk for e, m in timed if m.reply.first_chunk is not None]
        overhead = [(e.done - e.sent) - m.seconds for e, m in timed]
        parts = [
            ("  of (b): sent -> reply request at the model ms", [m.reply.arrived - e.sent for e, m in timed]),
            ("  of (b): reply ended -> judge request arrives ms", [m.judge.arrived - m.reply.ended for e, m in timed]),
            ("  of (b): judge ended -> done received ms", [e.done - m.judge.ended for e, m in timed]),
            ("model calls per exchange (reply + judge) ms", [m.seconds for _, m in timed]),
        ]

    database = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    model = "the offline scenario tutor" if args.offline else f"an OpenAI-compatible server on loopback ({MODEL})"
    print(
        f"Tracebook lab chat benchmark: {database}, tool {args.workers} gunicorn workers x {args.threads} threads, "
        f"{os.cpu_count()} CPUs; {model}"
    )
    delay = "" if args.offline else f", first chunk after {args.first_chunk_delay:g} s, {len(REPLY_PIECES)} chunks"
    print(f"{args.chats} chats at once x {args.messages} messages to {LAB}, {args.learners} learners launched{delay}")
    print()
    print(f"{'phase':<9} {'chats':>5} {'exchanges':>9} {'failures':>8} {'seconds':>8}")
    for phase in (warmup, measured):
        print(f"{phase.name:<9} {len(chats):>5} {len(phase.exchanges):>9} {len(phase.failures):>8} {phase.wall:>8.2f}")
    print()
    if args.offline:
        labels = ("(a) time to first delta, no provider (whole) ms", "(b) whole exchange, sent -> done ms")
    else:
        labels = ("(a) first-chunk overhead (tool adds) ms", "(b) per-exchange overhead outside model calls ms")
    header = ("figure", "n", "median", "p95", "p99", "max", "target p99", "result")
    rows = [_distribution(labels[0], first_chunk, True), _distribution(labels[1], overhead, True)]
    rows += [_distribution(label, values, False) for label, values in parts]
    rows.append(
        _distribution("exchange as the browser sees it (sent -> done) ms", [e.done - e.sent for e in exchanges], False)
    )
    print(table(rows, header))
    print()
    count = max(len(exchanges), 1)
    print(
        table(
            [
                ("exchanges/s (measured phase)", f"{len(exchanges) / measured.wall:.1f}" if measured.wall else "0"),
                ("tool server CPU ms/exchange (gunicorn master+workers)", _ms(tool_cpu / count)),
                ("benchmark process CPU ms/exchange (chats + model server)", _ms(own_cpu / count)),
            ],
            ("figure", "value"),
        )
    )
    print()
    print(
        "Percentiles are nearest-rank; with fewer than 100 exchanges p99 is the maximum. Times are time.perf_counter\n"
        "readings in this process: the browsers' (chat threads) and the model server's."
    )
    print()
    for failure in failures[:10]:
        print(f"FAILED {failure}")
    print(f"exchanges={len(exchanges)} failures={len(failures)}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=None, help="chats at once [20; smoke 2]")
    parser.add_argument("--messages", type=int, default=None, help="measured messages per chat [10; smoke 2]")
    parser.add_argument("--learners", type=int, default=None, help="students launched [as many as chats]")
    parser.add_argument(
        "--first-chunk-delay", type=float, default=0.2, help="the model server's wait before its first chunk, s [0.2]"
    )
    parser.add_argument("--workers", type=int, default=None, help="the tool's gunicorn workers [2; smoke 1]")
    parser.add_argument("--threads", type=int, default=16, help="threads per gunicorn worker [16, as tracebook serve]")
    parser.add_argument("--offline", action="store_true", help="benchmark the offline scenario tutor instead")
    add_database_options(parser)
    args = parser.parse_args(argv)
    args.chats = args.chats or (2 if args.smoke else 20)
    args.messages = args.messages or (2 if args.smoke else 10)
    args.learners = args.learners or args.chats
    args.workers = args.workers or (1 if args.smoke else 2)
    if args.learners < args.chats:
        parser.error("every chat needs its own learner: --learners must be at least --chats")
    return run_on_database(args, benchmark, "tracebook-bench-labs-")


if __name__ == "__main__":
    sys.exit(main())
