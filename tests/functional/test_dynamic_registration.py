"""LTI Dynamic Registration against the live emulator (its OpenID configuration and registration endpoint over
real HTTP), the one-time registration links that guard it, launches of the registered client, and the Canvas
developer-key JSON."""

import html
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from lms_plugin.db import Database
from lms_plugin.delivery import service_client
from lms_plugin.emulator.dynamic_registration import new_registration_token
from lms_plugin.emulator.platforms import PLATFORMS
from lms_plugin.lti.nrps import fetch_members
from lms_plugin.lti.platform_directory import PlatformInfo
from lms_plugin.lti.registration import TOOL_CONFIGURATION, RegistrationLinks
from lms_plugin.models import Deployment, EmulatorToolRegistration, Platform, RegistrationLink
from lms_plugin.services.platforms import PlatformService
from tests.conftest import FrozenClock

from .lti_support import settings_of

pytestmark = pytest.mark.usefixtures("live_server")


def _link(app: Flask, db: Database, clock: FrozenClock, hours: float = 24) -> str:
    with db.transaction() as session:
        return RegistrationLinks(session, clock.now()).create(settings_of(app).base_url, "test", timedelta(hours=hours))


def _frame_src(page: TestResponse, frame_id: str) -> str:
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    found = re.search(rf'<iframe id="{frame_id}"[^>]*?\ssrc="([^"]+)"', text)
    assert found, text
    return html.unescape(found.group(1))


def _register(client: FlaskClient, tool_url: str, mode: str = "moodle") -> TestResponse:
    """What an LMS admin does: paste the tool's URL; the emulated LMS frames it with its openid_configuration and
    a fresh registration_token, and the tool registers itself over HTTP."""
    frame = _frame_src(
        client.get(f"/emulator/{mode}/tools/register", query_string={"url": tool_url}), "registration-frame"
    )
    return client.get(frame)


def _registrations(db: Database) -> list[EmulatorToolRegistration]:
    with db.transaction() as session:
        return list(session.scalars(select(EmulatorToolRegistration)))


def _platforms(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Platform)) or 0


def _launch_through_emulator(client: FlaskClient, client_id: str, mode: str = "moodle") -> TestResponse:
    """A launch as the emulated LMS performs it for the tool registered under ``client_id``: its course page
    frames the tool's login, the tool sends the browser to the emulator's authorization endpoint, which
    signs an id_token for that client and posts it to the tool."""
    login_url = _frame_src(
        client.get(
            f"/emulator/{mode}/course",
            query_string={"person": "ada", "placement": "link-module", "client_id": client_id},
        ),
        "tool-frame",
    )
    assert parse_qs(urlsplit(login_url).query)["client_id"] == [client_id]
    login = client.get(login_url).get_data(as_text=True)
    auth_url = html.unescape(re.search(r'data-auth-url="([^"]+)"', login).group(1))  # type: ignore[union-attr]
    form_post = client.get(auth_url)
    assert form_post.status_code == 200, form_post.get_data(as_text=True)
    fields = dict(re.findall(r'name="(id_token|state)" value="([^"]+)"', form_post.get_data(as_text=True)))
    action = html.unescape(re.search(r'action="([^"]+)"', form_post.get_data(as_text=True)).group(1))  # type: ignore[union-attr]
    return client.post(action, data=fields)


def test_registration_without_a_valid_link_is_refused_before_any_request(
    client: FlaskClient, app: Flask, db: Database
) -> None:
    config_url = f"{settings_of(app).emulator_url}/moodle/openid-configuration"
    for query in ({}, {"tb_link": "made-up"}):
        response = client.get(
            "/lti/register", query_string={**query, "openid_configuration": config_url, "registration_token": "x"}
        )
        assert response.status_code == 403
        assert "only through a one-time link" in response.get_data(as_text=True)
    # Refused before the tool contacted the platform: the emulator registered nothing.
    assert _registrations(db) == []
    assert _platforms(db) == 2  # the emulator's two built-in registrations


