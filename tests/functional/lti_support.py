"""Builders for LTI tests: start a real OIDC login, mint real RS256 id_tokens with the emulator's key (or a
forged one), and post the launch — all through the app's HTTP interface."""

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lms_plugin.config import Settings
from lms_plugin.db import database
from lms_plugin.emulator.keys import EmulatorKeys
from lms_plugin.emulator.platforms import PEOPLE, PLATFORMS, EmulatedPlacement
from lms_plugin.emulator.tokens import resource_link_claims, sign
from lms_plugin.lti.keys import SigningKey


@dataclass(frozen=True)
class Login:
    state: str
    nonce: str
    response: TestResponse


def settings_of(app: Flask) -> Settings:
    settings: Settings = app.config["TRACEBOOK"]
    return settings


def login_params(app: Flask, mode: str = "moodle", **extra: str) -> dict[str, str]:
    platform, settings = PLATFORMS[mode], settings_of(app)
    return {
        "iss": platform.issuer(settings.emulator_url),
        "login_hint": "ada",
        "target_link_uri": f"{settings.base_url}/lti/launch",
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
        **extra,
    }


def start_login(client: FlaskClient, app: Flask, mode: str = "moodle", **extra: str) -> Login:
    response = client.get("/lti/login", query_string=login_params(app, mode, **extra))
    assert response.status_code == 200, response.get_data(as_text=True)
    auth_url = html.unescape(re.search(r'data-auth-url="([^"]+)"', response.get_data(as_text=True)).group(1))  # type: ignore[union-attr]
    query = parse_qs(urlsplit(auth_url).query)
    return Login(state=query["state"][0], nonce=query["nonce"][0], response=response)


def claims(
    app: Flask, nonce: str, *, mode: str = "moodle", person: str = "ada", unit: str = "module", **changes: Any
) -> dict[str, Any]:
    """A valid resource-link payload as the emulator would sign it, then ``changes`` (None removes a claim)."""
    settings = settings_of(app)
    payload = resource_link_claims(
        PLATFORMS[mode],
        emulator_url=settings.emulator_url,
        tool_url=settings.base_url,
        person=PEOPLE[person],
        placement=EmulatedPlacement(f"link-{unit}", unit, f"Placement {unit}"),
        nonce=nonce,
        now=app.extensions["tracebook.clock"].now(),
    )
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def emulator_key(app: Flask) -> SigningKey:
    with app.app_context(), database().transaction() as session:
        return EmulatorKeys(session, app.extensions["tracebook.clock"].now()).current()


def signed(app: Flask, payload: dict[str, Any], key: SigningKey | None = None) -> str:
    return sign(payload, key or emulator_key(app))


def launch(client: FlaskClient, state: str, id_token: str) -> TestResponse:
    return client.post("/lti/launch", data={"id_token": id_token, "state": state})


def launch_as(client: FlaskClient, app: Flask, *, mode: str = "moodle", **claim_changes: Any) -> TestResponse:
    """A complete, valid launch (cookie path); returns the launch response (a 303 to the first page)."""
    login = start_login(client, app, mode)
    return launch(client, login.state, signed(app, claims(app, login.nonce, mode=mode, **claim_changes)))


def session_token(response: TestResponse) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["s"][0]
