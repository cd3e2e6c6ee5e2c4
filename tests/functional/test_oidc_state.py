"""The three ways a browser proves it started the login: LTI Platform Storage, a cookie, a new window."""

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.db import database
from lms_plugin.models import OidcLogin

from .lti_support import claims, launch, signed, start_login

pytestmark = pytest.mark.usefixtures("live_server")


def _state_check(app: Flask, state: str) -> str | None:
    with app.app_context(), database().transaction() as session:
        return session.scalar(select(OidcLogin.state_check).where(OidcLogin.state == state))


def test_platform_storage_path(client: FlaskClient, app: Flask) -> None:
    login = start_login(client, app, "canvas", lti_storage_target="post_message_forwarding")
    assert "Set-Cookie" not in login.response.headers  # Platform Storage needs no cookie
    assert 'data-storage-target="post_message_forwarding"' in login.response.get_data(as_text=True)

    page = launch(client, login.state, signed(app, claims(app, login.nonce, mode="canvas")))
    assert page.status_code == 200
    handle = html.unescape(re.search(r'data-handle="([^"]+)"', page.get_data(as_text=True)).group(1))  # type: ignore[union-attr]

    wrong = client.post("/lti/launch/confirm", json={"handle": handle, "state": "somebody-elses-state"})
    assert wrong.status_code == 400
    assert "does not hold this login's state" in wrong.get_json()["message"]
    done = client.post("/lti/launch/confirm", json={"handle": handle, "state": login.state})
    assert done.status_code == 200
    assert done.get_json()["state_check"] == "platform-storage"
    assert client.get(done.get_json()["redirect"]).status_code == 200
    assert _state_check(app, login.state) == "platform-storage"
    assert client.post("/lti/launch/confirm", json={"handle": handle, "state": login.state}).status_code == 400


def test_cookie_path(client: FlaskClient, app: Flask) -> None:
    login = start_login(client, app, "moodle")
    cookie = login.response.headers["Set-Cookie"]
    assert f"tb_state_{login.state}=" in cookie
    assert "SameSite=None" in cookie
    assert "Secure" in cookie

    response = launch(client, login.state, signed(app, claims(app, login.nonce)))

    assert response.status_code == 303
    assert response.headers["X-Tracebook-State-Check"] == "cookie"
    assert _state_check(app, login.state) == "cookie"


def test_new_window_path(client: FlaskClient, app: Flask) -> None:
    blocked = start_login(client, app, "moodle")
    offer = blocked.response.get_data(as_text=True)
    new_window_url = html.unescape(re.search(r'href="([^"]+)" target="_blank"', offer).group(1))  # type: ignore[union-attr]
    assert "tracebook_window=new" in new_window_url

    reopened = client.get(new_window_url)  # what the "Open in a new window" link does, top-level
    state = re.search(r"state=([^&\"]+)", html.unescape(reopened.get_data(as_text=True))).group(1)  # type: ignore[union-attr]
    with app.app_context(), database().transaction() as session:
        login = session.get(OidcLogin, state)
        assert login is not None
        nonce = login.nonce
    response = launch(client, state, signed(app, claims(app, nonce)))

    assert response.status_code == 303
    assert response.headers["X-Tracebook-State-Check"] == "new-window"
    assert _state_check(app, state) == "new-window"


def test_without_storage_or_cookie_the_launch_is_refused_with_the_way_out(app: Flask) -> None:
    starter, launcher = app.test_client(), app.test_client()  # the second browser frame got no cookie
    login = start_login(starter, app, "moodle")

    response = launch(launcher, login.state, signed(app, claims(app, login.nonce)))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "cookies for this tool seem to be blocked" in page
    assert "the tool will offer to open in a new window" in page
