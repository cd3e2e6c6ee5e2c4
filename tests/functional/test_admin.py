"""The tool admin: accounts from the command line, the login (rate limit, CSRF, logout), and the pages'
actions on deployments, keys and the outbox, each leaving an audit row."""

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from lms_plugin import create_app
from lms_plugin.db import Database
from lms_plugin.emulator.platforms import PLATFORMS
from lms_plugin.models import AdminAudit, Deployment, OutboxMessage, Platform, ToolKey
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.services.admins import COMMAND_LINE
from tests.conftest import FrozenClock

from .admin_support import csrf_token
from .lti_support import launch_as, settings_of

USERNAME, PASSWORD = "root", "correct horse battery staple"


@pytest.fixture
def admin(app: Flask) -> str:
    """A tool admin created as an operator would, with the password on standard input."""
    done = app.test_cli_runner().invoke(
        args=["admin", "create", "--username", USERNAME, "--password-stdin"], input=PASSWORD + "\n"
    )
    assert done.exit_code == 0, done.output
    return USERNAME


def _log_in(client: FlaskClient, username: str = USERNAME, password: str = PASSWORD, **extra: str) -> TestResponse:
    token = csrf_token(client, "/admin/login")
    return client.post("/admin/login", data={"csrf_token": token, "username": username, "password": password, **extra})


def _audit(db: Database) -> list[tuple[str, str, str]]:
    with db.transaction() as session:
        rows = session.scalars(select(AdminAudit).order_by(AdminAudit.id))
        return [(r.admin_username, r.action, r.detail) for r in rows]


def test_an_admin_created_on_the_command_line_logs_in_and_out(app: Flask, client: FlaskClient, db: Database) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["admin", "create", "--username", "Grace"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert created.exit_code == 0, created.output
    assert "Created the admin grace" in created.output
    assert "grace  created" in runner.invoke(args=["admin", "list"]).output

    assert client.get("/admin/").status_code == 303  # not yet
    response = _log_in(client, "grace")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    cookie = response.headers["Set-Cookie"]
    assert "tracebook_admin=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/admin" in cookie
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert "Log out" in dashboard.get_data(as_text=True)
    assert "frame-ancestors 'none'" in dashboard.headers["Content-Security-Policy"]
    assert dashboard.headers["Cache-Control"] == "no-store"

    copied = client.get_cookie("tracebook_admin", path="/admin")
    assert copied is not None
    logout = client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert logout.status_code == 303
    assert logout.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 303
    # A copy of the cookie taken before the logout is dead too: the logout replaced the account's session key.
    client.set_cookie("tracebook_admin", copied.value, path="/admin")
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")
    assert [(who, action) for who, action, _ in _audit(db)] == [
        (COMMAND_LINE, "admin.create"),
        ("grace", "login"),
        ("grace", "logout"),
    ]


def test_a_weak_password_or_a_taken_name_is_refused_on_the_command_line(app: Flask, admin: str) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["admin", "create", "--username", "bob", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1
    assert "at least 12 characters" in weak.output
    taken = runner.invoke(args=["admin", "create", "--username", "ROOT", "--password-stdin"], input=PASSWORD + "\n")
    assert taken.exit_code == 1
    assert "There is already an admin named root" in taken.output


def test_a_wrong_password_is_refused_without_a_session(client: FlaskClient, admin: str) -> None:
    response = _log_in(client, password="not the password at all")
    assert response.status_code == 200
    assert "The username or password is wrong." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 303
    unknown = _log_in(client, username="nobody")
    assert "The username or password is wrong." in unknown.get_data(as_text=True)  # the same words: no hint


def test_five_failures_lock_the_account_from_that_address_for_fifteen_minutes(
    app: Flask, client: FlaskClient, clock: FrozenClock, admin: str
) -> None:
    for _ in range(5):
        assert "is wrong" in _log_in(client, password="guess guess guess").get_data(as_text=True)
        clock.advance(seconds=10)

    locked = _log_in(client)  # the right password, too late
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.get_data(as_text=True)
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert client.get("/admin/").status_code == 303

    # The limit is per account and address: the admin at another address is not locked out by an attacker.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert _log_in(elsewhere).status_code == 303

    retry_after = int(locked.headers["Retry-After"])
    clock.advance(seconds=retry_after - 2)
    assert _log_in(client).status_code == 429
    clock.advance(seconds=2)  # as promised: the first failure has left the window
    assert _log_in(client).status_code == 303
    assert client.get("/admin/").status_code == 200


def test_a_new_password_from_the_command_line_lifts_a_lockout(app: Flask, client: FlaskClient, admin: str) -> None:
    for _ in range(5):
        _log_in(client, password="guess guess guess")
    assert _log_in(client).status_code == 429
    new_password = "a brand new long passphrase"
    done = app.test_cli_runner().invoke(
        args=["admin", "password", "--username", USERNAME, "--password-stdin"], input=new_password + "\n"
    )
    assert done.exit_code == 0, done.output
    assert "is wrong" in _log_in(client).get_data(as_text=True)  # the old password is gone
    assert _log_in(client, password=new_password).status_code == 303


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, db: Database, admin: str) -> None:
    no_token = client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD})
    assert no_token.status_code == 400
    assert client.get("/admin/").status_code == 303

    assert _log_in(client).status_code == 303
    with db.transaction() as session:
        keys_before = set(session.scalars(select(ToolKey.kid)))
    assert client.post("/admin/keys/rotate").status_code == 400
    assert client.post("/admin/keys/rotate", data={"csrf_token": "forged"}).status_code == 400
    with db.transaction() as session:
        assert set(session.scalars(select(ToolKey.kid))) == keys_before
    assert [action for _, action, _ in _audit(db)] == ["admin.create", "login"]


