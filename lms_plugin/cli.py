"""The ``tracebook`` admin command (click, through the Flask CLI)."""

import gc
import getpass
import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from gunicorn.app.base import BaseApplication

from content.check import check_module
from content.loader import DEFAULT_MODULE_DIR
from exports.packages import PackageFormat
from lms_plugin import wiring
from lms_plugin.clock import Clock
from lms_plugin.config import ConfigError, Settings
from lms_plugin.db import database
from lms_plugin.delivery import outbox_worker, start_in_background
from lms_plugin.emulator.registration import register_emulator
from lms_plugin.lti.keys import ToolKeyService
from lms_plugin.lti.registration import RegistrationLinks
from lms_plugin.services import packages
from lms_plugin.services.admins import COMMAND_LINE, AdminAccounts, AdminError, AuditTrail, normalise_username
from lms_plugin.services.certificates import CertificateError, CertificateRegistry, CertificateStatus
from lms_plugin.services.credential_keys import CredentialKeys
from lms_plugin.services.erasure import OUTSIDE_THE_TOOL, LearnerErasure
from lms_plugin.services.learner_export import HOLDING_LABELS, UnknownLearnerError, export_learner, summarise
from lms_plugin.services.platforms import PlatformError, PlatformRegistration, PlatformService
from lms_plugin.services.retention import purge, record_run
from lms_plugin.xapi.errors import LrsSettingsError
from lms_plugin.xapi.lrs import LrsDirectory, PlatformLrsSettings
from lms_plugin.xapi.store import STATES, XapiStatements


def _settings() -> Settings:
    settings: Settings = current_app.config["TRACEBOOK"]
    return settings


db_group = AppGroup("db", help="Database schema.")
content_group = AppGroup("content", help="The module's content files.")
platform_group = AppGroup("platform", help="LMS platforms (LTI 1.3 registrations) and their deployments.")
keys_group = AppGroup("keys", help="The tool's own LTI signing keys.")
xapi_group = AppGroup("xapi", help="Learning records (xAPI statements) and the Learning Record Store they go to.")
certificates_group = AppGroup("certificates", help="Certificates: list, revoke, verify a credential file, keys.")


def _now() -> datetime:
    clock: Clock = current_app.extensions["tracebook.clock"]
    return clock.now()


def _platform_call(work: Callable[[PlatformService], object]) -> None:
    try:
        with database().transaction() as session:
            work(PlatformService(session, _now()))
    except PlatformError as error:
        raise click.ClickException(str(error)) from None


@platform_group.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://canvas.instructure.com.")
@click.option("--client-id", required=True, help="The tool's client id at that platform.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token endpoint.")
@click.option("--key-set-url", required=True, help="The platform's public key set (JWKS) URL.")
@click.option("--deployment-id", required=True, help="A deployment to trust (starts active).")
@click.option("--name", default=None, help="A name for admins [default: the issuer].")
def platform_add(
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    deployment_id: str,
    name: str | None,
) -> None:
    """Register an LMS platform (or update it) and activate one deployment."""
    registration = PlatformRegistration(issuer, client_id, auth_login_url, auth_token_url, key_set_url, name)
    _platform_call(lambda platforms: platforms.add(registration, deployment_id))
    click.echo(f"Registered {name or issuer} (client id {client_id}) with deployment {deployment_id} active.")


@platform_group.command("list")
def platform_list() -> None:
    """Show every platform and its deployments."""
    with database().transaction() as session:
        found = PlatformService(session, _now()).list()
    if not found:
        click.echo("No platforms are registered. Add one with: tracebook platform add --help")
    for p in found:
        click.echo(f"{p.name}\n  issuer: {p.issuer}\n  client id: {p.client_id}")
        click.echo(f"  login: {p.auth_login_url}\n  token: {p.auth_token_url}\n  keys: {p.key_set_url}")
        for d in p.deployments:
            click.echo(f"  deployment {d.deployment_id}: {'active' if d.active else 'inactive'}")


@platform_group.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
def platform_remove(issuer: str, client_id: str) -> None:
    """Remove a platform, its deployments and pending logins."""
    _platform_call(lambda platforms: platforms.remove(issuer, client_id))
    click.echo(f"Removed the platform {issuer} (client id {client_id}).")


def _deployment_command(name: str, active: bool) -> None:
    @click.option("--issuer", required=True)
    @click.option("--client-id", required=True)
    @click.option("--deployment-id", required=True)
    def command(issuer: str, client_id: str, deployment_id: str) -> None:
        _platform_call(lambda platforms: platforms.set_active(issuer, client_id, deployment_id, active=active))
        click.echo(f"Deployment {deployment_id} of {issuer} is now {'active' if active else 'inactive'}.")

    command.__doc__ = f"Mark a deployment {'active: its launches are accepted' if active else 'inactive'}."
    platform_group.command(name)(command)


