"""Benchmark of gradebook sync: N learners submit the module test, K outbox workers post the scores to the LMS
emulator over HTTP, and every score must arrive exactly once.

* The LMS emulator runs in its own process (``tracebook emulator``, gunicorn), so each score is a real AGS
  post (with an OAuth 2 token obtained by a signed client assertion) to a separate server.
* The tool runs in this process: the app factory on the same database, served on a local port because the
  emulator verifies the tool's client assertions against the tool's JWKS URL. One real Moodle-mode launch
  of the module-test placement gives the course, the placement and its gradebook column; the learners are
  then created as that launch would create them (learner, module record, launch session), and each one's
  module test is started and submitted through ``AttemptService`` with ``GradeSync``, as the student pages
  do, so the scores are queued in the outbox by the product's own code, one transaction per request.
* Then ``--workers`` outbox workers (``tracebook worker`` processes) drain the outbox. The drain is timed
  from the moment the first worker runs until no message is pending; the emulator's gradebook (the
  ``emulator_scores`` table) is then checked: one graded score per learner, with the learner's score.

    python benchmarks/grades.py                  # throwaway PostgreSQL database, 1,000 submissions, 2 workers
    python benchmarks/grades.py --smoke          # 20 submissions on SQLite with 1 worker, as the test suite runs it

The exit status is non-zero only when a score was not delivered exactly once (or wrong), a message failed,
or a server did not start.
"""

import argparse
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

# Run as a script, this file's folder would be first on sys.path, where benchmarks/labs.py and exports.py would
# shadow the packages of those names: the repository takes its place.
sys.path[0] = str(Path(__file__).resolve().parents[1])
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

# The launch benchmark's helpers: subprocess servers, CPU from /proc, the throwaway database, a Moodle launch.
from benchmarks.launch import (
    LaunchClient,
    LaunchFailedError,
    PostgresBackends,
    Server,
    ServerError,
    _backend_delta,
    add_database_options,
    free_port,
    run_on_database,
    table,
)
from content.model import Option, Question
from lms_plugin import create_app
from lms_plugin.db import Database
from lms_plugin.emulator.registration import register_emulator
from lms_plugin.grades.sync import GradeSync, GradeTarget
from lms_plugin.lti.context import LaunchContext
from lms_plugin.lti.keys import ToolKeyService
from lms_plugin.lti.sessions import SessionService
from lms_plugin.models import Course, EmulatorScore, LaunchSession, OutboxMessage
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.services.attempts import AttemptService
from lms_plugin.services.course_settings import CourseSettingsService
from lms_plugin.services.records import LearnerIdentity, RecordRef, RecordService

ROOT = Path(__file__).resolve().parent.parent
PLACEMENT = "link-module-test"  # the test placed on its own: one gradebook column, so one score per submission
DRAIN_POLL = 0.01  # seconds between looks at the outbox while the workers drain it
_WORKER_STARTED = re.compile(r"^Outbox worker \S+ started\.$", re.M)
_TOKEN_LOG = re.compile(r'"POST /emulator/\w+/token [^"]*" 200 ')
_SCORE_LOG = re.compile(r'"POST /emulator/\w+/contexts/\S+/scores\S* [^"]*" (\d{3}) ')


@dataclass(frozen=True)
class Learner:
    sub: str
    token: str  # the signed session token, as the student's pages carry it
    right: int  # how many test questions this learner answers correctly: the score the gradebook must show


@dataclass
class Drain:
    startup: float = 0.0  # worker processes spawned -> the first one delivering
    seconds: float = 0.0  # the first worker delivering -> no message pending
    finished: bool = False
    worker_cpu: float = 0.0
    emulator_cpu: float = 0.0
    postgres_cpu: dict[str, float] = field(default_factory=dict)


# --- the tool, in this process --------------------------------------------------------------------------------


def tool_app(database_url: str, tool_url: str, emulator_url: str, secret: str, workdir: Path) -> Flask:
    app = create_app(
        {
            "ENV": "demo",
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret,
            "DATA_DIR": str(workdir / "data"),
            "BASE_URL": tool_url,
            "EMULATOR_URL": emulator_url,
            "EMULATOR": "true",
            "LOG_LEVEL": "WARNING",
        }
    )
    db: Database = app.extensions["tracebook.db"]
    # As `tracebook serve` does before serving: migrate, create the tool's key, register the emulator's platforms.
    db.upgrade()
    with db.transaction() as session:
        now = app.extensions["tracebook.clock"].now()
        ToolKeyService(session, now).current()
        register_emulator(session, app.config["TRACEBOOK"], now)
    return app