def test_an_expired_link_is_refused(client: FlaskClient, app: Flask, db: Database, clock: FrozenClock) -> None:
    link = _link(app, db, clock, hours=1)
    clock.advance(hours=1, seconds=1)

    response = _register(client, link)

    assert response.status_code == 403
    assert "expired" in response.get_data(as_text=True)
    assert _registrations(db) == []


def test_round_trip_registers_an_inactive_deployment_that_launches_only_after_activation(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock
) -> None:
    settings = settings_of(app)
    response = _register(client, _link(app, db, clock))

    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Tracebook is registered" in page
    assert "/static/registration.js" in page  # posts org.imsglobal.lti.close to the LMS (no inline script)
    [registered] = _registrations(db)
    sent = registered.client_metadata
    assert sent["initiate_login_uri"] == f"{settings.base_url}/lti/login"
    assert sent["redirect_uris"] == [f"{settings.base_url}/lti/launch"]
    assert sent["jwks_uri"] == f"{settings.base_url}/lti/jwks.json"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"].split()
    assert {m["type"] for m in sent[TOOL_CONFIGURATION]["messages"]} == {
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    }
    issuer = PLATFORMS["moodle"].issuer(settings.emulator_url)
    with db.transaction() as session:
        platform = session.scalars(select(Platform).where(Platform.client_id == registered.client_id)).one()
        assert (platform.issuer, platform.auth_login_url, platform.key_set_url) == (
            issuer,
            f"{settings.emulator_url}/moodle/auth",
            f"{settings.emulator_url}/moodle/jwks",
        )
        deployment = session.scalars(select(Deployment).where(Deployment.platform_id == platform.id)).one()
        assert (deployment.deployment_id, deployment.active) == (registered.deployment_id, False)
        link = session.scalars(select(RegistrationLink)).one()
        assert (link.used_at, link.platform_id) == (clock.now(), platform.id)
    assert f"--client-id {registered.client_id} --deployment-id {registered.deployment_id}" in page

    refused = _launch_through_emulator(client, registered.client_id)
    assert refused.status_code == 403
    assert "is not active in this tool yet" in refused.get_data(as_text=True)

    with db.transaction() as session:
        PlatformService(session, clock.now()).set_active(
            issuer, registered.client_id, registered.deployment_id, active=True
        )
    launched = _launch_through_emulator(client, registered.client_id)
    assert launched.status_code == 303, launched.get_data(as_text=True)
    assert "/s/module" in launched.headers["Location"]


def test_a_link_cannot_be_used_twice(client: FlaskClient, app: Flask, db: Database, clock: FrozenClock) -> None:
    link = _link(app, db, clock)
    assert _register(client, link).status_code == 200

    again = _register(client, link)

    assert again.status_code == 403
    assert "already used" in again.get_data(as_text=True)
    assert len(_registrations(db)) == 1  # the second attempt never reached the platform
    assert _platforms(db) == 3


def test_a_registration_the_platform_refuses_stores_nothing_and_leaves_the_link_usable(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock
) -> None:
    link = _link(app, db, clock)
    frame = _frame_src(client.get("/emulator/moodle/tools/register", query_string={"url": link}), "registration-frame")
    forged = frame.replace("registration_token=", "registration_token=x")

    refused = client.get(forged)

    assert refused.status_code == 502
    assert "The platform refused the tool&#39;s registration (HTTP 401)" in refused.get_data(as_text=True)
    assert _platforms(db) == 2
    assert _register(client, link).status_code == 200  # the admin can simply try again