_deployment_command("activate", True)
_deployment_command("deactivate", False)


@platform_group.command("lrs")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--endpoint", default=None, help="The LRS's xAPI endpoint, e.g. https://lrs.example.org/xAPI.")
@click.option("--username", default=None, help="The LRS user (basic auth); omit for an LRS without credentials.")
@click.option("--password-stdin", is_flag=True, help="Read the LRS password from the first line of standard input.")
@click.option("--clear", is_flag=True, help="Forget the platform's LRS: the tool's TRACEBOOK_LRS_* settings apply.")
@click.option(
    "--actor-email",
    type=click.Choice(["on", "off", "default"]),
    default=None,
    help="Identify this platform's learners by e-mail in the LRS (default: TRACEBOOK_XAPI_ACTOR_EMAIL).",
)
def platform_lrs(
    issuer: str,
    client_id: str,
    endpoint: str | None,
    username: str | None,
    password_stdin: bool,
    clear: bool,
    actor_email: str | None,
) -> None:
    """Send a platform's learning records to its own LRS (or, with --clear, to the tool's)."""
    if clear and endpoint:
        raise click.UsageError("Give either --endpoint or --clear, not both.")
    if not (clear or endpoint or actor_email):
        raise click.UsageError("Give --endpoint (with --username and --password-stdin if it needs them) or --clear.")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        with database().transaction() as session:
            platforms = PlatformLrsSettings(session, _now())
            if clear or endpoint:
                platforms.set_lrs(issuer, client_id, endpoint=endpoint, username=username, password=password)
            if actor_email is not None:
                choice = {"on": True, "off": False, "default": None}[actor_email]
                platforms.set_actor_email(issuer, client_id, choice)
            chosen = platforms.get(issuer, client_id)
            AuditTrail(session, _now()).record(COMMAND_LINE, "platform.lrs", f"LRS settings of {issuer} ({client_id})")
    except LrsSettingsError as error:
        raise click.ClickException(str(error)) from None
    where = chosen.endpoint or "the tool's LRS (TRACEBOOK_LRS_ENDPOINT)"
    user = f" as {chosen.username}" if chosen.username else ""
    email = {True: "on", False: "off", None: "as the tool's setting"}[chosen.actor_email]
    click.echo(f"Learning records of {chosen.name} go to {where}{user}; learners' e-mail in them: {email}.")


@xapi_group.command("status")
def xapi_status() -> None:
    """Count the statements waiting, sent and failed, and say where they go."""
    settings = _settings()
    with database().transaction() as session:
        counts = XapiStatements(session, _now()).counts()
        overrides = [p for p in PlatformLrsSettings(session, _now()).list() if p.endpoint]
    click.echo(f"pending: {counts.pending}\nsent: {counts.sent}\nfailed: {counts.failed}")
    default = LrsDirectory(settings.xapi).default
    if default is None:
        click.echo("LRS: none configured; statements wait here (set TRACEBOOK_LRS_ENDPOINT)")
    else:
        click.echo(f"LRS: {default.endpoint} (xAPI {settings.xapi.version})")
    for platform in overrides:
        click.echo(f"LRS for {platform.name}: {platform.endpoint}")
    if counts.failed:
        click.echo("See why on the admin's outbox page; `tracebook xapi resend` queues the failed ones again.")


