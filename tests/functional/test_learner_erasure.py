"""An erasure request (issue 9's acceptance): after a full run (lessons, quizzes, labs, the test, a certificate)
the admin erases the learner, and nothing the tool keeps still holds their sub, name, e-mail or a marker from their
lab messages — not a row of any tool table, not a file in the storage folder, not a log line. The voiding
statements reach a real LRS (Ralph), the certificate says revoked without the name, and another learner's rows are
exactly as they were.

The ``emulator_*`` tables are left out of the search: they are the built-in LMS's own data (its gradebook keeps
the scores it received, by the LMS's user id), kept in the tool's database only for convenience; a real LMS keeps
its gradebook, and erasing there is the LMS's business.
"""

import getpass
import io
import json
import logging
import re
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from content import Module
from exports.xapi.voiding import voiding_statement_id
from lms_plugin.db import Database
from lms_plugin.delivery import outbox_worker
from lms_plugin.models import (
    AdminAudit,
    Base,
    CertificateRow,
    DeliveredStatement,
    InstructorAudit,
    Learner,
    ModuleRecord,
    OutboxMessage,
    RosterMember,
)
from lms_plugin.outbox.delivery import Delivered, Message, Outcome, Sender
from lms_plugin.outbox.store import Status
from lms_plugin.outbox.worker import OutboxWorker
from lms_plugin.services.certificate_pdfs import CertificatePdfSender, pdf_name
from lms_plugin.services.certificates import CHANNEL as CERTIFICATES
from lms_plugin.services.erasure import CERTIFICATE_REASON, ERASED_NAME, ErasureReport, LearnerErasure, checkpoint
from lms_plugin.services.learner_export import LEARNER_TABLES, export_learner
from lms_plugin.services.retention import DailyPurge
from lms_plugin.storage import FileStorage
from lms_plugin.xapi.store import CHANNEL as XAPI
from tests.conftest import USE_POSTGRES, FrozenClock
from tests.lrs import Ralph
from tests.pdf_reading import pdf_text

from .admin_support import USERNAME, log_in_admin
from .lti_support import launch_as, login_params, session_token
from .student_run import answer_quiz, full_run
from .test_grades import _drain, _take_test
from .test_labs import send

pytestmark = pytest.mark.usefixtures("live_server")
SUB = "lti-3f9d2e71-erasure-request"
NAME = "Ottoline Varga-Pemberton"
EMAIL = "o.varga.pemberton.8812@uni-example.org"
MARKER = "heron-quartz-6093"
SEARCHED = (SUB, NAME, "Varga-Pemberton", EMAIL, MARKER)


@pytest.fixture
def app_settings(ralph: Ralph) -> dict[str, Any]:
    return {"LRS_ENDPOINT": ralph.endpoint, "LRS_USERNAME": ralph.username, "LRS_PASSWORD": ralph.password}


def _dump(db: Database) -> str:
    """Every row of every tool table, as text."""
    with db.engine.connect() as connection:
        return "\n".join(
            f"{table.name}: {row}"
            for table in Base.metadata.sorted_tables
            if not table.name.startswith("emulator_")
            for row in connection.execute(table.select())
        )


def _rows_of(db: Database, learner_id: int, sub: str) -> dict[str, list[str]]:
    with db.engine.connect() as connection:
        rows = {
            table.name: sorted(
                str(r) for r in connection.execute(table.select().where(table.c.learner_id == learner_id))
            )
            for table in LEARNER_TABLES
        }
        rows["learners"] = [
            str(r) for r in connection.execute(Learner.__table__.select().where(Learner.id == learner_id))
        ]
        roster = RosterMember.__table__.select().where(RosterMember.user_id == sub)
        rows["roster_members"] = [str(r) for r in connection.execute(roster)]
    return rows


def _stored_files(app: Flask, scratch: Path) -> str:
    """What the storage folder's files say, PDFs read as text (their content streams are compressed)."""
    root: Path = app.config["TRACEBOOK"].certificates.storage_dir
    texts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        texts.append(pdf_text(data, scratch) if data.startswith(b"%PDF") else data.decode("utf-8", "replace"))
    return "\n".join(texts)