def serve_in_thread(app: Flask, port: int) -> BaseWSGIServer:
    """The tool's HTTP side (the launch, and its JWKS for the emulator's token endpoint) on a daemon thread."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="tool-server", daemon=True).start()
    return server


def launch_template(tool_url: str, emulator_url: str) -> None:
    """One real launch of the test's placement (Moodle mode: the emulator names the gradebook column in it)."""
    client = LaunchClient(tool_url)
    try:
        client.launch(client.course_page(emulator_url, "ada", PLACEMENT))
    finally:
        client.close()


def create_learners(app: Flask, count: int) -> list[Learner]:
    """``count`` learners in the launched course, each with a module record and a launch session on the test's
    placement: what the launch would have written for each of them (the launch itself is the other benchmark's)."""
    db: Database = app.extensions["tracebook.db"]
    clock = app.extensions["tracebook.clock"]
    module = app.extensions["tracebook.module"]
    settings = app.config["TRACEBOOK"]
    questions = len(module.test.questions)
    learners = []
    with db.transaction() as session:
        launched = session.scalars(select(LaunchSession)).one()
        template = LaunchContext.from_json(launched.context)
        course = session.get(Course, launched.course_id)
        assert course is not None
        records = RecordService(session, clock)
        sessions = SessionService(session, settings.secret_key, clock.now())
        for index in range(count):
            sub = f"bench-learner-{index:05d}"
            context = replace(template, sub=sub, name=f"Learner {index}", email=None)
            learner = records.learner(LearnerIdentity(context.issuer, sub, context.name))
            record = records.module_record(learner, course, module.id)
            token = sessions.open(
                context,
                learner_id=learner.id,
                course_id=course.id,
                placement_id=launched.placement_id,
                record_id=record.id,
                lifetime=timedelta(hours=6),
            )
            learners.append(Learner(sub, token, right=index % (questions + 1)))
    return learners


def submit_tests(app: Flask, learners: Sequence[Learner]) -> float:
    """Each learner starts the module test, then answers every question and submits it: two transactions, as
    the two requests of the test page; the submission queues the score in the outbox. Seconds taken."""
    db: Database = app.extensions["tracebook.db"]
    clock = app.extensions["tracebook.clock"]
    module = app.extensions["tracebook.module"]
    secret = app.config["TRACEBOOK"].secret_key
    test = module.test

    def as_student(session: Session, token: str) -> tuple[AttemptService, RecordRef]:
        # As the student pages build it: the placement's settings, the gradebook sync as the attempt's events.
        tool = SessionService(session, secret, clock.now()).resolve(token)
        settings = CourseSettingsService(session, module, clock.now()).effective(tool.placement_id, tool.record_id)
        grades = GradeSync(session, module, clock, GradeTarget.of(tool))
        attempts = AttemptService(session, module, clock, events=(grades,), settings=settings)
        return attempts, RecordRef(tool.record_id, tool.learner_id)

    started = time.perf_counter()
    for learner in learners:
        with db.transaction() as session:
            attempts, record = as_student(session, learner.token)
            attempt_id = attempts.resume_or_start(record, test.id).id
        with db.transaction() as session:
            attempts, record = as_student(session, learner.token)
            for index, question in enumerate(test.questions):
                option = question.correct_option if index < learner.right else _wrong(question)
                attempts.answer(record, attempt_id, question.id, option.id)
            attempts.submit(record, attempt_id)
    return time.perf_counter() - started


def _wrong(question: Question) -> Option:
    return next(option for option in question.options if not option.correct)


# --- the drain ------------------------------------------------------------------------------------------------


def _pending(db: Database) -> int:
    with db.transaction() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == Status.PENDING)
            )
            or 0
        )


