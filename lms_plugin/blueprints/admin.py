"""The tool admin's pages: platforms and deployments (and their LRS), the tool's keys, the outbox and its xAPI
statements, the export packages (SCORM 1.2, SCORM 2004, cmi5), the audit trail.

Unlike the student pages these are never framed by an LMS: they are first-party, top-level pages, so the session
is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure on https, sent to ``/admin`` only). Every POST carries
the session's CSRF token and leaves a row in the audit trail.
"""

import base64
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from exports.packages import PackageFormat
from lms_plugin import wiring
from lms_plugin.lti.keys import ToolKeyService
from lms_plugin.lti.platform_directory import TTL as DIRECTORY_TTL
from lms_plugin.lti.registration import RegistrationLinks
from lms_plugin.outbox.store import Outbox
from lms_plugin.services import admins, packages
from lms_plugin.services.admins import AdminAccounts, AdminError, AdminSummary, AuditTrail, TooManyAttemptsError
from lms_plugin.services.certificates import CertificateError, CertificateRegistry, issuer_profile
from lms_plugin.services.credential_keys import CredentialKeys
from lms_plugin.services.platforms import PlatformError, PlatformService
from lms_plugin.xapi.errors import LrsSettingsError
from lms_plugin.xapi.lrs import LrsDirectory, PlatformLrsSettings
from lms_plugin.xapi.store import XapiStatements

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
CERTIFICATES_SHOWN = 200

SESSION_LIFETIME = timedelta(hours=8)
PUBLIC_ENDPOINTS = frozenset({"admin.login"})
CSRF_FIELD = "csrf_token"
T = TypeVar("T")


def init_app(app: Flask) -> None:
    """Register the pages and fit Flask's session cookie to them (nothing else in the tool uses it)."""
    app.config.update(
        SESSION_COOKIE_NAME="tracebook_admin",
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["TRACEBOOK"].base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.register_blueprint(blueprint)


def _now() -> datetime:
    return wiring.clock().now()


def remote_addr() -> str:
    return (request.remote_addr or "unknown")[:64]


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    expected, sent = session.get("csrf"), request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="This form has expired or did not come from this site: reload the page and try again.")


def _signed_in_admin() -> AdminSummary | None:
    since = session.get("admin_since")
    if not isinstance(since, str) or datetime.fromisoformat(since) + SESSION_LIFETIME <= _now():
        return None
    with wiring.transaction() as db:
        return AdminAccounts(db, _now()).active(session.get("admin_id"), session.get("admin_key"))


def _safe_next(target: str | None) -> str | None:
    # Only back to an admin page of this site: never an open redirect.
    if target and target.startswith("/admin/") and "\\" not in target and not target.startswith("//"):
        return target
    return None


@blueprint.before_request
def _guard() -> WerkzeugResponse | None:
    g.admin = None
    if request.endpoint not in PUBLIC_ENDPOINTS:
        admin = _signed_in_admin()
        if admin is None:
            for key in ("admin_id", "admin_key", "admin_since"):
                session.pop(key, None)
            here = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("admin.login", next=_safe_next(here)), code=303)
        g.admin = admin
    if request.method == "POST":
        _check_csrf()
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    # Admin pages are never framed (clickjacking) nor cached (they show registrations and errors).
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.context_processor
def _template_values() -> dict[str, object]:
    return {"csrf_token": csrf_token, "admin": g.get("admin")}


def _admin() -> AdminSummary:
    admin: AdminSummary = g.admin
    return admin


def signed_in_username() -> str:
    """The admin this request comes from, on a page the guard let through."""
    return _admin().username


def guard(other: Blueprint) -> None:
    """Make ``other``'s pages admin pages: the login guard, the CSRF check, the headers, the template values."""
    other.before_request(_guard)
    other.after_request(_headers)
    other.context_processor(_template_values)