def _sqlite_files(app: Flask) -> bytes:
    path = Path(app.config["TRACEBOOK"].database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _other_learner(client: FlaskClient, app: Flask, db: Database, module: Module) -> tuple[int, str]:
    """Grace: a lesson, a quiz, a lab message and a passed test of her own."""
    token = session_token(launch_as(client, app, person="grace"))
    assert client.get("/s/lesson-1", query_string={"s": token}).status_code == 200
    answer_quiz(client, token, module, module.quizzes[0].id)
    assert send(client, token, "lab-2", "We run FastAPI and call OpenAI; where do spans start?")[0] == 200
    _take_test(client, token, module, right=13)
    with db.transaction() as session:
        grace = session.scalars(select(Learner).where(Learner.sub.endswith("grace"))).one()
        return grace.id, grace.sub


def _roster_entries(db: Database, subs: list[tuple[str, str | None, str | None]]) -> None:
    """The course roster as an NRPS fetch stores it (the emulator's roster lists only its own people)."""
    with db.transaction() as session:
        course_id = session.scalars(select(ModuleRecord.course_id)).first()
        issuer = session.scalars(select(Learner.issuer)).first()
        for user_id, name, email in subs:
            session.add(
                RosterMember(
                    course_id=course_id, issuer=issuer, user_id=user_id, name=name, email=email,
                    roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], status="Active",
                )
            )  # fmt: skip