@xapi_group.command("export")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="File [default: stdout].")
@click.option(
    "--status", "state", type=click.Choice([*STATES, "all"]), default="all", show_default=True, help="Which ones."
)
def xapi_export(out: str, state: str) -> None:
    """Write the stored statements as JSON lines, oldest first (e.g. to import into an LRS by hand)."""
    written = 0
    with database().transaction() as session, click.open_file(out, "w", encoding="utf-8") as sink:
        for statement in XapiStatements(session, _now()).export(None if state == "all" else state):
            sink.write(json.dumps(statement, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += 1
    if out != "-":
        click.echo(f"Wrote {written} statement{'s' if written != 1 else ''} to {out}.", err=True)


@xapi_group.command("resend")
def xapi_resend() -> None:
    """Queue every failed (dead-lettered) statement again; the worker sends them now."""
    with database().transaction() as session:
        resent = XapiStatements(session, _now()).resend_failed()
        AuditTrail(session, _now()).record(COMMAND_LINE, "xapi.resend", f"{resent} failed statement(s) queued again")
    click.echo(f"{resent} statement{'s are' if resent != 1 else ' is'} queued again.")


@click.command("export")
@click.argument("package_format", metavar="scorm12|scorm2004|cmi5", type=click.Choice([f.value for f in PackageFormat]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The zip file to write.")
@with_appcontext
def export(package_format: str, out: Path) -> None:
    """Write the module as a SCORM 1.2, SCORM 2004 4th edition or cmi5 package, for an LMS that takes no LTI tool."""
    chosen = PackageFormat(package_format)
    module = wiring.module()
    package = packages.build(module, chosen, _settings().xapi.activity_base)
    try:
        out.write_bytes(package)
    except OSError as error:
        raise click.ClickException(f"Cannot write {out}: {error.strerror}") from None
    click.echo(f"Wrote the {packages.FORMAT_NAMES[chosen]} package of {module.title} to {out} ({len(package):,} bytes)")


@platform_group.command("register-link")
@click.option(
    "--valid-for", type=click.FloatRange(min=0.02, max=720), default=24, show_default=True, help="Hours the link works."
)
def platform_register_link(valid_for: float) -> None:
    """Print a one-time link an LMS admin uses as the tool's LTI Dynamic Registration URL."""
    with database().transaction() as session:
        link = RegistrationLinks(session, _now()).create(_settings().base_url, "cli", timedelta(hours=valid_for))
    click.echo(link)
    click.echo(
        f"It works once, for {valid_for:g} hours. The platform it registers starts inactive: activate it with "
        "`tracebook platform activate` (the registration page shows the exact command).",
        err=True,
    )


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new key; the previous one stays published until its tokens expire."""
    with database().transaction() as session:
        key = ToolKeyService(session, _now()).rotate()
    click.echo(f"The tool now signs with key {key.kid}.")


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    database().upgrade()
    click.echo(f"Database is up to date ({_settings().database_url.split('://')[0]}).")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and an up-to-date database."""
    database().new_revision(message)


@content_group.command("check")
@click.option(
    "--path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=DEFAULT_MODULE_DIR,
    show_default="the shipped module",
    help="A module directory to check.",
)
def content_check(path: Path) -> None:
    """Load every content file with the tool's own rules; print a summary or every problem."""
    report = check_module(path)
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(
        self,
        app: Flask,
        options: dict[str, Any],
        post_fork: Callable[..., None],
        post_worker_init: Callable[..., None] | None = None,
    ) -> None:
        self.application = app
        hooks = {"post_fork": post_fork, **({"post_worker_init": post_worker_init} if post_worker_init else {})}
        self.options = {**options, **hooks}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _run(app: Flask, host: str, port: int, workers: int, *, outbox: bool = False) -> None:
    settings = _settings()
    db = database()
    if settings.env == "development":
        if outbox:
            start_in_background(app)
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    db.dispose()  # each worker opens its own connections after the fork
    # What is loaded now (the app, the module, the libraries) lives as long as the process: frozen out of the
    # garbage collector's reach, a full collection no longer walks it and stalls every thread of a worker.
    gc.collect()
    gc.freeze()
    _Gunicorn(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            # Threads keep a worker responsive while it waits on the network (a platform's key set, a model): a
            # streamed lab reply holds its thread for the whole model call.
            "threads": settings.web_threads,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
        },
        post_fork=lambda _server, _worker: db.engine.dispose(close=False),
        # The outbox worker runs as a thread of each web worker, started after the fork (a thread in the master
        # would be forked mid-flight); on SQLite a lease lets one of them deliver at a time.
        post_worker_init=(lambda _worker: start_in_background(app)) if outbox else None,
    ).run()


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on [default: TRACEBOOK_HOST or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: TRACEBOOK_PORT or 8000].")
@with_appcontext
def serve(host: str | None, port: int | None) -> None:
    """Migrate the database, then serve the tool (gunicorn; Flask's debug server in development)."""
    settings = _settings()
    database().upgrade()
    with database().transaction() as session:
        ToolKeyService(session, _now()).current()  # the tool's signing key exists from the first start
        if settings.emulator:
            register_emulator(session, settings, _now())
    click.echo(f"Tracebook ({settings.env}) is serving {settings.base_url}/")
    if settings.emulator:
        click.echo(f"Open the LMS emulator to launch it: {settings.emulator_url}/")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _run(app, host or settings.host, port or settings.port, settings.web_workers, outbox=True)


@click.command("worker")
@with_appcontext
def worker() -> None:
    """Deliver the outbox (gradebook scores, xAPI statements) until stopped: run any number on PostgreSQL;
    on SQLite one delivers at a time (a lease), so `tracebook serve` alone is enough."""
    database().upgrade()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runner = outbox_worker(app)
    click.echo(f"Outbox worker {runner.name} started.")
    runner.run(stop)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8001, show_default=True, help="Port.")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes.")
@with_appcontext
def emulator(host: str, port: int, workers: int) -> None:
    """Serve the LMS emulator alone (its own process), e.g. to benchmark the tool against it.

    Set TRACEBOOK_EMULATOR_URL to the URL it is reached at, for this command and for the tool.
    """
    from lms_plugin import create_emulator_app

    database().upgrade()
    settings = _settings()
    click.echo(f"LMS emulator on {settings.emulator_url}/ for the tool at {settings.base_url}/")
    _run(create_emulator_app(), host, port, workers)


admin_group = AppGroup("admin", help="Tool admin accounts (local, separate from LMS roles), for the pages at /admin/.")


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _admin_call(action: str, username: str, work: Callable[[AdminAccounts], object]) -> None:
    try:
        with database().transaction() as session:
            work(AdminAccounts(session, _now()))
            AuditTrail(session, _now()).record(COMMAND_LINE, action, f"admin {normalise_username(username)}")
    except AdminError as error:
        raise click.ClickException(str(error)) from None


@admin_group.command("create")
@click.option("--username", required=True, help="The new admin's login name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def admin_create(username: str, password_stdin: bool) -> None:
    """Create a tool admin account (prompts for the password twice)."""
    password = _new_password(password_stdin)
    _admin_call("admin.create", username, lambda admins: admins.create(username, password))
    click.echo(f"Created the admin {normalise_username(username)}: log in at {_settings().base_url}/admin/")


@admin_group.command("password")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def admin_password(username: str, password_stdin: bool) -> None:
    """Set a new password for a tool admin; every session of the account ends."""
    password = _new_password(password_stdin)
    _admin_call("admin.password", username, lambda admins: admins.set_password(username, password))
    click.echo(f"The admin {normalise_username(username)} has a new password.")


@admin_group.command("list")
def admin_list() -> None:
    """Show every tool admin and when they last logged in."""
    with database().transaction() as session:
        found = AdminAccounts(session, _now()).list()
    if not found:
        click.echo("There are no tool admins. Create one with: tracebook admin create --username NAME")
    for admin in found:
        last = admin.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if admin.last_login_at else "never"
        click.echo(f"{admin.username}  created {admin.created_at:%Y-%m-%d}, last login {last}")


@certificates_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in CertificateStatus]), default=None, help="Only these.")
def certificates_list(status: str | None) -> None:
    """Every certificate issued, newest first: id, version, status, score, date, holder."""
    with database().transaction() as session:
        found = CertificateRegistry(session, _now()).all()
    shown = [c for c in found if status is None or c.status == status]
    if not shown:
        click.echo("No certificates." if status is None else f"No {status} certificates.")
    for c in shown:
        holder = c.holder_name or "(erased)"
        click.echo(
            f"{c.id}  v{c.version}  {c.status:<10}  {c.score_correct}/{c.score_total}  {c.issued_at:%Y-%m-%d}  {holder}"
        )