def _audited(action: str, work: Callable[[Session], tuple[T, str]]) -> T:
    """Run ``work`` and record what it did, in one transaction: no action without its audit row."""
    with wiring.transaction() as db:
        result, detail = work(db)
        AuditTrail(db, _now()).record(_admin().username, action, detail, remote_addr())
    return result


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> WerkzeugResponse | tuple[str, int] | str:
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if _signed_in_admin() is not None:
            return redirect(next_url or url_for("admin.dashboard"), code=303)
        return render_template("admin/login.html", next=next_url, username="", error=None)
    username, addr = request.form.get("username", ""), remote_addr()
    refusal: AdminError | None = None
    # One transaction that commits either way: a failed attempt must be counted for the rate limit.
    with wiring.transaction() as db:
        try:
            admin = AdminAccounts(db, _now()).log_in(username, request.form.get("password", ""), addr)
        except AdminError as error:
            refusal = error
        else:
            AuditTrail(db, _now()).record(admin.username, "login", "logged in", addr)
    if refusal is not None:
        page = render_template("admin/login.html", next=next_url, username=username, error=str(refusal))
        if isinstance(refusal, TooManyAttemptsError):
            retry = int(refusal.retry_after.total_seconds()) + 1
            return Response(page, status=429, headers={"Retry-After": str(retry)})
        return page, 200
    session.clear()  # a fresh session (and CSRF token) for the signed-in admin
    session.permanent = True
    session.update(admin_id=admin.id, admin_key=admin.session_key, admin_since=_now().isoformat())
    csrf_token()
    return redirect(next_url or url_for("admin.dashboard"), code=303)


@blueprint.post("/logout")
def logout() -> WerkzeugResponse:
    admin = _admin()

    def end_sessions(db: Session) -> tuple[None, str]:
        AdminAccounts(db, _now()).log_out(admin.id)
        return None, "logged out (every session of the account ended)"

    _audited("logout", end_sessions)
    session.clear()
    flash("You are logged out.", "success")
    return redirect(url_for("admin.login"), code=303)


@blueprint.get("/")
def dashboard() -> str:
    with wiring.transaction() as db:
        platforms = PlatformService(db, _now()).list()
        counts = Outbox(db, _now()).counts()
        xapi = XapiStatements(db, _now()).counts()
        keys = admins.published_keys(db, _now())
        recent = AuditTrail(db, _now()).recent(10)
    return render_template(
        "admin/dashboard.html", platforms=platforms, counts=counts, xapi=xapi, keys=keys, recent=recent
    )


@blueprint.get("/platforms")
def platforms() -> str:
    with wiring.transaction() as db:
        found = PlatformService(db, _now()).list()
        lrs = {(p.issuer, p.client_id): p for p in PlatformLrsSettings(db, _now()).list()}
    return render_template(
        "admin/platforms.html", platforms=found, lrs=lrs, default_lrs=LrsDirectory(wiring.settings().xapi).default
    )


_ACTOR_EMAIL = {"on": True, "off": False, "default": None}


@blueprint.post("/platforms/lrs")
def set_platform_lrs() -> WerkzeugResponse:
    """A platform's own LRS (blank endpoint: the tool's) and whether its learners' e-mail goes into statements."""
    form = request.form
    issuer, client_id = form.get("issuer", ""), form.get("client_id", "")
    if not (issuer and client_id) or form.get("actor_email", "default") not in _ACTOR_EMAIL:
        abort(400, description="The form names no platform: reload the platforms page and try again.")

    def change(db: Session) -> tuple[str, str]:
        platforms = PlatformLrsSettings(db, _now())
        chosen = platforms.set_lrs(
            issuer,
            client_id,
            endpoint=form.get("endpoint", "").strip() or None,
            username=form.get("username", ""),
            password=form.get("password") or None,
        )
        platforms.set_actor_email(issuer, client_id, _ACTOR_EMAIL[form.get("actor_email", "default")])
        where = chosen.endpoint or "the tool's LRS"
        return where, f"LRS of {issuer} (client id {client_id}): {where}"

    try:
        where = _audited("platform.lrs", change)
    except LrsSettingsError as error:
        flash(str(error), "error")
    else:
        flash(f"Learning records of {issuer} now go to {where}; waiting statements are sent now.", "success")
    return redirect(url_for("admin.platforms"), code=303)