def test_erasure_leaves_nothing_of_the_learner_and_nothing_else_changes(
    client: FlaskClient,
    app: Flask,
    db: Database,
    clock: FrozenClock,
    module: Module,
    ralph: Ralph,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL, given_name="Ottoline",
                                    family_name="Varga-Pemberton"))  # fmt: skip
    full_run(client, token, db, clock, module)
    assert send(client, token, "lab-2", f"Every prompt carries the tag {MARKER}; do spans need it?")[0] == 200
    with db.transaction() as session:
        learner_id = session.scalars(select(Learner.id).where(Learner.sub == SUB)).one()
    other_id, other_sub = _other_learner(client, app, db, module)
    teacher = session_token(launch_as(client, app, person="alan", unit="module-test"))
    assert client.post(f"/instructor/students/{learner_id}/extra-attempt", data={"s": teacher}).status_code == 303
    _roster_entries(db, [(SUB, NAME, EMAIL), (other_sub, "Grace Student", "grace@example.edu")])
    _drain(app, clock)  # scores to the gradebook, statements to Ralph, certificate PDFs rendered

    with db.transaction() as session:
        delivered = list(
            session.scalars(
                select(OutboxMessage.key).where(
                    OutboxMessage.learner_id == learner_id,
                    OutboxMessage.channel == "xapi",
                    OutboxMessage.status == Status.DELIVERED,
                )
            )
        )
        [certificate] = session.scalars(select(CertificateRow).where(CertificateRow.learner_id == learner_id)).all()
    assert len(delivered) > 50
    assert certificate.pdf_path is not None
    # Each place searched afterwards holds each value now: the search would find them.
    dump, stored = _dump(db), _stored_files(app, tmp_path / "before")
    assert [value for value in SEARCHED if value not in dump] == []
    assert NAME in stored
    others = _rows_of(db, other_id, other_sub)
    assert all(others[name] for name in ("learners", "attempts", "lab_exchanges", "certificates", "roster_members"))

    csrf = log_in_admin(client, app)
    issuer = login_params(app)["iss"]
    form = {"csrf_token": csrf, "issuer": issuer, "sub": SUB}
    summary = client.post("/admin/learners/", data=form).get_data(as_text=True)
    assert NAME in summary
    assert "Download the export" in summary
    assert "Type ERASE" in client.post("/admin/learners/erase/confirm", data=form).get_data(as_text=True)
    refused = client.post("/admin/learners/erase", data={**form, "confirmation": "yes please"})
    assert refused.status_code == 400
    assert "Nothing was erased" in refused.get_data(as_text=True)
    assert SUB in _dump(db)
    forged = {"issuer": issuer, "sub": SUB, "confirmation": "ERASE"}  # no CSRF token: not from our page
    assert client.post("/admin/learners/erase", data=forged).status_code == 400
    done = client.post("/admin/learners/erase", data={**form, "confirmation": "ERASE"})
    page = done.get_data(as_text=True)
    assert done.status_code == 200, page
    reference = re.search(r"ERASE-[0-9A-Z]{6}", page)
    assert reference is not None
    voided = re.search(r"<dt>Learning records voided</dt><dd>(\d+)", page)
    assert voided is not None
    assert int(voided.group(1)) == len(delivered)
    assert f"account homePage={issuer} name={SUB}" in page  # for the LRS operator, shown once
    _drain(app, clock)  # the voiding statements go out

    # Nothing of the learner in any tool table, in the storage folder, in the logs.
    dump = _dump(db)
    assert [value for value in SEARCHED if value in dump] == []
    assert [value for value in SEARCHED if value in _stored_files(app, tmp_path / "after")] == []
    assert [value for value in SEARCHED if value in caplog.text] == []
    if not USE_POSTGRES:
        # Nor in the database file's free pages or write-ahead log. The sub is still there: the emulator's own
        # gradebook (emulator_scores) keeps the scores it received under it, as a real LMS would.
        raw = _sqlite_files(app)
        assert [value for value in (NAME, EMAIL, MARKER) if value.encode() in raw] == []

    # The LRS accepted a voiding statement for each statement it had; none names the learner.
    for statement_id in delivered:
        voiding = ralph.statement(voiding_statement_id(statement_id))
        assert voiding is not None, statement_id
        assert voiding["object"] == {"objectType": "StatementRef", "id": statement_id}
        assert voiding["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided"
        assert SUB not in str(voiding["actor"])

    with db.transaction() as session:
        row = session.get(CertificateRow, certificate.id)
        instructor_audit = session.execute(select(InstructorAudit.detail, InstructorAudit.subject_learner_id)).all()
        [erasure] = session.scalars(select(AdminAudit).where(AdminAudit.action == "learner.erase")).all()
    assert row is not None
    assert (row.revoked_at, row.revoked_reason, row.revoked_by) == (clock.now(), CERTIFICATE_REASON, USERNAME)
    assert (row.holder_name, row.credential_jwt, row.pdf_path, row.learner_id, row.attempt_id) == (None,) * 5
    verification = client.get(f"/c/{certificate.id}").get_data(as_text=True)
    assert "revoked" in verification
    assert NAME not in verification
    assert [tuple(entry) for entry in instructor_audit] == [("one more module-test attempt", None)]
    assert erasure.admin_username == USERNAME
    assert reference.group(0) in erasure.detail
    assert f"{len(delivered)} statement(s) voided" in erasure.detail

    assert _rows_of(db, other_id, other_sub) == others
    # Last: the dashboard refreshes the course roster from the LMS (new rows for the other learner).
    dashboard = client.get("/instructor/", query_string={"s": teacher}).get_data(as_text=True)
    assert f"Alan Teacher: extra attempt (one more module-test attempt for {ERASED_NAME})" in dashboard


def test_the_command_line_asks_first_and_audits_as_the_system_user(
    client: FlaskClient, app: Flask, db: Database
) -> None:
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL))
    assert client.get("/s/lesson-1", query_string={"s": token}).status_code == 200
    issuer = login_params(app)["iss"]
    command = ["learner", "erase", "--issuer", issuer, "--sub", SUB]
    runner = app.test_cli_runner()

    declined = runner.invoke(args=command, input="n\n")
    assert declined.exit_code == 1
    assert "lessons read" in declined.output
    assert "Aborted" in declined.output
    assert SUB in _dump(db)

    with db.transaction() as session:
        waiting = len(session.scalars(select(OutboxMessage.id).where(OutboxMessage.channel == "xapi")).all())
    assert waiting > 0
    erased = runner.invoke(args=command, input="y\n")
    assert erased.exit_code == 0, erased.output
    # None was sent. PostgreSQL: they are dropped (the rows were locked: none in flight). SQLite: a worker may
    # have one in flight unseen, so each is voided too.
    voided = 0 if USE_POSTGRES else waiting
    assert f"xAPI statements voided: {voided} (of which {voided} may never have reached the LRS)" in erased.output
    assert f"account homePage={issuer} name={SUB}" in erased.output
    assert SUB not in _dump(db)
    with db.transaction() as session:
        audit = session.scalars(select(AdminAudit).where(AdminAudit.action == "learner.erase")).one()
    assert audit.admin_username == f"cli:{getpass.getuser()}"

    again = runner.invoke(args=[*command, "--yes"])
    assert again.exit_code == 1
    assert "holds nothing about a learner" in again.output


