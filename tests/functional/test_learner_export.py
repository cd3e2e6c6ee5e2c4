"""An access request: after a full run (lessons, quizzes, labs, two test attempts, a certificate), the export of
the learner holds each kind of item the tool keeps about them, in a form a person can read (questions and chosen
options as text), and nothing that lets someone act as them or as the tool. The admin page and the command line
give the same archive; the audit trail records the export without naming the learner."""

import getpass
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from content import Module
from lms_plugin.db import Database
from lms_plugin.models import (
    AdminAudit,
    AttemptRow,
    CertificateRow,
    CredentialKey,
    LabExchangeRow,
    LaunchSession,
    Learner,
    OutboxMessage,
    ToolKey,
    UrlTicket,
)
from lms_plugin.services.learner_export import STATEMENT_REMOVED
from tests.conftest import FrozenClock

from .admin_support import USERNAME, log_in_admin
from .lti_support import launch_as, login_params, session_token
from .student_run import full_run
from .test_grades import _drain
from .test_labs import send

pytestmark = pytest.mark.usefixtures("live_server")
SUB = "lti-7c1e5a0b-access-request"
NAME = "Philippa Quenby"
EMAIL = "p.quenby.4417@uni-example.org"
MARKER = "otter-lantern-4471"
FILES = {
    "README.txt",
    "learner.json",
    "courses_and_launches.json",
    "attempts.json",
    "lessons.json",
    "labs.json",
    "grades.json",
    "certificates.json",
    "xapi_statements.json",
}


@pytest.fixture
def token(client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module) -> str:
    """The learner's full run, with a marker in one lab message, delivered to the gradebook and PDF renderer."""
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL))
    full_run(client, token, db, clock, module)
    assert send(client, token, "lab-2", f"We tag each prompt with {MARKER}; should the spans carry it?")[0] == 200
    _drain(app, clock)
    return token


def _issuer(app: Flask) -> str:
    return login_params(app)["iss"]


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _json(files: dict[str, bytes], name: str) -> Any:
    return json.loads(files[name])


def _from_admin_page(client: FlaskClient, app: Flask, sub: str = SUB) -> tuple[int, dict[str, str], bytes]:
    csrf = log_in_admin(client, app)
    response = client.post("/admin/learners/export", data={"csrf_token": csrf, "issuer": _issuer(app), "sub": sub})
    return response.status_code, dict(response.headers), response.get_data()


def test_the_export_holds_every_kind_of_item_the_tool_keeps(
    client: FlaskClient, app: Flask, db: Database, module: Module, token: str
) -> None:
    status, headers, body = _from_admin_page(client, app)
    assert status == 200
    assert headers["Content-Type"] == "application/zip"
    assert 'filename="tracebook-learner-EXPORT-' in headers["Content-Disposition"]
    files = _unzip(body)
    with db.transaction() as session:
        learner = session.scalars(select(Learner).where(Learner.sub == SUB)).one()
        attempts = session.scalars(select(AttemptRow).where(AttemptRow.learner_id == learner.id)).all()
        exchanges = session.scalars(select(LabExchangeRow).where(LabExchangeRow.learner_id == learner.id)).all()
        statements = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.learner_id == learner.id, OutboxMessage.channel == "xapi")
        ).all()
        [certificate] = session.scalars(select(CertificateRow).where(CertificateRow.learner_id == learner.id)).all()
    assert set(files) == FILES | {f"certificates/{certificate.id}.pdf"}
    readme = files["README.txt"].decode()
    assert all(name in readme for name in FILES - {"README.txt"})
    assert SUB in readme
    assert "EXPORT-" in readme

    who = _json(files, "learner.json")
    assert (who["platform"], who["user_id"], who["name"], who["email"]) == (_issuer(app), SUB, NAME, EMAIL)

    courses = _json(files, "courses_and_launches.json")
    assert [c["module"] for c in courses["courses"]] == [module.id]
    assert courses["launches"]
    assert all(launch["as_the_platform_sent_it"]["sub"] == SUB for launch in courses["launches"])

    done = _json(files, "attempts.json")["attempts"]
    assert sorted(a["attempt_id"] for a in done) == sorted(a.id for a in attempts)
    tests = [a for a in done if a["kind"] == "test"]
    assert [(t["score"], t["passed"]) for t in tests] == [
        ({"correct": 11, "out_of": 15}, False),
        ({"correct": 12, "out_of": 15}, True),
    ]
    quiz = next(a for a in done if a["kind"] == "quiz")
    first = quiz["answers"][0]
    assessment = module.assessment(quiz["assessment"])
    assert assessment is not None
    question = assessment.question(first["question_id"])
    assert question is not None
    assert first["question"] == question.stem
    assert first["chosen"] == next(o.text for o in question.options if o.id == first["chosen_option_id"])

    assert sorted(v["lesson"] for v in _json(files, "lessons.json")) == sorted(lesson.id for lesson in module.lessons)

    labs = _json(files, "labs.json")
    assert sorted(lab["lab"] for lab in labs) == ["lab-1", "lab-2", "lab-3", "lab-4"]
    written = [e for lab in labs for e in lab["exchanges"]]
    assert len(written) == len(exchanges)
    assert any(MARKER in e["your_message"] for e in written)
    assert all(e["reply"] for e in written)
    assert any(e["trace"] and e["trace"]["trace_id"] for e in written)  # the spans of the reply

    grades = _json(files, "grades.json")
    assert "delivered" in {g["state"] for g in grades}
    assert all(g["gradebook_column"] and "activityProgress" in g["score"] for g in grades)

    [issued] = _json(files, "certificates.json")
    assert (issued["id"], issued["status"], issued["credential_jwt"]) == (
        certificate.id,
        "valid",
        certificate.credential_jwt,
    )
    assert files[issued["pdf"]].startswith(b"%PDF")

    records = _json(files, "xapi_statements.json")
    assert sorted(r["statement"]["id"] for r in records) == sorted(s["id"] for s in statements)
    assert {r["state"] for r in records} == {"pending"}  # no LRS configured: they wait

    with db.transaction() as session:
        [audit] = session.scalars(select(AdminAudit).where(AdminAudit.action == "learner.export")).all()
    assert audit.admin_username == USERNAME
    assert "EXPORT-" in audit.detail
    assert not any(value in audit.detail for value in (SUB, NAME, EMAIL))