@certificates_group.command("revoke")
@click.argument("certificate_id")
@click.option("--reason", required=True, help="Shown on the certificate's verification page.")
def certificates_revoke(certificate_id: str, reason: str) -> None:
    """Revoke a certificate; its verification page then says so, with the reason."""
    try:
        with database().transaction() as session:
            revoked = CertificateRegistry(session, _now()).revoke(certificate_id, reason, COMMAND_LINE)
            AuditTrail(session, _now()).record(
                COMMAND_LINE, "certificates.revoke", f"revoked certificate {revoked.id}: {revoked.revoked_reason}"
            )
    except CertificateError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Revoked {revoked.id}: {_settings().base_url}/c/{revoked.id} now says so.")


@certificates_group.command("verify")
@click.argument("file", type=click.File("rb"))
def certificates_verify(file: BinaryIO) -> None:
    """Check a credential file (the JSON download, or its JWT) against the issuer's key set; exit 1 if not valid."""
    with database().transaction() as session:
        verification, certificate = CertificateRegistry(session, _now()).verify(file.read())
    if not verification.valid:
        raise click.ClickException(f"NOT VALID: {verification.reason}")
    if certificate is None:
        click.echo(f"Signature valid (key {verification.kid}), but this tool no longer holds the certificate.")
        sys.exit(1)
    click.echo(f"Signature valid (key {verification.kid}): certificate {certificate.id} is {certificate.status}.")
    if certificate.status is not CertificateStatus.VALID:
        detail = certificate.revoked_reason if certificate.revoked_reason else f"by {certificate.superseded_by}"
        click.echo(f"{certificate.status.capitalize()}: {detail}")
        sys.exit(1)