@blueprint.post("/deployments")
def set_deployment() -> WerkzeugResponse:
    issuer, client_id = request.form.get("issuer", ""), request.form.get("client_id", "")
    deployment_id, active = request.form.get("deployment_id", ""), request.form.get("active") == "true"
    if not (issuer and client_id and deployment_id):
        abort(400, description="The form names no deployment: reload the platforms page and try again.")

    def change(db: Session) -> tuple[None, str]:
        PlatformService(db, _now()).set_active(issuer, client_id, deployment_id, active=active)
        return None, f"deployment {deployment_id} of {issuer} (client id {client_id})"

    try:
        _audited("deployment.activate" if active else "deployment.deactivate", change)
    except PlatformError as error:
        flash(str(error), "error")
    else:
        # Every web process keeps active deployments for a short while (lms_plugin/lti/platform_directory.py).
        seconds = int(DIRECTORY_TTL.total_seconds())
        state = "active" if active else f"inactive: launches from it are refused within {seconds} seconds"
        flash(f"Deployment {deployment_id} of {issuer} is now {state}.", "success")
    return redirect(url_for("admin.platforms"), code=303)


@blueprint.post("/registration-links")
def create_registration_link() -> WerkzeugResponse:
    """A one-time LTI Dynamic Registration link, for an LMS admin to paste into Moodle or Canvas."""

    def create(db: Session) -> tuple[str, str]:
        link = RegistrationLinks(db, _now()).create(wiring.settings().base_url, created_by=_admin().username)
        return link, "a one-time dynamic registration link"

    link = _audited("registration-link.create", create)
    flash(f"One-time registration link (valid 24 hours): {link}", "success")
    return redirect(url_for("admin.platforms"), code=303)


@blueprint.get("/keys")
def keys() -> str:
    with wiring.transaction() as db:
        ToolKeyService(db, _now()).current()  # the first start may be this page
        found = admins.published_keys(db, _now())
    return render_template("admin/keys.html", keys=found, jwks_url=wiring.settings().base_url + "/lti/jwks.json")


@blueprint.post("/keys/rotate")
def rotate_key() -> WerkzeugResponse:
    def rotate(db: Session) -> tuple[str, str]:
        kid = ToolKeyService(db, _now()).rotate().kid
        return kid, f"the tool now signs with key {kid}"

    kid = _audited("keys.rotate", rotate)
    flash(f"The tool now signs with key {kid}; the previous key stays published for a day.", "success")
    return redirect(url_for("admin.keys"), code=303)


@blueprint.get("/outbox")
def outbox() -> str:
    with wiring.transaction() as db:
        counts = Outbox(db, _now()).counts()
        xapi = XapiStatements(db, _now()).counts()
        failed = admins.failed_messages(db)
        waiting = admins.waiting_messages(db)
    default_lrs = LrsDirectory(wiring.settings().xapi).default
    return render_template(
        "admin/outbox.html", counts=counts, xapi=xapi, default_lrs=default_lrs, failed=failed, waiting=waiting
    )


@blueprint.post("/xapi/resend")
def resend_statements() -> WerkzeugResponse:
    def requeue(db: Session) -> tuple[int, str]:
        resent = XapiStatements(db, _now()).resend_failed()
        return resent, f"{resent} failed xAPI statement(s) queued again"

    resent = _audited("xapi.resend", requeue)
    flash(f"{resent} statement{'s are' if resent != 1 else ' is'} queued again; the worker sends them now.", "success")
    return redirect(url_for("admin.outbox"), code=303)


@blueprint.post("/outbox/resend")
def resend() -> WerkzeugResponse:
    everything = request.form.get("scope") == "all"
    chosen = [int(v) for v in request.form.getlist("message") if v.isdigit()]
    if not everything and not chosen:
        flash("Select the messages to resend first, or choose “Resend all failed”.", "error")
        return redirect(url_for("admin.outbox"), code=303)

    def requeue(db: Session) -> tuple[int, str]:
        ids = admins.failed_message_ids(db) if everything else chosen
        resent = Outbox(db, _now()).resend(ids)
        shown = ", ".join(str(i) for i in ids[:50]) + (" …" if len(ids) > 50 else "")
        return resent, f"{resent} message(s) queued again ({'all failed' if everything else 'selected'}: {shown})"

    resent = _audited("outbox.resend", requeue)
    flash(f"{resent} message{'s are' if resent != 1 else ' is'} queued again; the worker sends them now.", "success")
    return redirect(url_for("admin.outbox"), code=303)


