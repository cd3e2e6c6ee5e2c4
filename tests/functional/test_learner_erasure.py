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
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from content import Module
from exports.xapi.voiding import voiding_statement_id
from lms_plugin.db import Database
from lms_plugin.models import (
    AdminAudit,
    Base,
    CertificateRow,
    InstructorAudit,
    Learner,
    ModuleRecord,
    OutboxMessage,
    RosterMember,
)
from lms_plugin.outbox.store import Status
from lms_plugin.services.erasure import CERTIFICATE_REASON, ERASED_NAME
from lms_plugin.services.learner_export import LEARNER_TABLES
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
        instructor_audit = session.scalars(select(InstructorAudit.detail)).all()
        [erasure] = session.scalars(select(AdminAudit).where(AdminAudit.action == "learner.erase")).all()
    assert row is not None
    assert (row.revoked_at, row.revoked_reason, row.revoked_by) == (clock.now(), CERTIFICATE_REASON, USERNAME)
    assert (row.holder_name, row.credential_jwt, row.pdf_path, row.learner_id, row.attempt_id) == (None,) * 5
    verification = client.get(f"/c/{certificate.id}").get_data(as_text=True)
    assert "revoked" in verification
    assert NAME not in verification
    assert instructor_audit == [f"one more module-test attempt for {ERASED_NAME}"]
    assert erasure.admin_username == USERNAME
    assert reference.group(0) in erasure.detail
    assert f"{len(delivered)} statement(s) voided" in erasure.detail

    assert _rows_of(db, other_id, other_sub) == others


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

    erased = runner.invoke(args=command, input="y\n")
    assert erased.exit_code == 0, erased.output
    assert "0 xAPI statement(s) voided" in erased.output  # the LRS never had them: they are dropped
    assert f"account homePage={issuer} name={SUB}" in erased.output
    assert SUB not in _dump(db)
    with db.transaction() as session:
        audit = session.scalars(select(AdminAudit).where(AdminAudit.action == "learner.erase")).one()
    assert audit.admin_username == f"cli:{getpass.getuser()}"

    again = runner.invoke(args=[*command, "--yes"])
    assert again.exit_code == 1
    assert "holds nothing about a learner" in again.output
