"""Certificates on the web: the public verification page a QR code opens (no login), the issuer's published
documents (profile, achievement, key set — what an Open Badges verifier fetches), a check of a credential file
someone holds, and the student's downloads and name confirmation (session token, like the other student pages)."""

import json

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from exports.certificates import achievement_document, credential_document, profile_document
from lms_plugin import wiring
from lms_plugin.blueprints.student import student, student_url
from lms_plugin.models import CertificateRow
from lms_plugin.services.certificates import (
    CertificateError,
    CertificateRegistry,
    achievement_id,
    issuer_profile,
    verification_url,
)
from lms_plugin.services.credential_keys import CredentialKeys
from lms_plugin.storage import FileStorage

public = Blueprint("certificates", __name__)
files = Blueprint("certificate_files", __name__, url_prefix="/s/certificates")
MAX_CHECKED_FILE = 256 * 1024  # a credential is a few KB; a larger upload is not one


@public.get("/c/<certificate_id>")
def verify(certificate_id: str) -> tuple[str, int]:
    with wiring.transaction() as session:
        certificate = CertificateRegistry(session, wiring.clock().now()).get(certificate_id)
    if certificate is None:
        return render_template("certificates/unknown.html", certificate_id=certificate_id), 404
    return render_template(
        "certificates/verify.html", certificate=certificate, url=verification_url(wiring.settings(), certificate.id)
    ), 200


@public.route("/c/check", methods=["GET", "POST"])
def check() -> tuple[str, int]:
    """Check a credential file (the JSON download or its JWT) against the issuer's key set."""
    if request.method == "GET":
        return render_template("certificates/check.html", verification=None, certificate=None), 200
    upload = request.files.get("credential")
    presented = upload.read(MAX_CHECKED_FILE + 1) if upload and upload.filename else request.form.get("text", "")
    if not presented:
        return render_template(
            "certificates/check.html", verification=None, certificate=None, problem="Choose a file or paste one."
        ), 400
    if len(presented) > MAX_CHECKED_FILE:
        return render_template(
            "certificates/check.html", verification=None, certificate=None, problem="That file is too large."
        ), 400
    with wiring.transaction() as session:
        verification, certificate = CertificateRegistry(session, wiring.clock().now()).verify(presented)
    return render_template("certificates/check.html", verification=verification, certificate=certificate), 200


@public.get("/certificates/keys.json")
def key_set() -> Response:
    """Every credential key ever used, retired ones included: a credential verifies for as long as it is kept."""
    with wiring.transaction() as session:
        keys = CredentialKeys(session, wiring.clock().now()).key_set()
    response = jsonify(keys=[{**jwk, "kid": kid} for kid, jwk in keys.items()])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@public.get("/certificates/issuer")
def issuer() -> Response:
    return jsonify(profile_document(issuer_profile(wiring.settings())))


@public.get("/certificates/achievements/<module_id>")
def achievement(module_id: str) -> Response:
    module = wiring.module()
    if module_id != module.id:
        abort(404, description=f"There is no module '{module_id}' here.")
    return jsonify(
        achievement_document(achievement_id(wiring.settings(), module), module.title, module.settings.pass_ratio)
    )


def _own(certificate_id: str) -> CertificateRow:
    """The certificate, if it is the signed-in student's and stands; 404 for another's (an id reveals nothing),
    410 for a revoked one (a copy would claim what it no longer certifies)."""
    with student() as r:
        row = CertificateRegistry(r.session, wiring.clock().now()).row(certificate_id)
        if row is None or row.learner_id != r.tool.learner_id:
            abort(404, description="That certificate is not yours.")
        if row.revoked_at is not None:
            abort(410, description=f"Certificate {row.id} was revoked: {row.revoked_reason}")
        r.session.expunge(row)
    return row


def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@files.get("/<certificate_id>.pdf")
def pdf(certificate_id: str) -> Response | tuple[str, int]:
    row = _own(certificate_id)
    data = FileStorage(wiring.settings().certificates.storage_dir).read(row.pdf_path) if row.pdf_path else None
    if data is None:
        # The worker renders it within seconds of the pass; the page refreshes itself until then.
        return render_template("certificates/preparing.html", certificate_id=row.id), 202
    return _download(data, "application/pdf", f"certificate-{row.id}.pdf")


@files.get("/<certificate_id>.json")
def credential(certificate_id: str) -> Response:
    row = _own(certificate_id)
    assert row.credential_jwt is not None, "only erasure clears it, and it revokes"
    document = json.dumps(credential_document(row.credential_jwt), indent=2)
    return _download(document, "application/json", f"certificate-{row.id}.json")


@files.get("/<certificate_id>.jwt")
def signed_token(certificate_id: str) -> Response:
    """The credential as Open Badges 3.0 §5 defines a VC-JWT file: the compact JWS alone, for badge wallets."""
    row = _own(certificate_id)
    assert row.credential_jwt is not None, "only erasure clears it, and it revokes"
    return _download(row.credential_jwt, "application/vc+jwt", f"certificate-{row.id}.jwt")


@files.post("/name")
def confirm_name() -> WerkzeugResponse:
    """The LMS sent no name: the student confirms the one to print, and the certificate is issued."""
    back = request.form.get("back") == "result" and request.form.get("attempt_id")
    with student() as r:
        try:
            r.certificates().confirm_name(request.form.get("name", ""))
        except CertificateError as error:
            abort(400, description=str(error))
    if back:
        return redirect(student_url("student.test_result", attempt_id=back), code=303)
    return redirect(student_url("student.unit", unit="module"), code=303)