@blueprint.get("/certificates")
def certificates() -> str:
    with wiring.transaction() as db:
        issued = CertificateRegistry(db, _now()).all(limit=CERTIFICATES_SHOWN)
        keys = CredentialKeys(db, _now())
        current = keys.current().kid
        published = list(keys.key_set())
    return render_template(
        "admin/certificates.html",
        certificates=issued,
        shown=CERTIFICATES_SHOWN,
        current=current,
        published=published,
        key_set_url=issuer_profile(wiring.settings()).key_set_url,
    )


@blueprint.post("/certificates/<certificate_id>/revoke")
def revoke_certificate(certificate_id: str) -> WerkzeugResponse:
    def revoke(db: Session) -> tuple[str, str]:
        reason = request.form.get("reason", "")
        revoked = CertificateRegistry(db, _now()).revoke(certificate_id, reason, f"admin {_admin().username}")
        return revoked.id, f"revoked certificate {revoked.id}: {revoked.revoked_reason}"

    try:
        revoked = _audited("certificates.revoke", revoke)
    except CertificateError as error:
        flash(str(error), "error")
    else:
        flash(f"Certificate {revoked} is revoked; its verification page says so.", "success")
    return redirect(url_for("admin.certificates"), code=303)


@blueprint.post("/certificates/keys/rotate")
def rotate_credential_key() -> WerkzeugResponse:
    def rotate(db: Session) -> tuple[str, str]:
        kid = CredentialKeys(db, _now()).rotate()
        return kid, f"certificates are now signed with key {kid}"

    kid = _audited("certificates.rotate_key", rotate)
    flash(f"Certificates are now signed with key {kid}; every earlier key stays published.", "success")
    return redirect(url_for("admin.certificates"), code=303)


@blueprint.get("/exports")
def exports() -> str:
    return render_template("admin/exports.html", formats=packages.FORMAT_NAMES)


def _chosen_format() -> PackageFormat:
    try:
        return PackageFormat(request.form.get("format", ""))
    except ValueError:
        abort(400, description="Choose a package format: SCORM 1.2, SCORM 2004 or cmi5.")


def _record_export(package_format: PackageFormat) -> str:
    module = wiring.module()
    _audited("export.build", lambda db: (None, f"{packages.FORMAT_NAMES[package_format]} package of {module.id}"))
    return packages.file_name(module, package_format)


@blueprint.post("/exports")
def download_export() -> Response:
    """The package as a download: the form's answer without the page's script."""
    chosen = _chosen_format()
    name = _record_export(chosen)
    package = packages.build(wiring.module(), chosen, wiring.settings().xapi.activity_base)
    return Response(
        package, mimetype="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@blueprint.post("/exports/build")
def build_export() -> Response:
    """The build as it happens, one JSON line per file written, the last one holding the zip (base64): the page's
    script shows the progress, then saves the file. Stateless, so any web process can serve it."""
    chosen = _chosen_format()
    name = _record_export(chosen)
    module, base = wiring.module(), wiring.settings().xapi.activity_base

    def lines() -> Iterator[str]:
        for step in packages.build_steps(module, chosen, base):
            line: dict[str, object] = {"done": step.done, "total": step.total, "file": step.path}
            if step.package is not None:
                line |= {"name": name, "size": len(step.package), "zip": base64.b64encode(step.package).decode()}
            yield json.dumps(line) + "\n"

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson")


@blueprint.get("/audit")
def audit() -> str:
    with wiring.transaction() as db:
        entries = AuditTrail(db, _now()).recent(200)
    return render_template("admin/audit.html", entries=entries)
