"""Certificates end to end over HTTP: a pass issues one, the worker renders its PDF (read back as text, page size
and QR code), the verification page and the credential tell valid, superseded and revoked apart, tampering and
key rotation behave, and the command line lists, revokes and verifies."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from content import Module
from exports.xapi import problems
from lms_plugin.db import Database
from lms_plugin.models import CertificateRow, OutboxMessage
from lms_plugin.outbox.delivery import Delivered, Message
from lms_plugin.services.certificate_pdfs import CertificatePdfSender, pdf_name
from lms_plugin.services.certificates import CHANNEL
from lms_plugin.storage import FileStorage
from lms_plugin.xapi.store import CHANNEL as XAPI
from tests.conftest import FrozenClock
from tests.pdf_reading import A4_LANDSCAPE, LETTER_LANDSCAPE, page_sizes, pdf_text, qr_codes

from .admin_support import USERNAME, log_in_admin
from .lti_support import launch_as, session_token
from .test_grades import _drain, _take_test

pytestmark = pytest.mark.usefixtures("live_server")


def _pass(client: FlaskClient, app: Flask, module: Module, right: int = 12, **claims: Any) -> str:
    token = session_token(launch_as(client, app, unit="module-test", **claims))
    _take_test(client, token, module, right=right)
    return token


def _certificates(db: Database) -> list[CertificateRow]:
    with db.transaction() as session:
        return list(session.scalars(select(CertificateRow).order_by(CertificateRow.version)))


def _pdf(client: FlaskClient, token: str, certificate_id: str) -> bytes:
    response = client.get(f"/s/certificates/{certificate_id}.pdf", query_string={"s": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    return response.get_data()


def _cli(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_a_pass_issues_a_certificate_whose_pdf_the_worker_renders(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module, tmp_path: Path
) -> None:
    token = _pass(client, app, module, right=13)
    [certificate] = _certificates(db)
    assert (certificate.holder_name, certificate.score_correct, certificate.version) == ("Ada Learner", 13, 1)
    # Until the worker has rendered it, the download says it is being prepared (no rendering in a web request).
    waiting = client.get(f"/s/certificates/{certificate.id}.pdf", query_string={"s": token})
    assert waiting.status_code == 202
    assert "being prepared" in waiting.get_data(as_text=True)

    _drain(app, clock)
    pdf = _pdf(client, token, certificate.id)
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "Ada Learner",
        module.title,
        "13 / 15",
        clock.now().strftime("%d %B %Y").lstrip("0"),
        certificate.id,
    ):
        assert expected in text, f"{expected!r} not in {text!r}"
    assert certificate.credential_sha256 in text.replace(" ", "")
    assert page_sizes(pdf, tmp_path) == [A4_LANDSCAPE]
    assert qr_codes(pdf, tmp_path) == [f"{app.config['TRACEBOOK'].base_url}/c/{certificate.id}"]
    stored = app.config["TRACEBOOK"].certificates.storage_dir / f"certificates/{certificate.id}.pdf"
    assert stored.read_bytes() == pdf

    # The result page and the module overview offer the downloads and the verification page.
    for page in ("/s/module", f"/s/test/attempts/{certificate.attempt_id}"):
        html = client.get(page, query_string={"s": token}).get_data(as_text=True)
        assert f"/s/certificates/{certificate.id}.pdf" in html
        assert f"/s/certificates/{certificate.id}.json" in html
        assert f"/c/{certificate.id}" in html


@pytest.mark.parametrize("app_settings", [{"CERTIFICATE_PAGE_SIZE": "Letter", "CERTIFICATE_ISSUER": "Northwind U"}])
def test_page_size_and_issuer_come_from_the_settings(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module, tmp_path: Path
) -> None:
    token = _pass(client, app, module)
    _drain(app, clock)
    [certificate] = _certificates(db)
    pdf = _pdf(client, token, certificate.id)
    assert page_sizes(pdf, tmp_path) == [LETTER_LANDSCAPE]
    assert "Northwind U" in pdf_text(pdf, tmp_path)


def test_the_earned_statement_names_the_certificate(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    _pass(client, app, module)
    [certificate] = _certificates(db)
    with db.transaction() as session:
        payloads = session.scalars(select(OutboxMessage.payload).where(OutboxMessage.channel == XAPI)).all()
    earned = [p for p in payloads if p["verb"]["id"] == "http://id.tincanapi.com/verb/earned"]
    assert len(earned) == 1
    statement = earned[0]
    assert problems(statement) == []
    assert statement["object"]["id"].endswith(f"/modules/{module.id}")
    assert certificate.id in statement["context"]["extensions"].values()
    assert statement["result"]["score"] == {"scaled": 0.8, "raw": 12, "min": 0, "max": 15}


def test_a_failed_or_lower_attempt_issues_nothing_and_a_better_one_supersedes(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = _pass(client, app, module, right=11)  # 11/15 fails
    assert _certificates(db) == []
    _take_test(client, token, module, right=13)
    clock.advance(minutes=5)
    _take_test(client, token, module, right=12)  # passes, but lower: no new version
    assert [(c.version, c.score_correct) for c in _certificates(db)] == [(1, 13)]

    # A better score is a new version; the first says "superseded by" it and still verifies.
    _grant_attempt(client, app, db)
    _take_test(client, token, module, right=15)
    first, second = _certificates(db)
    assert (second.version, second.score_correct, first.superseded_by) == (2, 15, second.id)
    old_page = client.get(f"/c/{first.id}").get_data(as_text=True)
    assert "Superseded" in old_page
    assert second.id in old_page
    assert "Verified" in old_page
    new_page = client.get(f"/c/{second.id}").get_data(as_text=True)
    assert re.search(r'id="verdict">\s*Valid', new_page)
    assert "15 of 15" in new_page
    assert first.id in new_page
    assert f"/s/certificates/{second.id}.pdf" in client.get("/s/module", query_string={"s": token}).get_data(
        as_text=True
    )
    with db.transaction() as session:
        jobs = session.scalars(select(OutboxMessage.key).where(OutboxMessage.channel == CHANNEL)).all()
    assert sorted(jobs) == sorted(f"certificate-pdf:{c.id}" for c in (first, second))


def _grant_attempt(client: FlaskClient, app: Flask, db: Database) -> None:
    """Three attempts are used: the instructor grants one more."""
    teacher = session_token(launch_as(client, app, person="alan", unit="module-test"))
    [certificate] = [c for c in _certificates(db) if c.superseded_by is None]
    response = client.post(f"/instructor/students/{certificate.learner_id}/extra-attempt", data={"s": teacher})
    assert response.status_code == 303


def test_the_verification_page_is_public_and_shows_holder_module_date_score_and_status(
    app: Flask, db: Database, module: Module, clock: FrozenClock
) -> None:
    _pass(app.test_client(), app, module, right=14)
    [certificate] = _certificates(db)
    stranger = app.test_client()  # no session, no cookie
    response = stranger.get(f"/c/{certificate.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for expected in ("Valid", "Ada Learner", module.title, "14 of 15", clock.now().strftime("%d %B %Y"), "Verified"):
        assert expected in page
    # Lower-case ids (typed from paper) find it too.
    assert stranger.get(f"/c/{certificate.id.lower()}").status_code == 200


def test_an_unknown_id_is_a_404_page(client: FlaskClient) -> None:
    response = client.get("/c/AAAA-BBBB-CCCC")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "No such certificate" in page
    assert "AAAA-BBBB-CCCC" in page


def test_another_students_certificate_cannot_be_downloaded(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    _pass(client, app, module)
    [certificate] = _certificates(db)
    grace = session_token(launch_as(client, app, person="grace", unit="module-test"))
    assert client.get(f"/s/certificates/{certificate.id}.pdf", query_string={"s": grace}).status_code == 404
    assert client.get(f"/s/certificates/{certificate.id}.json", query_string={"s": grace}).status_code == 404


def test_an_instructor_revokes_with_a_reason_and_the_page_says_revoked(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    _pass(client, app, module)
    [certificate] = _certificates(db)
    grace = session_token(launch_as(client, app, person="grace", unit="module-test"))
    refused = client.post(f"/instructor/certificates/{certificate.id}/revoke", data={"s": grace, "reason": "x"})
    assert refused.status_code == 403
    teacher = session_token(launch_as(client, app, person="alan", unit="module-test"))
    assert certificate.id in client.get("/instructor/", query_string={"s": teacher}).get_data(as_text=True)
    no_reason = client.post(f"/instructor/certificates/{certificate.id}/revoke", data={"s": teacher, "reason": " "})
    assert no_reason.status_code == 400
    assert _certificates(db)[0].revoked_at is None

    response = client.post(
        f"/instructor/certificates/{certificate.id}/revoke", data={"s": teacher, "reason": "Academic misconduct"}
    )
    assert response.status_code == 303
    page = client.get(f"/c/{certificate.id}").get_data(as_text=True)
    assert "Revoked" in page
    assert "Academic misconduct" in page
    assert _certificates(db)[0].revoked_by == "Alan Teacher"
    dashboard = client.get("/instructor/", query_string={"s": teacher}).get_data(as_text=True)
    assert f"Ada Learner&#39;s certificate {certificate.id} revoked: Academic misconduct" in dashboard


def test_the_command_line_lists_revokes_and_verifies(
    client: FlaskClient, app: Flask, db: Database, module: Module, tmp_path: Path
) -> None:
    token = _pass(client, app, module)
    [certificate] = _certificates(db)
    listed = _cli(app, "certificates", "list")
    assert listed.exit_code == 0
    assert re.search(rf"{certificate.id}\s+v1\s+valid\s+12/15", listed.output)

    document = client.get(f"/s/certificates/{certificate.id}.json", query_string={"s": token}).get_data()
    file = tmp_path / "credential.json"
    file.write_bytes(document)
    verified = _cli(app, "certificates", "verify", str(file))
    assert verified.exit_code == 0, verified.output
    assert f"certificate {certificate.id} is valid" in verified.output

    tampered = json.loads(document)
    _set_score(tampered, "15")
    file.write_text(json.dumps(tampered))
    refused = _cli(app, "certificates", "verify", str(file))
    assert refused.exit_code == 1
    assert "NOT VALID" in refused.output
    assert "changed" in refused.output

    revoked = _cli(app, "certificates", "revoke", certificate.id, "--reason", "Issued in error")
    assert revoked.exit_code == 0, revoked.output
    file.write_bytes(document)
    after = _cli(app, "certificates", "verify", str(file))
    assert after.exit_code == 1
    assert "is revoked" in after.output
    assert "Issued in error" in after.output
    assert "revoked" in _cli(app, "certificates", "list", "--status", "revoked").output


def test_the_bare_vc_jwt_downloads_and_verifies(
    client: FlaskClient, app: Flask, db: Database, module: Module, tmp_path: Path
) -> None:
    token = _pass(client, app, module)
    [certificate] = _certificates(db)
    response = client.get(f"/s/certificates/{certificate.id}.jwt", query_string={"s": token})
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    assert response.get_data(as_text=True) == certificate.credential_jwt
    file = tmp_path / "credential.jwt"
    file.write_bytes(response.get_data())
    verified = _cli(app, "certificates", "verify", str(file))
    assert verified.exit_code == 0, verified.output


def _set_score(document: dict[str, Any], value: str) -> None:
    """Change the score the document shows a reader (the signed JWT inside stays as it was)."""
    [result] = document["credential"]["credentialSubject"]["result"]
    assert result["value"] == "12"
    result["value"] = value


def test_a_credential_signed_before_a_key_rotation_still_verifies(
    client: FlaskClient, app: Flask, db: Database, module: Module, tmp_path: Path
) -> None:
    token = _pass(client, app, module)
    [certificate] = _certificates(db)
    assert _cli(app, "certificates", "rotate-key").exit_code == 0
    keys = client.get("/certificates/keys.json").get_json()["keys"]
    assert len(keys) == 2
    assert certificate.kid in [key["kid"] for key in keys]

    document = client.get(f"/s/certificates/{certificate.id}.json", query_string={"s": token}).get_data()
    checked = client.post("/c/check", data={"text": document.decode()})
    assert checked.status_code == 200
    assert "The signature is genuine" in checked.get_data(as_text=True)
    assert "Verified" in client.get(f"/c/{certificate.id}").get_data(as_text=True)


def test_a_tampered_credential_fails_with_a_clear_reason_on_the_check_page(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    token = _pass(client, app, module)
    [certificate] = _certificates(db)
    document = client.get(f"/s/certificates/{certificate.id}.json", query_string={"s": token}).get_json()
    _set_score(document, "15")
    page = client.post("/c/check", data={"text": json.dumps(document)}).get_data(as_text=True)
    assert "Not genuine" in page
    assert "changed" in page
    garbage = client.post("/c/check", data={"text": "hello"}).get_data(as_text=True)
    assert "Not genuine" in garbage


def test_without_a_name_from_the_lms_the_student_confirms_one(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    token = _pass(client, app, module, name=None, given_name=None, family_name=None)
    assert _certificates(db) == []
    overview = client.get("/s/module", query_string={"s": token}).get_data(as_text=True)
    assert "confirm the name" in overview
    empty = client.post("/s/certificates/name", data={"s": token, "name": "   "})
    assert empty.status_code == 400
    assert _certificates(db) == []
    response = client.post("/s/certificates/name", data={"s": token, "name": "  Ada   K. Lovelace "})
    assert response.status_code == 303
    [certificate] = _certificates(db)
    assert (certificate.holder_name, certificate.score_correct) == ("Ada K. Lovelace", 12)
    assert "confirm the name" not in client.get("/s/module", query_string={"s": token}).get_data(as_text=True)


def test_the_issuers_documents_are_published(client: FlaskClient, app: Flask, module: Module) -> None:
    base = app.config["TRACEBOOK"].base_url
    issuer = client.get("/certificates/issuer").get_json()
    assert issuer["id"] == f"{base}/certificates/issuer"
    assert issuer["type"] == ["Profile"]
    achievement = client.get(f"/certificates/achievements/{module.id}").get_json()
    assert achievement["name"] == module.title
    assert "80" in achievement["criteria"]["narrative"]
    assert client.get("/certificates/achievements/nope").status_code == 404


def test_an_admin_revokes_and_rotates_the_signing_key_on_the_certificates_page(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    _pass(app.test_client(), app, module)
    [certificate] = _certificates(db)
    csrf = log_in_admin(client, app)
    page = client.get("/admin/certificates").get_data(as_text=True)
    assert certificate.id in page
    assert certificate.kid in page

    forged = client.post(f"/admin/certificates/{certificate.id}/revoke", data={"reason": "No token"})
    assert forged.status_code == 400
    response = client.post(
        f"/admin/certificates/{certificate.id}/revoke", data={"csrf_token": csrf, "reason": "Identity fraud"}
    )
    assert response.status_code == 303
    [revoked] = _certificates(db)
    assert (revoked.revoked_reason, revoked.revoked_by) == ("Identity fraud", f"admin {USERNAME}")
    assert "Identity fraud" in client.get(f"/c/{certificate.id}").get_data(as_text=True)

    assert client.post("/admin/certificates/keys/rotate", data={"csrf_token": csrf}).status_code == 303
    kids = [key["kid"] for key in client.get("/certificates/keys.json").get_json()["keys"]]
    assert len(kids) == 2
    assert certificate.kid in kids
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "certificates.revoke" in audit
    assert "certificates.rotate_key" in audit


def test_resetting_the_attempt_that_earned_a_certificate_revokes_it_and_the_earlier_one_stands_again(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = _pass(client, app, module, right=13)
    _take_test(client, token, module, right=15)
    first, second = _certificates(db)
    assert first.superseded_by == second.id
    teacher = session_token(launch_as(client, app, person="alan", unit="module-test"))
    reset = client.post(f"/instructor/students/{second.learner_id}/reset-attempt", data={"s": teacher})
    assert reset.status_code == 303

    first, second = _certificates(db)
    assert second.revoked_at is not None
    assert "reset by an instructor" in (second.revoked_reason or "")
    assert (first.revoked_at, first.superseded_by) == (None, None)
    assert re.search(r'id="verdict">\s*Valid', client.get(f"/c/{first.id}").get_data(as_text=True))
    # The next pass is measured against the certificate that stands (13), not the revoked one (15).
    _take_test(client, token, module, right=14)
    assert [(c.version, c.score_correct) for c in _certificates(db)] == [(1, 13), (2, 15), (3, 14)]
    assert _certificates(db)[0].superseded_by == _certificates(db)[2].id


def test_a_revoked_certificate_is_no_longer_downloadable(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    token = _pass(client, app, module)
    _drain(app, clock)
    [certificate] = _certificates(db)
    assert _cli(app, "certificates", "revoke", certificate.id, "--reason", "Issued in error").exit_code == 0
    for kind in ("pdf", "json", "jwt"):
        response = client.get(f"/s/certificates/{certificate.id}.{kind}", query_string={"s": token})
        assert response.status_code == 410
        assert "Issued in error" in response.get_data(as_text=True)


def test_staff_who_pass_the_test_get_no_certificate(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    _pass(client, app, module, right=15, person="alan")
    assert _certificates(db) == []


def test_confirming_the_name_twice_issues_one_certificate(
    client: FlaskClient, app: Flask, db: Database, module: Module
) -> None:
    token = _pass(client, app, module, name=None, given_name=None, family_name=None)
    for _ in range(2):
        response = client.post("/s/certificates/name", data={"s": token, "name": "Ada Lovelace"})
        assert response.status_code == 303
    assert [c.holder_name for c in _certificates(db)] == ["Ada Lovelace"]


class _ErasedWhileRendering:
    """A renderer during whose work the holder's data is erased (as an admin's erasure would clear it)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def render(self, facts: object, credential_id: str, credential_sha256: str, page_size: str) -> bytes:
        with self.db.transaction() as session:
            session.execute(update(CertificateRow).values(credential_jwt=None, holder_name=None))
        return b"%PDF-1.7 stand-in"


def test_a_pdf_rendered_while_its_holder_was_erased_is_not_kept(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock, module: Module
) -> None:
    _pass(client, app, module)
    [certificate] = _certificates(db)
    settings = app.config["TRACEBOOK"]
    storage = FileStorage(settings.certificates.storage_dir)
    sender = CertificatePdfSender(db, storage, settings, clock, renderer=lambda: _ErasedWhileRendering(db))
    message = Message(1, f"certificate-pdf:{certificate.id}", CHANNEL, {}, {"certificate_id": certificate.id}, 0)
    assert sender.send([message]) == [Delivered()]
    assert _certificates(db)[0].pdf_path is None
    assert storage.read(pdf_name(certificate.id)) is None
    # A retry after the erasure (a PDF written by an earlier, failed try) leaves no file either.
    storage.write(pdf_name(certificate.id), b"%PDF-1.7 left over")
    assert sender.send([message]) == [Delivered()]
    assert storage.read(pdf_name(certificate.id)) is None
