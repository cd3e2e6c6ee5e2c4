"""xAPI statements delivered through the outbox to Ralph, a real LRS (tests/lrs.py): batches, outages, a worker
killed mid-batch, refused and conflicting statements, no LRS at all, and the admin's command line and pages."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from content import Module
from exports.xapi import ActivityIds, Learner, Statements, Where
from lms_plugin.db import Database
from lms_plugin.delivery import outbox_worker
from lms_plugin.emulator.platforms import PLATFORMS
from lms_plugin.models import AdminAudit, OutboxMessage, Platform
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.outbox.worker import OutboxWorker
from lms_plugin.xapi.sender import NO_LRS, NO_LRS_WAIT
from lms_plugin.xapi.store import queue_statement
from tests.conftest import USE_POSTGRES, FrozenClock, free_port
from tests.lrs import Ralph

from .admin_support import csrf_token
from .lti_support import settings_of

WAIT = 30.0  # seconds a test waits for another process at most (it normally takes milliseconds)


@pytest.fixture
def app_settings(ralph: Ralph) -> dict[str, Any]:
    """The tool's LRS is the session's Ralph."""
    return {"LRS_ENDPOINT": ralph.endpoint, "LRS_USERNAME": ralph.username, "LRS_PASSWORD": ralph.password}


def _statements(module: Module, count: int) -> list[dict[str, Any]]:
    """``count`` distinct answer statements about real questions, each valid."""
    build = Statements(ActivityIds("https://tracebook.test/xapi"), module)
    where = Where(
        issuer="https://lms.test",
        platform_name="Test LMS",
        deployment_id="d1",
        context_id="c1",
        context_scope_id="c1",
        context_title="Observability 101",
        resource_link_id="rl1",
    )
    quiz = module.quizzes[0]
    found = []
    for n in range(count):
        question = quiz.questions[n % len(quiz.questions)]
        option = question.options[n % len(question.options)]
        found.append(
            build.answered(
                Learner("https://lms.test", f"learner-{n % 40}"),
                where,
                str(uuid.UUID(int=n // len(quiz.questions) + 1)),
                quiz.id,
                question.id,
                option.id,
                option.correct,
                1,
                datetime(2026, 11, 28, 9, 30, tzinfo=UTC) + timedelta(seconds=n),
            )
        )
    return found


def _queue(db: Database, clock: FrozenClock, statements: list[dict[str, Any]], platform_id: int | None = None) -> None:
    with db.transaction() as session:
        outbox = Outbox(session, clock.now())
        for statement in statements:
            assert queue_statement(outbox, statement, platform_id, learner_id=None)


def _drain(worker: OutboxWorker) -> None:
    """Deliver everything that is due now."""
    while worker.run_once():
        pass


def _rows(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _states(db: Database) -> Counter[str]:
    return Counter(row.status for row in _rows(db))


def _stored_ids(ralph: Ralph) -> Counter[str]:
    return Counter(statement["id"] for statement in ralph.stored())


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT:g} s for {what}")
        time.sleep(0.01)


def _platform_id(db: Database, mode: str = "moodle") -> int:
    with db.transaction() as session:
        found = session.scalar(select(Platform.id).where(Platform.client_id == PLATFORMS[mode].client_id))
    assert found is not None
    return found


def test_statements_go_in_batches_of_at_most_100_each_stored_once_and_retrievable(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    statements = _statements(module, 250)
    _queue(db, clock, statements)
    worker = outbox_worker(app, "xapi-worker")
    worker.batch_size = 250  # the sender gets all 250 at once and must split them

    _drain(worker)

    posts = ralph.requests()
    assert [(p["statements"], p["status"]) for p in posts] == [(100, 200), (100, 200), (50, 200)]
    assert {p["version"] for p in posts} == {"1.0.3"}
    assert _states(db) == {Status.DELIVERED: 250}
    assert _stored_ids(ralph) == Counter(s["id"] for s in statements)  # each exactly once
    for statement in statements[::50]:
        stored = ralph.statement(statement["id"])
        assert stored is not None
        assert {k: v for k, v in stored.items() if k not in ("stored", "authority")} == statement


@pytest.mark.parametrize("app_settings", [{"XAPI_VERSION": "2.0.0"}])
def test_the_xapi_version_header_follows_the_setting(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph, app_settings: dict[str, str]
) -> None:
    with db.transaction() as session:  # the platform names the LRS: the tool itself has none here
        platform = session.get(Platform, _platform_id(db))
        assert platform is not None
        platform.lrs_endpoint, platform.lrs_username, platform.lrs_password = (
            ralph.endpoint,
            ralph.username,
            ralph.password,
        )
    _queue(db, clock, _statements(module, 3), platform_id=_platform_id(db))
    _drain(outbox_worker(app, "xapi-worker"))

    assert [(p["statements"], p["version"]) for p in ralph.requests()] == [(3, "2.0.0")]


def test_an_lrs_outage_during_500_statements_loses_none_and_stores_none_twice(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    statements = _statements(module, 500)
    _queue(db, clock, statements)
    worker = outbox_worker(app, "xapi-worker")
    assert worker.run_once() == 100

    # The worst moment: the LRS has stored the second batch, then dies before it answers.
    ralph.hold_responses(True)
    second = threading.Thread(target=worker.run_once)
    second.start()
    _wait_for(lambda: len(ralph.requests()) == 2, "the second batch to reach the LRS")
    ralph.stop(signal.SIGKILL)
    ralph.hold_responses(False)
    second.join(timeout=WAIT)
    assert not second.is_alive()
    _drain(worker)  # every batch fails while the LRS is down

    rows = _rows(db)
    assert Counter(r.status for r in rows) == {Status.DELIVERED: 100, Status.PENDING: 400}
    waiting = [r for r in rows if r.status == Status.PENDING]
    assert all(r.attempts == 1 and r.next_attempt_at > clock.now() for r in waiting)
    assert all(r.last_error and "did not answer" in r.last_error for r in waiting)
    assert len(_stored_ids(ralph)) == 200  # the LRS did keep the second batch

    ralph.start()
    clock.advance(hours=1)
    _drain(worker)

    assert _states(db) == {Status.DELIVERED: 500}
    assert _stored_ids(ralph) == Counter(s["id"] for s in statements)  # the resent batch was not stored again


def _worker_process(app: Flask, database_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    """`tracebook worker` in a process of its own, on the test's database and LRS."""
    settings = settings_of(app)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRACEBOOK_")},
        "TRACEBOOK_ENV": "test",
        "TRACEBOOK_DATABASE_URL": database_url,
        "TRACEBOOK_DATA_DIR": str(tmp_path / "worker-data"),
        "TRACEBOOK_BASE_URL": settings.base_url,
        "TRACEBOOK_EMULATOR_URL": settings.emulator_url,
        "TRACEBOOK_LRS_ENDPOINT": settings.xapi.lrs_endpoint or "",
        "TRACEBOOK_LRS_USERNAME": settings.xapi.lrs_username or "",
        "TRACEBOOK_LRS_PASSWORD": settings.xapi.lrs_password or "",
    }
    command = [str(Path(sys.executable).with_name("tracebook")), "worker"]
    log = (tmp_path / "worker.log").open("wb")
    # Its own working folder: a developer's .env must not reach it.
    process = subprocess.Popen(command, env=environment, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return process


def test_a_worker_killed_mid_batch_leaves_every_statement_to_the_next_one(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph, database_url: str, tmp_path: Path
) -> None:
    statements = _statements(module, 300)
    _queue(db, clock, statements)
    ralph.hold_responses(True)  # the LRS stores the first batch but the worker never hears back
    process = _worker_process(app, database_url, tmp_path)
    try:
        _wait_for(lambda: len(ralph.requests()) == 1, "the worker's first batch to reach the LRS")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=WAIT)
    ralph.hold_responses(False)
    assert _states(db) == {Status.PENDING: 300}  # nothing was recorded as delivered
    assert len(_stored_ids(ralph)) == 100

    # The next worker: on SQLite it waits out the dead one's lease; on PostgreSQL the server ends the dead
    # connection's transaction, and its row locks with it, as soon as it notices the connection closed.
    clock.advance(minutes=1)
    worker = outbox_worker(app, "next-worker")
    _wait_for(lambda: not worker.run_once() and _states(db) == {Status.DELIVERED: 300}, "the next worker's delivery")

    assert _stored_ids(ralph) == Counter(s["id"] for s in statements)
    assert {r.delivered_by for r in _rows(db)} == {"next-worker"}