def _erase(app: Flask, db: Database, clock: FrozenClock, sub: str = SUB) -> ErasureReport:
    return LearnerErasure(db, app.config["TRACEBOOK"], clock).erase(login_params(app)["iss"], sub, USERNAME)


def _learner_id(db: Database, sub: str) -> int:
    with db.transaction() as session:
        return session.scalars(select(Learner.id).where(Learner.sub == sub)).one()


def _unvoided(ralph: Ralph) -> list[str]:
    """The ids of the statements Ralph holds that no statement it holds voids."""
    stored = ralph.stored()
    voided = {s["object"]["id"] for s in stored if s["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided"}
    return [
        s["id"] for s in stored if s["verb"]["id"] != "http://adlnet.gov/expapi/verbs/voided" and s["id"] not in voided
    ]


def test_statements_whose_outbox_rows_the_retention_period_removed_are_voided_too(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL))
    full_run(client, token, db, clock, module)
    _drain(app, clock)
    learner_id = _learner_id(db, SUB)
    with db.transaction() as session:
        delivered = set(
            session.scalars(
                select(OutboxMessage.key).where(
                    OutboxMessage.learner_id == learner_id,
                    OutboxMessage.channel == "xapi",
                    OutboxMessage.status == Status.DELIVERED,
                )
            )
        )
    assert len(delivered) > 50
    assert {s["id"] for s in ralph.stored()} == delivered

    clock.advance(days=31)  # the default retention of delivered outbox rows is 30 days
    counts = DailyPurge(db, clock, app.config["TRACEBOOK"].retention)()
    assert counts is not None
    assert counts.outbox_messages >= len(delivered)
    with db.transaction() as session:
        assert session.scalars(select(OutboxMessage.id).where(OutboxMessage.learner_id == learner_id)).all() == []
        kept = set(session.scalars(select(DeliveredStatement.statement_id)))
    assert kept == delivered

    report = _erase(app, db, clock)
    assert (report.statements_voided, report.statements_unconfirmed) == (len(delivered), 0)
    assert f"mbox mailto:{EMAIL}" in report.lrs_identifiers  # the statements are gone: which actor they used is not
    assert report.rows[DeliveredStatement.__tablename__] == len(delivered)
    _drain(app, clock)
    assert _unvoided(ralph) == []
    with db.transaction() as session:
        assert session.scalars(select(DeliveredStatement)).all() == []


class _ErasedMidDelivery:
    """The xAPI sender, with the learner's erasure run after the LRS accepted a batch and before the worker records
    that it did. On PostgreSQL the erasure runs on its own thread: it waits for the rows the worker holds."""

    def __init__(self, sender: Sender, erase: Callable[[], ErasureReport]) -> None:
        self.sender = sender
        self.erase = erase
        self.reports: list[ErasureReport] = []
        self.thread = threading.Thread(target=lambda: self.reports.append(self.erase()))

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        outcomes = self.sender.send(messages)
        if self.thread.ident is None:  # the first batch
            assert set(outcomes) == {Delivered()}
            self.thread.start()
            if not USE_POSTGRES:
                self.thread.join()
        return outcomes


def test_an_erasure_while_the_lrs_takes_a_batch_voids_every_statement_it_took(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module, ralph: Ralph
) -> None:
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL))
    for lesson in module.lessons:
        assert client.get(f"/s/{lesson.id}", query_string={"s": token}).status_code == 200
    answer_quiz(client, token, module, module.quizzes[0].id)
    wired = outbox_worker(app, "test-worker")
    racing = _ErasedMidDelivery(wired.senders[XAPI], lambda: _erase(app, db, clock))
    worker = OutboxWorker(db, {**wired.senders, XAPI: racing}, clock, name="racing-worker")

    assert worker.run_once() > 0
    racing.thread.join()
    [report] = racing.reports
    sent = ralph.stored()
    assert len(sent) > 5
    assert report.statements_voided == len(sent)
    # SQLite: the worker had not recorded the delivery yet. PostgreSQL: the erasure waited until it had.
    assert report.statements_unconfirmed == (0 if USE_POSTGRES else len(sent))
    while worker.run_once():  # the voiding statements (on SQLite this worker holds the lease)
        pass
    assert _unvoided(ralph) == []