def test_the_emulator_checks_the_registration_token_and_the_client_metadata(app: Flask, live_server: str) -> None:
    endpoint = f"{settings_of(app).emulator_url}/moodle/registrations"
    assert requests.post(endpoint, json={"application_type": "web"}, timeout=5).status_code == 401

    with app.test_request_context():
        token = new_registration_token("moodle")
    bad = requests.post(
        endpoint, json={"application_type": "native"}, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_client_metadata"
    assert "application_type must be web" in bad.json()["error_description"]


def test_a_platform_whose_issuer_does_not_start_its_configuration_url_is_refused(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock
) -> None:
    """The same configuration reached at another host name than its issuer's is refused (LTI-DR §3.5.1)."""
    link = _link(app, db, clock)
    frame = _frame_src(client.get("/emulator/moodle/tools/register", query_string={"url": link}), "registration-frame")
    query = parse_qs(urlsplit(frame).query)
    config = query["openid_configuration"][0]
    response = client.get(
        "/lti/register",
        query_string={
            "tb_link": query["tb_link"][0],
            "registration_token": query["registration_token"][0],
            "openid_configuration": config.replace("//localhost:", "//127.0.0.1:"),
        },
    )
    assert response.status_code == 502
    assert "does not match the configuration URL" in response.get_data(as_text=True)
    assert _registrations(db) == []


def test_canvas_json_describes_the_tool_at_its_base_url(client: FlaskClient, app: Flask) -> None:
    base = settings_of(app).base_url
    response = client.get("/lti/config/canvas.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    config = response.get_json()
    assert {"title", "description", "oidc_initiation_url", "target_link_uri", "public_jwk_url", "scopes"} <= set(config)
    assert config["oidc_initiation_url"] == f"{base}/lti/login"
    assert config["target_link_uri"] == f"{base}/lti/launch"
    assert config["public_jwk_url"] == f"{base}/lti/jwks.json"
    assert config["custom_fields"] == {"tracebook_unit": "module"}
    [canvas] = config["extensions"]
    assert (canvas["platform"], canvas["privacy_level"], canvas["domain"]) == (
        "canvas.instructure.com",
        "public",
        urlsplit(base).netloc,
    )
    placements = {p["placement"]: p for p in canvas["settings"]["placements"]}
    assert placements["link_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert placements["assignment_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert placements["course_navigation"]["message_type"] == "LtiResourceLinkRequest"
    assert all(p["target_link_uri"] == f"{base}/lti/launch" for p in placements.values())
    assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in config["scopes"]


def test_register_link_command_prints_a_working_one_time_link(database_url: str, tmp_path: Path) -> None:
    tracebook = str(Path(sys.executable).with_name("tracebook"))
    env = {
        **os.environ,
        "TRACEBOOK_DATABASE_URL": database_url,
        "TRACEBOOK_DATA_DIR": str(tmp_path / "cli-data"),
        "TRACEBOOK_BASE_URL": "https://tracebook.example.edu",
    }
    assert (
        subprocess.run([tracebook, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, timeout=120).returncode
        == 0
    )

    done = subprocess.run(
        [tracebook, "platform", "register-link", "--valid-for", "2"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith("https://tracebook.example.edu/lti/register?tb_link=")
    assert "works once, for 2 hours" in done.stderr
    db = Database(database_url)
    with db.transaction() as session:
        row = session.scalars(select(RegistrationLink)).one()
        RegistrationLinks(session, row.created_at).check(parse_qs(urlsplit(link).query)["tb_link"][0])
        assert row.expires_at - row.created_at == timedelta(hours=2)
        assert row.created_by == "cli"
    db.dispose()


def test_a_dynamically_registered_tool_gets_service_tokens_and_reads_the_roster(
    client: FlaskClient, app: Flask, db: Database, clock: FrozenClock
) -> None:
    settings = settings_of(app)
    _register(client, _link(app, db, clock))
    [registered] = _registrations(db)
    with db.transaction() as session:
        PlatformService(session, clock.now()).set_active(
            PLATFORMS["moodle"].issuer(settings.emulator_url),
            registered.client_id,
            registered.deployment_id,
            active=True,
        )
        platform = session.scalars(select(Platform).where(Platform.client_id == registered.client_id)).one()
        info = PlatformInfo(
            platform.id, platform.issuer, platform.client_id, platform.name, platform.auth_login_url,
            platform.auth_token_url, platform.key_set_url,
        )  # fmt: skip
    members_url = f"{settings.emulator_url}/moodle/contexts/moodle-course-obs-101/memberships"

    members = fetch_members(service_client(app), info, members_url)

    assert {m.name for m in members} == {"Ada Learner", "Grace Student", "Alan Teacher", "Site Admin"}