def test_an_anonymous_visit_returns_to_the_page_after_login_and_never_leaves_the_site(
    client: FlaskClient, admin: str
) -> None:
    bounced = client.get("/admin/outbox")
    assert bounced.status_code == 303
    assert bounced.headers["Location"] == "/admin/login?next=/admin/outbox"
    assert _log_in(client, next="/admin/outbox").headers["Location"] == "/admin/outbox"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert _log_in(client, next="https://evil.example/admin/").headers["Location"] == "/admin/"


def test_a_session_ends_after_eight_hours(client: FlaskClient, clock: FrozenClock, admin: str) -> None:
    _log_in(client)
    clock.advance(hours=7, minutes=59)
    assert client.get("/admin/").status_code == 200
    clock.advance(minutes=1)
    assert client.get("/admin/").status_code == 303


def _deployment_active(db: Database, deployment_id: str) -> bool:
    with db.transaction() as session:
        return bool(session.scalar(select(Deployment.active).where(Deployment.deployment_id == deployment_id)))


@pytest.mark.usefixtures("live_server")
def test_deactivating_a_deployment_on_the_page_stops_its_launches(
    app: Flask, client: FlaskClient, db: Database, clock: FrozenClock, admin: str
) -> None:
    moodle = PLATFORMS["moodle"]
    issuer = moodle.issuer(settings_of(app).emulator_url)
    assert launch_as(app.test_client(), app).status_code == 303
    _log_in(client)
    page = client.get("/admin/platforms").get_data(as_text=True)
    assert "Moodle (emulated)" in page
    assert "Deactivate<span" in page

    form = {"issuer": issuer, "client_id": moodle.client_id, "deployment_id": moodle.deployment_id}
    response = client.post(
        "/admin/deployments", data={**form, "active": "false", "csrf_token": csrf_token(client, "/admin/")}
    )
    assert response.status_code == 303
    assert f"Deployment {moodle.deployment_id} of {issuer} is now inactive" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert not _deployment_active(db, moodle.deployment_id)
    assert _audit(db)[-1] == (
        USERNAME,
        "deployment.deactivate",
        f"deployment {moodle.deployment_id} of {issuer} (client id {moodle.client_id})",
    )
    clock.advance(seconds=31)  # past the web process's cache of active deployments
    assert launch_as(app.test_client(), app).status_code == 403

    client.post("/admin/deployments", data={**form, "active": "true", "csrf_token": csrf_token(client, "/admin/")})
    assert _deployment_active(db, moodle.deployment_id)
    assert _audit(db)[-1][1] == "deployment.activate"
    assert launch_as(app.test_client(), app).status_code == 303