def drain(db: Database, workers: Sequence[Server], emulator: Server, timeout: float) -> Drain:
    """Poll until no message is pending; the clock starts when the first worker says it runs."""
    result = Drain()
    spawned = time.perf_counter()
    ready_at: float | None = None
    postgres = PostgresBackends(db.url) if db.url.startswith("postgresql") else None
    cpu_before: tuple[float, float] = (0.0, 0.0)
    pg_before: dict[str, float] = {}
    while True:
        if ready_at is None and any(_WORKER_STARTED.search(worker.log_tail(5)) for worker in workers):
            ready_at = time.perf_counter()
            result.startup = ready_at - spawned
            cpu_before = (sum(w.cpu_seconds() for w in workers), emulator.cpu_seconds())
            pg_before = postgres.cpu_seconds() if postgres else {}
        for worker in workers:
            if worker.process.poll() is not None:
                raise ServerError(f"{worker.name} exited with {worker.process.returncode}:\n{worker.log_tail()}")
        if ready_at is not None and _pending(db) == 0:
            result.seconds = time.perf_counter() - ready_at
            result.finished = True
            break
        if time.perf_counter() - (ready_at or spawned) > timeout:
            result.seconds = time.perf_counter() - (ready_at or spawned)
            break
        time.sleep(DRAIN_POLL)  # polling the outbox while other processes drain it
    result.worker_cpu = sum(w.cpu_seconds() for w in workers) - cpu_before[0]
    result.emulator_cpu = emulator.cpu_seconds() - cpu_before[1]
    if postgres:
        after = postgres.cpu_seconds()
        result.postgres_cpu = {
            app: _backend_delta(pg_before, after, f"tracebook-{app}") for app in ("worker", "emulator")
        }
    return result


# --- the check ------------------------------------------------------------------------------------------------


@dataclass
class Gradebook:
    counts: dict[str, int]  # outbox messages by status
    received: int  # graded scores the emulator received
    progress: int  # progress-only posts it received (a superseded "Started" that went out anyway)
    retries: int  # sends that failed and were tried again
    failures: list[str]


def check_gradebook(app: Flask, learners: Sequence[Learner]) -> Gradebook:
    """Compare the emulator's gradebook with what each learner scored; any message left undelivered fails."""
    db: Database = app.extensions["tracebook.db"]
    failures: list[str] = []
    with db.transaction() as session:
        counts = Outbox(session, app.extensions["tracebook.clock"].now()).counts()
        retries = session.scalar(select(func.coalesce(func.sum(OutboxMessage.attempts), 0))) or 0
        for key, status, error in session.execute(
            select(OutboxMessage.key, OutboxMessage.status, OutboxMessage.last_error).where(
                OutboxMessage.status.in_([Status.PENDING, Status.DEAD, Status.NOT_GRADABLE])
            )
        ):
            failures.append(f"outbox message {key} is {status}: {error or 'not sent yet'}")
        received = session.execute(
            select(EmulatorScore.user_id, EmulatorScore.score_given, EmulatorScore.grading_progress)
        ).all()
    graded: dict[str, list[float | None]] = defaultdict(list)
    progress = 0
    for user_id, score, grading in received:
        if grading == "FullyGraded":
            graded[user_id].append(score)
        else:
            progress += 1
    for learner in learners:
        scores = graded.get(learner.sub, [])
        if len(scores) != 1:
            failures.append(f"{learner.sub}: the gradebook received {len(scores)} scores (expected exactly 1)")
        elif scores[0] != learner.right:
            failures.append(f"{learner.sub}: the gradebook shows {scores[0]} (expected {learner.right})")
    subs = {learner.sub for learner in learners}
    failures += [f"{user}: a score for somebody the benchmark did not create" for user in graded if user not in subs]
    return Gradebook(counts, sum(len(s) for s in graded.values()), progress, int(retries), failures)