def test_the_export_carries_no_session_token_or_key(client: FlaskClient, app: Flask, db: Database, token: str) -> None:
    text = "\n".join(data.decode("utf-8", "replace") for data in _unzip(_from_admin_page(client, app)[2]).values())
    with db.transaction() as session:
        secrets = [
            token,
            app.config["SECRET_KEY"],
            *session.scalars(select(LaunchSession.id)),
            *session.scalars(select(UrlTicket.token_hash)),
            *session.scalars(select(ToolKey.private_pem)),
            *session.scalars(select(CredentialKey.private_pem)),
        ]
    assert len(secrets) > 4
    assert [secret for secret in secrets if secret in text] == []
    assert "PRIVATE KEY" not in text


def test_the_command_line_writes_the_same_archive_and_is_audited(
    client: FlaskClient, app: Flask, db: Database, tmp_path: Path
) -> None:
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL))
    assert client.get("/s/lesson-1", query_string={"s": token}).status_code == 200
    out = tmp_path / "learner.zip"
    done = app.test_cli_runner().invoke(
        args=["learner", "export", "--issuer", _issuer(app), "--sub", SUB, "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    files = _unzip(out.read_bytes())
    assert set(files) == FILES  # no certificate yet
    assert [v["lesson"] for v in _json(files, "lessons.json")] == ["lesson-1"]
    assert set(_unzip(_from_admin_page(client, app)[2])) == set(files)
    with db.transaction() as session:
        actors = session.scalars(select(AdminAudit.admin_username).where(AdminAudit.action == "learner.export")).all()
    assert sorted(actors) == sorted([f"cli:{getpass.getuser()}", USERNAME])


def test_an_unknown_learner_is_refused_with_what_to_check(client: FlaskClient, app: Flask, tmp_path: Path) -> None:
    status, _, body = _from_admin_page(client, app, sub="nobody-here")
    assert status == 404
    assert "holds nothing about a learner with that issuer and LTI user id" in body.decode()
    out = tmp_path / "nobody.zip"
    done = app.test_cli_runner().invoke(
        args=["learner", "export", "--issuer", _issuer(app), "--sub", "nobody-here", "--out", str(out)]
    )
    assert done.exit_code == 1
    assert "holds nothing about a learner" in done.output
    assert not out.exists()


def test_statements_the_retention_period_removed_are_listed_by_id_and_time(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    token = session_token(launch_as(client, app, sub=SUB, name=NAME, email=EMAIL))
    assert client.get("/s/lesson-1", query_string={"s": token}).status_code == 200
    with db.transaction() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "xapi")).all()
        for row in rows:  # as a worker records a delivery (no LRS here)
            row.status, row.delivered_at = "delivered", clock.now()
        sent = sorted(row.key for row in rows)
    assert sent
    delivered = clock.now()
    clock.advance(days=31)  # the default retention of delivered outbox rows is 30 days
    runner = app.test_cli_runner()
    assert runner.invoke(args=["retention", "purge"]).exit_code == 0
    out = tmp_path / "learner.zip"
    done = runner.invoke(args=["learner", "export", "--issuer", _issuer(app), "--sub", SUB, "--out", str(out)])
    assert done.exit_code == 0, done.output
    records = _json(_unzip(out.read_bytes()), "xapi_statements.json")
    assert records == [
        {"state": "delivered", "id": key, "statement": STATEMENT_REMOVED, "delivered": delivered.isoformat()}
        for key in sent
    ]