def _audit_lines(page: str) -> list[str]:
    section = page.split('<ul class="audit">', 1)[1].split("</ul>", 1)[0]
    return [line.split("UTC</time> — ", 1)[1] for line in re.findall(r"<li>(.*?)</li>", section)]


def _audit_rows(session: Session) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.execute(select(InstructorAudit.__table__).order_by(InstructorAudit.id))]


def test_erasing_one_of_two_students_with_one_name_leaves_the_others_entries_and_name(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    subs = ["lti-sam-lee-history", "lti-sam-lee-physics"]
    for sub in subs:
        student = session_token(launch_as(client, app, unit="module-test", sub=sub, name="Sam Lee"))
        _take_test(client, student, module, right=5)
    teacher = session_token(launch_as(client, app, person="alan", unit="module-test"))
    for sub in subs:
        learner_id = _learner_id(db, sub)
        assert client.post(f"/instructor/students/{learner_id}/extra-attempt", data={"s": teacher}).status_code == 303
        assert client.post(f"/instructor/students/{learner_id}/reset-attempt", data={"s": teacher}).status_code == 303
    with db.transaction() as session:
        kept = _audit_rows(session)
        export = export_learner(session, module, app.config["TRACEBOOK"], clock.now(),
                                (login_params(app)["iss"], subs[1]), USERNAME)  # fmt: skip
    assert len(kept) == 4
    with zipfile.ZipFile(io.BytesIO(export.archive)) as archive:
        changes = json.loads(archive.read("courses_and_launches.json"))["instructor_changes"]
    assert [(c["action"], c["you"]) for c in changes] == [
        ("extra attempt", "are the student"),
        ("reset attempt", "are the student"),
    ]

    _erase(app, db, clock, subs[0])

    with db.transaction() as session:
        after = _audit_rows(session)
    assert after[2:] == kept[2:]  # the second Sam Lee's entries, exactly as they were
    assert _audit_lines(client.get("/instructor/", query_string={"s": teacher}).get_data(as_text=True)) == [
        "Alan Teacher: reset attempt (Sam Lee&#39;s attempt 1 (5/15) removed)",
        "Alan Teacher: extra attempt (one more module-test attempt for Sam Lee)",
        f"Alan Teacher: reset attempt ({ERASED_NAME}&#39;s attempt 1 (5/15) removed)",
        f"Alan Teacher: extra attempt (one more module-test attempt for {ERASED_NAME})",
    ]


def test_an_erased_instructors_name_leaves_what_they_did(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    student = session_token(launch_as(client, app, unit="module-test"))
    _take_test(client, student, module, right=12)
    teacher = session_token(launch_as(client, app, person="alan", unit="module-test"))
    with db.transaction() as session:
        ada_id, certificate_id = session.execute(select(CertificateRow.learner_id, CertificateRow.id)).one()
        alan_sub = session.scalars(select(Learner.sub).where(Learner.name == "Alan Teacher")).one()
    assert client.post(f"/instructor/students/{ada_id}/extra-attempt", data={"s": teacher}).status_code == 303
    revoked = client.post(f"/instructor/certificates/{certificate_id}/revoke", data={"s": teacher, "reason": "A typo"})
    assert revoked.status_code == 303

    _erase(app, db, clock, alan_sub)

    with db.transaction() as session:
        certificate = session.get(CertificateRow, certificate_id)
        entries = session.scalars(select(InstructorAudit).order_by(InstructorAudit.id)).all()
    assert certificate is not None
    assert (certificate.revoked_by, certificate.revoked_reason, certificate.learner_id) == (
        ERASED_NAME,
        "A typo",
        ada_id,
    )
    # The extra attempt and the revocation: who did them is gone, whom they were about stays.
    assert [(e.action, e.actor, e.subject_learner_id) for e in entries] == [
        ("extra attempt", ERASED_NAME, ada_id),
        ("revoke certificate", ERASED_NAME, ada_id),
    ]
    assert "Alan Teacher" not in _dump(db)


class _StandInRenderer:
    def render(self, facts: object, credential_id: str, credential_sha256: str, page_size: str) -> bytes:
        return b"%PDF-1.7 stand-in"


def _until_a_transaction_waits_for_a_lock(db: Database) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:  # a new transaction each time: pg_stat_activity is a snapshot
            waiting = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar()
        if waiting:
            return
    raise AssertionError("the erasure never waited for the worker's row lock")


@pytest.mark.skipif(not USE_POSTGRES, reason="row locks: SQLite has one writer at a time")
def test_an_erasure_waits_for_a_pdf_being_rendered_instead_of_locking_its_certificate(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = session_token(launch_as(client, app, unit="module-test", sub=SUB, name=NAME, email=EMAIL))
    _take_test(client, token, module, right=13)
    with db.transaction() as session:
        # Only the PDF job is due: the worker below claims (and locks) that row alone.
        later = clock.now() + timedelta(hours=1)
        session.execute(
            update(OutboxMessage).where(OutboxMessage.channel != CERTIFICATES).values(next_attempt_at=later)
        )
        certificate_id = session.scalars(select(CertificateRow.id)).one()

    def lock_timeout(_dialect: object, _record: object, _args: object, params: dict[str, Any]) -> None:
        params["options"] = "-c lock_timeout=5000"  # a wait that would never end fails the test instead

    event.listen(db.engine, "do_connect", lock_timeout)
    db.engine.dispose()
    settings = app.config["TRACEBOOK"]
    storage = FileStorage(settings.certificates.storage_dir)
    pdfs = CertificatePdfSender(db, storage, settings, clock, renderer=_StandInRenderer)
    reports: list[ErasureReport] = []
    erasure = threading.Thread(target=lambda: reports.append(_erase(app, db, clock)))
    outcomes: list[Outcome] = []

    class ErasedWhileRendering:
        def send(self, messages: Sequence[Message]) -> list[Outcome]:
            erasure.start()
            _until_a_transaction_waits_for_a_lock(db)
            outcomes.extend(pdfs.send(messages))  # writes the certificate row in a transaction of its own
            return outcomes

    assert OutboxWorker(db, {CERTIFICATES: ErasedWhileRendering()}, clock, name="pdf-worker").run_once() == 1
    erasure.join()
    assert outcomes == [Delivered()]
    [report] = reports
    assert (report.certificates_revoked, report.files_removed) == (1, 1)  # the PDF rendered meanwhile went too
    with db.transaction() as session:
        certificate = session.get(CertificateRow, certificate_id)
    assert certificate is not None
    assert (certificate.revoked_reason, certificate.pdf_path, certificate.holder_name) == (
        CERTIFICATE_REASON,
        None,
        None,
    )
    assert storage.read(pdf_name(certificate_id)) is None


@pytest.mark.skipif(USE_POSTGRES, reason="SQLite's write-ahead log")
def test_a_checkpoint_a_reader_holds_up_is_logged_without_personal_data(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL))
    assert client.get("/s/lesson-1", query_string={"s": token}).status_code == 200

    def no_waiting(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")  # busy at once instead of after five seconds

    event.listen(db.engine, "connect", no_waiting)
    db.engine.dispose()
    reader = sqlite3.connect(app.config["TRACEBOOK"].database_url.removeprefix("sqlite:///"))
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM learners").fetchone() == (1,)  # reads the log as it is now
        _erase(app, db, clock)
    finally:
        reader.close()
    assert "SQLite checkpoint after an erasure did not finish (busy=1" in caplog.text
    assert [value for value in SEARCHED if value in caplog.text] == []
    with db.engine.connect() as connection:
        assert checkpoint(connection)  # with the reader gone, it finishes
    assert [value for value in (NAME, EMAIL) if value.encode() in _sqlite_files(app)] == []