def test_one_statement_the_lrs_refuses_is_dead_lettered_with_its_reason_and_99_are_delivered(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    statements = _statements(module, 100)
    del statements[37]["verb"]["id"]  # Ralph refuses a verb without an id (and accepts many things it should not)
    _queue(db, clock, statements)

    _drain(outbox_worker(app, "xapi-worker"))

    rows = _rows(db)
    assert Counter(r.status for r in rows) == {Status.DELIVERED: 99, Status.DEAD: 1}
    dead = rows[37]
    assert dead.status == Status.DEAD
    assert dead.last_error == "the LRS refused the statement (HTTP 422): verb.id: Field required"
    assert _stored_ids(ralph) == Counter(s["id"] for i, s in enumerate(statements) if i != 37)
    assert len(ralph.requests()) <= 1 + 2 * 7  # halving finds it in log2(100) rounds of two requests


def test_a_statement_the_lrs_holds_unchanged_is_delivered_and_a_different_one_is_a_conflict(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    same, changed, new = _statements(module, 3)
    assert ralph.post([same]).status_code == 200
    assert ralph.post([{**changed, "result": {**changed["result"], "success": not changed["result"]["success"]}}]).ok
    _queue(db, clock, [same, changed, new])

    _drain(outbox_worker(app, "xapi-worker"))

    rows = {r.key: r for r in _rows(db)}
    assert rows[same["id"]].status == Status.DELIVERED
    assert rows[new["id"]].status == Status.DELIVERED
    assert rows[changed["id"]].status == Status.DEAD
    assert rows[changed["id"]].last_error == (
        f"conflict: the LRS holds a different statement with id {changed['id']} (differs in result)"
    )
    assert _stored_ids(ralph) == Counter([same["id"], changed["id"], new["id"]])


class StrictConflictLrs:
    """An LRS that answers 409 to any statement id it holds, even for the same statement (as some LRSs do; Ralph
    accepts an identical resend silently), and returns its copy re-serialised as an LRS may: its own
    ``stored``/``authority``/``version``, the timestamp in another zone notation."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, Any]] = {}
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, Request.application(self._answer), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/xapi"

    def _answer(self, request: Request) -> Response:
        if request.method == "GET":
            found = self.held.get(request.args.get("statementId", ""))
            return Response(json.dumps(found), status=200 if found else 404, content_type="application/json")
        statements = request.get_json()
        if any(s["id"] in self.held for s in statements):
            return Response('{"message": "statement id already used"}', status=409, content_type="application/json")
        for s in statements:
            self.held[s["id"]] = {
                **s,
                "timestamp": s["timestamp"].replace("Z", "+00:00"),
                "stored": "2026-11-28T10:00:00+00:00",
                "authority": {"objectType": "Agent", "mbox": "mailto:lrs@example.org"},
                "version": "1.0.3",
            }
        return Response(json.dumps([s["id"] for s in statements]), content_type="application/json")


@pytest.fixture
def strict_lrs() -> Iterator[StrictConflictLrs]:
    lrs = StrictConflictLrs()
    lrs.thread.start()
    yield lrs
    lrs.server.shutdown()
    lrs.thread.join()


def test_a_409_for_a_statement_the_lrs_holds_unchanged_counts_as_delivered(
    app: Flask, db: Database, clock: FrozenClock, module: Module, strict_lrs: StrictConflictLrs
) -> None:
    statements = _statements(module, 4)
    with db.transaction() as session:
        platform = session.get(Platform, _platform_id(db))
        assert platform is not None
        platform.lrs_endpoint = strict_lrs.endpoint
    _queue(db, clock, statements[:2], platform_id=_platform_id(db))
    worker = outbox_worker(app, "xapi-worker")
    _drain(worker)
    with db.transaction() as session:  # as if the first two were lost here after the LRS took them
        session.execute(delete(OutboxMessage))
    _queue(db, clock, statements, platform_id=_platform_id(db))

    _drain(worker)

    assert _states(db) == {Status.DELIVERED: 4}
    assert set(strict_lrs.held) == {s["id"] for s in statements}


@pytest.mark.parametrize("app_settings", [{}])
def test_without_an_lrs_statements_wait_can_be_exported_and_go_once_one_is_configured(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph, app_settings: dict[str, str]
) -> None:
    moodle = _platform_id(db)
    statements = _statements(module, 5)
    _queue(db, clock, statements[:4], platform_id=moodle)
    _queue(db, clock, statements[4:], platform_id=None)
    worker = outbox_worker(app, "xapi-worker")
    _drain(worker)

    rows = _rows(db)
    assert {(r.status, r.last_error, r.next_attempt_at) for r in rows} == {
        (Status.PENDING, NO_LRS, clock.now() + NO_LRS_WAIT)
    }
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["xapi", "export"])
    assert exported.exit_code == 0, exported.output
    assert [json.loads(line) for line in exported.output.splitlines()] == statements

    configured = runner.invoke(
        args=[
            *("platform", "lrs", "--issuer", PLATFORMS["moodle"].issuer(settings_of(app).emulator_url)),
            *("--client-id", PLATFORMS["moodle"].client_id, "--endpoint", ralph.endpoint + "/"),
            *("--username", ralph.username, "--password-stdin"),
        ],
        input=ralph.password + "\n",
    )
    assert configured.exit_code == 0, configured.output
    assert f"go to {ralph.endpoint} as {ralph.username}" in configured.output
    _drain(worker)  # no waiting out the pause: configuring the LRS released them

    assert [r.status for r in _rows(db)] == [Status.DELIVERED] * 4 + [Status.PENDING]  # the last has no platform
    assert _stored_ids(ralph) == Counter(s["id"] for s in statements[:4])


def test_xapi_status_export_and_resend_on_the_command_line(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph, tmp_path: Path
) -> None:
    statements = _statements(module, 3)
    del statements[1]["actor"]
    _queue(db, clock, statements)
    _drain(outbox_worker(app, "xapi-worker"))
    runner = app.test_cli_runner()

    status = runner.invoke(args=["xapi", "status"])
    assert status.exit_code == 0, status.output
    assert status.output.startswith("pending: 0\nsent: 2\nfailed: 1\n")
    assert f"LRS: {ralph.endpoint} (xAPI 1.0.3)" in status.output

    out = tmp_path / "failed.jsonl"
    exported = runner.invoke(args=["xapi", "export", "--status", "failed", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == [statements[1]]

    resent = runner.invoke(args=["xapi", "resend"])
    assert resent.output == "1 statement is queued again.\n"
    assert runner.invoke(args=["xapi", "status"]).output.startswith("pending: 1\nsent: 2\nfailed: 0\n")
    with db.transaction() as session:
        assert session.scalars(select(AdminAudit.action)).all()[-1] == "xapi.resend"


USERNAME, PASSWORD = "root", "correct horse battery staple"


def _admin_client(app: Flask) -> FlaskClient:
    created = app.test_cli_runner().invoke(
        args=["admin", "create", "--username", USERNAME, "--password-stdin"], input=PASSWORD + "\n"
    )
    assert created.exit_code == 0, created.output
    client = app.test_client()
    token = csrf_token(client, "/admin/login")
    client.post("/admin/login", data={"csrf_token": token, "username": USERNAME, "password": PASSWORD})
    return client


def test_the_admin_sees_xapi_counts_and_resends_failed_statements(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    statements = _statements(module, 4)
    del statements[0]["actor"]
    _queue(db, clock, statements)
    _drain(outbox_worker(app, "xapi-worker"))
    client = _admin_client(app)

    dashboard = client.get("/admin/").get_data(as_text=True)
    assert re.search(r"<strong>0</strong> xAPI statements waiting</a>,\s+3 sent, 1 failed", dashboard)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "<td>0</td><td>3</td><td>1</td>" in page
    assert f"<code>{ralph.endpoint}</code>" in page
    assert "Resend 1 failed statement</button>" in page

    done = client.post("/admin/xapi/resend", data={"csrf_token": csrf_token(client, "/admin/outbox")})
    assert done.status_code == 303
    assert "1 statement is queued again" in client.get("/admin/outbox").get_data(as_text=True)
    assert _states(db) == {Status.DELIVERED: 3, Status.PENDING: 1}
    with db.transaction() as session:
        assert session.scalars(select(AdminAudit.action)).all()[-1] == "xapi.resend"


@pytest.mark.parametrize("app_settings", [{}])
def test_the_admin_names_a_platforms_lrs_and_its_waiting_statements_go(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph, app_settings: dict[str, str]
) -> None:
    moodle = PLATFORMS["moodle"]
    statements = _statements(module, 2)
    _queue(db, clock, statements, platform_id=_platform_id(db))
    worker = outbox_worker(app, "xapi-worker")
    _drain(worker)
    client = _admin_client(app)
    form = {
        "csrf_token": csrf_token(client, "/admin/platforms"),
        "issuer": moodle.issuer(settings_of(app).emulator_url),
        "client_id": moodle.client_id,
        "endpoint": ralph.endpoint,
        "username": ralph.username,
        "password": "",
        "actor_email": "off",
    }

    refused = client.post("/admin/platforms/lrs", data=form)
    assert refused.status_code == 303
    assert f"Give the password of the LRS user {ralph.username} as well." in client.get("/admin/platforms").get_data(
        as_text=True
    )
    client.post("/admin/platforms/lrs", data={**form, "password": ralph.password})
    page = client.get("/admin/platforms").get_data(as_text=True)
    assert "now go to " + ralph.endpoint in page
    assert f'value="{ralph.endpoint}"' in page
    assert ralph.password not in page
    assert 'value="off" selected' in page
    _drain(worker)

    assert _states(db) == {Status.DELIVERED: 2}
    with db.transaction() as session:
        platform = session.get(Platform, _platform_id(db))
        assert platform is not None
        assert (platform.lrs_username, platform.lrs_password, platform.xapi_actor_email) == (
            ralph.username,
            ralph.password,
            False,
        )
        assert session.scalars(select(AdminAudit.action)).all()[-1] == "platform.lrs"

    # Saved again with the password field blank: the stored password is kept.
    client.post("/admin/platforms/lrs", data={**form, "actor_email": "default"})
    with db.transaction() as session:
        platform = session.get(Platform, _platform_id(db))
        assert platform is not None
        assert (platform.lrs_password, platform.xapi_actor_email) == (ralph.password, None)


def test_many_workers_share_the_statements_without_sending_one_twice(
    app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    statements = _statements(module, 400)
    _queue(db, clock, statements)
    workers = [outbox_worker(app, f"worker-{i}") for i in (1, 2, 3)]
    for worker in workers:
        worker.batch_size = 50
    threads = [threading.Thread(target=_drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT * 2)

    assert _states(db) == {Status.DELIVERED: 400}
    assert _stored_ids(ralph) == Counter(s["id"] for s in statements)
    assert all(p["statements"] <= 50 for p in ralph.requests())
    if USE_POSTGRES:
        assert len({r.delivered_by for r in _rows(db)}) > 1  # they shared the rows