# --- the run --------------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def benchmark(args: argparse.Namespace, database_url: str, workdir: Path) -> int:
    tool_port, emulator_port = free_port(), free_port()
    tool_url = f"http://127.0.0.1:{tool_port}"
    emulator_url = f"http://localhost:{emulator_port}/emulator"
    secret = "benchmark-" + uuid.uuid4().hex + uuid.uuid4().hex
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TRACEBOOK_", "PG"))}
    env.update(
        TRACEBOOK_ENV="demo",
        TRACEBOOK_DATABASE_URL=database_url,
        TRACEBOOK_SECRET_KEY=secret,
        TRACEBOOK_DATA_DIR=str(workdir / "data"),
        TRACEBOOK_BASE_URL=tool_url,
        TRACEBOOK_EMULATOR_URL=emulator_url,
        TRACEBOOK_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",  # the workers' "started" line must reach their log at once
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    # The in-process tool reads .env from the working directory: a developer's file must not leak in.
    os.chdir(workdir)
    app = tool_app(database_url, tool_url, emulator_url, secret, workdir)
    db: Database = app.extensions["tracebook.db"]
    tool = serve_in_thread(app, tool_port)
    servers: list[Server] = []
    try:
        emulator = Server(
            "emulator",
            ["emulator", "--host", "127.0.0.1", "--port", str(emulator_port), "--workers", str(args.emulator_workers)],
            {**env, "PGAPPNAME": "tracebook-emulator"},
            workdir,
            emulator_url,
        )
        servers.append(emulator)
        emulator.wait_until_up("/")
        launch_template(tool_url, emulator_url)
        learners = create_learners(app, args.submissions)
        queue_seconds = submit_tests(app, learners)
        queued = _pending(db)

        workers = [
            Server(f"worker-{i + 1}", ["worker"], {**env, "PGAPPNAME": "tracebook-worker"}, workdir, "")
            for i in range(args.workers)
        ]
        servers += workers
        drained = drain(db, workers, emulator, args.timeout)
        for worker in workers:
            worker.stop()
        emulator.stop()  # flushes its access log before it is read
        log = emulator.log_path.read_text(errors="replace")
    except (ServerError, LaunchFailedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        for server in reversed(servers):
            server.stop()
        tool.shutdown()

    gradebook = check_gradebook(app, learners)
    db.dispose()
    failures = gradebook.failures
    if not drained.finished:
        failures.insert(0, f"the outbox still had pending messages after {args.timeout:g} s")
    tokens = len(_TOKEN_LOG.findall(log))
    score_posts = defaultdict(int)
    for status in _SCORE_LOG.findall(log):
        score_posts[status] += 1
    delivered = gradebook.counts[Status.DELIVERED]
    per_score = max(delivered, 1)
    drain_seconds = max(drained.seconds, 1e-6)
    database = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    rows = [
        ("submissions", str(len(learners))),
        ("outbox workers (tracebook worker processes)", str(args.workers)),
        ("database", database),
        ("scores queued (pending messages)", str(queued)),
        ("time to queue s (start + submit, in-process)", f"{queue_seconds:.2f}"),
        ("submissions/s queued", f"{len(learners) / max(queue_seconds, 1e-6):.1f}"),
        ("worker start-up s (not in the drain)", f"{drained.startup:.2f}"),
        ("time to drain s", f"{drained.seconds:.2f}"),
        ("scores/s delivered", f"{delivered / drain_seconds:.1f}"),
        ("scores delivered (outbox)", str(delivered)),
        ("scores received (emulator gradebook)", str(gradebook.received)),
        ("progress-only posts received", str(gradebook.progress)),
        ("score posts by status (emulator log)", " ".join(f"{k}:{v}" for k, v in sorted(score_posts.items()))),
        ("retried sends", str(gradebook.retries)),
        ("tokens fetched", str(tokens)),
        ("worker CPU ms/score", _ms(drained.worker_cpu / per_score)),
        ("emulator CPU ms/score", _ms(drained.emulator_cpu / per_score)),
        *(
            (f"PostgreSQL backend CPU ms/score ({name})", _ms(cpu / per_score))
            for name, cpu in drained.postgres_cpu.items()
        ),
        ("failures", str(len(failures))),
    ]
    print(
        f"Tracebook grades benchmark: {database}, {args.workers} outbox worker processes, emulator "
        f"{args.emulator_workers} workers, {os.cpu_count()} CPUs, Moodle AGS (one column: the module test)"
    )
    print()
    print(table(rows, ("figure", "value")))
    print()
    print(
        "Each submission is the module test started and submitted through AttemptService + GradeSync (two\n"
        "transactions, as the test page's two requests); the started test's progress message is superseded by\n"
        "the score while still pending. The drain is timed from the first worker running until no message is\n"
        "pending; tokens are counted in the emulator's access log. CPU is over the drain, from /proc."
    )
    print()
    for failure in failures[:10]:
        print(f"FAILED {failure}")
    print(f"submissions={len(learners)} delivered={gradebook.received} failures={len(failures)}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=None, help="learners submitting the test [1000; smoke 20]")
    parser.add_argument("--workers", type=int, default=None, help="outbox worker processes [2; smoke 1]")
    parser.add_argument("--emulator-workers", type=int, default=2, help="the emulator's gunicorn workers [2]")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the drain may take at most [300]")
    add_database_options(parser)
    args = parser.parse_args(argv)
    args.submissions = args.submissions or (20 if args.smoke else 1000)
    args.workers = args.workers or (1 if args.smoke else 2)

    return run_on_database(args, benchmark, "tracebook-grades-bench-")


if __name__ == "__main__":
    sys.exit(main())