def test_rotating_the_key_on_the_page_publishes_the_new_key_beside_the_old(
    client: FlaskClient, db: Database, admin: str
) -> None:
    _log_in(client)
    old = client.get("/lti/jwks.json").get_json()["keys"]
    assert len(old) == 1
    assert old[0]["kid"] in client.get("/admin/keys").get_data(as_text=True)
    response = client.post("/admin/keys/rotate", data={"csrf_token": csrf_token(client, "/admin/keys")})
    assert response.status_code == 303
    kids = {key["kid"] for key in client.get("/lti/jwks.json").get_json()["keys"]}
    who, action, detail = _audit(db)[-1]
    new_kid = detail.removeprefix("the tool now signs with key ")
    assert (who, action) == (USERNAME, "keys.rotate")
    assert kids == {old[0]["kid"], new_kid}
    assert new_kid in client.get(response.headers["Location"]).get_data(as_text=True)


def _failed_message(app: Flask, db: Database, key: str, status: str, error: str) -> int:
    with db.transaction() as session:
        Outbox(session, app.extensions["tracebook.clock"].now()).enqueue(
            key=key,
            channel="ags",
            ordering_key=f"score:{key}",
            destination={"url": "https://lms.example/lineitems/1/scores"},
            payload={"scoreGiven": 12},
            learner_id=None,
        )
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()
        row.status, row.attempts, row.last_error = status, 9, error
        return row.id


def _status(db: Database, message_id: int) -> tuple[str, int]:
    with db.transaction() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row.status, row.attempts


def test_resending_a_dead_letter_puts_it_back_in_the_queue(
    app: Flask, client: FlaskClient, db: Database, admin: str
) -> None:
    dead = _failed_message(app, db, "a", Status.DEAD, "HTTP 503 from the LMS after 9 tries")
    ungradable = _failed_message(app, db, "b", Status.NOT_GRADABLE, "the placement has no line item")
    _log_in(client)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "HTTP 503 from the LMS after 9 tries" in page
    assert "the placement has no line item" in page

    token = csrf_token(client, "/admin/outbox")
    assert client.post("/admin/outbox/resend", data={"csrf_token": token, "message": str(dead)}).status_code == 303
    assert _status(db, dead) == (Status.PENDING, 0)
    assert _status(db, ungradable) == (Status.NOT_GRADABLE, 9)  # only what was selected
    assert _audit(db)[-1][:2] == (USERNAME, "outbox.resend")
    assert _audit(db)[-1][2].startswith("1 message(s) queued again (selected")

    client.post("/admin/outbox/resend", data={"csrf_token": token, "scope": "all"})
    assert _status(db, ungradable) == (Status.PENDING, 0)
    assert "Nothing has failed." in client.get("/admin/outbox").get_data(as_text=True)


def test_the_dashboard_points_at_deployments_waiting_for_activation(
    client: FlaskClient, db: Database, clock: FrozenClock, admin: str
) -> None:
    with db.transaction() as session:
        platform = session.scalars(select(Platform).order_by(Platform.id)).first()
        assert platform is not None
        session.add(
            Deployment(platform_id=platform.id, deployment_id="new-course-copy", active=False, created_at=clock.now())
        )
    _log_in(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert "1</strong> inactive deployment</a>" in page
    assert "new-course-copy" in client.get("/admin/platforms").get_data(as_text=True)


def test_the_session_cookie_is_secure_when_the_tool_is_served_over_https(app: Flask) -> None:
    assert app.config["SESSION_COOKIE_SECURE"] is False  # the test app answers on http://127.0.0.1
    settings = settings_of(app)
    https_app = create_app(
        {
            "ENV": "test",
            "DATABASE_URL": settings.database_url,
            "DATA_DIR": str(settings.data_dir),
            "BASE_URL": "https://tool.example",
        }
    )
    assert https_app.config["SESSION_COOKIE_SECURE"] is True
    https_app.extensions["tracebook.db"].dispose()


def test_an_admin_makes_a_one_time_registration_link_on_the_page_and_it_is_audited(
    client: FlaskClient, db: Database, admin: str
) -> None:
    _log_in(client)
    response = client.post("/admin/registration-links", data={"csrf_token": csrf_token(client, "/admin/platforms")})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    link = page.split("One-time registration link (valid 24 hours): ", 1)[1].split("<", 1)[0].strip()
    assert "/lti/register?tb_link=" in link
    assert _audit(db)[-1][:2] == (USERNAME, "registration-link.create")