@certificates_group.command("rotate-key")
def certificates_rotate_key() -> None:
    """Sign new certificates with a new key; every earlier key stays published, so what they signed verifies."""
    with database().transaction() as session:
        kid = CredentialKeys(session, _now()).rotate()
        AuditTrail(session, _now()).record(COMMAND_LINE, "certificates.rotate_key", f"now signing with {kid}")
    click.echo(f"Certificates are now signed with key {kid}.")


learner_group = AppGroup("learner", help="One learner's data: export it (access request) or erase it (erasure).")
retention_group = AppGroup("retention", help="Learner data whose retention period has ended (TRACEBOOK_RETENTION_*).")
_ISSUER = click.option("--issuer", required=True, help="The learner's platform issuer, e.g. https://lms.example.edu.")
_SUB = click.option("--sub", required=True, help="The learner's LTI user id (sub) at that platform.")


def _cli_actor() -> str:
    """The audit trail's name for whoever ran a learner command: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return COMMAND_LINE


@learner_group.command("export")
@_ISSUER
@_SUB
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The zip file to write.")
def learner_export(issuer: str, sub: str, out: Path) -> None:
    """Write everything the tool holds about a learner: JSON files and a README in a zip, to give them."""
    try:
        # The file is written before the audit row commits: no export is recorded that was not made.
        with database().transaction() as session:
            made = export_learner(session, wiring.module(), _settings(), _now(), (issuer, sub), _cli_actor())
            out.write_bytes(made.archive)
    except UnknownLearnerError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"Cannot write {out}: {error.strerror}") from None
    click.echo(f"Wrote {out} ({len(made.archive):,} bytes, {len(made.files)} files); reference {made.reference}.")


@learner_group.command("erase")
@_ISSUER
@_SUB
@click.option("--yes", is_flag=True, help="Erase without asking for confirmation.")
def learner_erase(issuer: str, sub: str, yes: bool) -> None:
    """Erase a learner's data: every row, their certificates revoked and stripped, their xAPI statements voided."""
    try:
        with database().transaction() as session:
            summary = summarise(session, issuer, sub)
        if not yes:
            click.echo(f"{summary.name or 'A learner without a name'} ({summary.sub} at {summary.issuer}):")
            for table, n in summary.holdings.items():
                click.echo(f"{n:>8}  {HOLDING_LABELS.get(table, table)}")
            click.confirm(f"Erase these {summary.rows} rows? This cannot be undone", abort=True)
        report = LearnerErasure(database(), _settings(), wiring.clock()).erase(issuer, sub, _cli_actor())
    except UnknownLearnerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Erased {report.rows_deleted} rows; {report.certificates_revoked} certificate(s) revoked, "
        f"{report.files_removed} PDF(s) deleted; xAPI statements voided: {report.voided}, "
        f"{report.statements_dropped} unsent dropped. Reference {report.reference} (in the audit trail)."
    )
    if report.files_left:
        click.echo(f"Delete these from the storage folder by hand: {', '.join(report.files_left)}", err=True)
    for note in OUTSIDE_THE_TOOL:
        click.echo(f"- {note}")
    click.echo(f"The learner's identifiers in LRSs (not stored): {'; '.join(report.lrs_identifiers)}")


@retention_group.command("purge")
def retention_purge() -> None:
    """Remove now what has outlived its retention period (the outbox workers do this once a day on their own)."""
    kept = _settings().retention
    with database().transaction() as session:
        record_run(session, _now(), only_if_due=False)
        counts = purge(session, kept, _now())
        AuditTrail(session, _now()).record(COMMAND_LINE, "retention.purge", str(counts))
    click.echo(
        f"Kept {kept.lab_transcript_days} days of lab text, {kept.span_days} of spans, {kept.outbox_days} of sent "
        f"messages: {counts}."
    )


def init_app(app: Flask) -> None:
    for command in (
        db_group, content_group, platform_group, keys_group, xapi_group, certificates_group, export, serve, emulator,
        worker,
    ):  # fmt: skip
        app.cli.add_command(command)
    app.cli.add_command(admin_group)
    app.cli.add_command(learner_group)
    app.cli.add_command(retention_group)


def _create_app_for_cli() -> Flask:
    from lms_plugin import create_app

    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def main() -> None:
    FlaskGroup(
        name="tracebook",
        help="Tracebook: the admin's command line.",
        create_app=_create_app_for_cli,
        add_version_option=False,
        load_dotenv=False,  # our settings read .env themselves, with validation
    ).main(prog_name="tracebook")
