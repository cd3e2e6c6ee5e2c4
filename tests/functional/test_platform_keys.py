"""Platform key handling, counted on the emulator's JWKS endpoint (served over real HTTP)."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.emulator.views import JWKS_FETCHES
from lms_plugin.lti.keys import SigningKey
from tests.conftest import FrozenClock

from .lti_support import claims, emulator_key, launch, launch_as, signed, start_login

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture(autouse=True)
def _count_from_zero() -> None:
    JWKS_FETCHES.clear()


def test_a_hundred_launches_fetch_the_platform_keys_once(client: FlaskClient, app: Flask) -> None:
    for _ in range(100):
        assert launch_as(client, app).status_code == 303
    assert JWKS_FETCHES["moodle"] == 1


def test_a_rotated_platform_key_is_fetched_once_without_a_restart(
    client: FlaskClient, app: Flask, clock: FrozenClock
) -> None:
    assert launch_as(client, app).status_code == 303
    assert client.post("/emulator/keys/rotate").status_code == 200
    clock.advance(seconds=10)

    assert launch_as(client, app).status_code == 303
    assert launch_as(client, app).status_code == 303
    assert JWKS_FETCHES["moodle"] == 2


def test_forged_key_ids_cannot_make_the_tool_hammer_the_platform(
    client: FlaskClient, app: Flask, clock: FrozenClock
) -> None:
    assert launch_as(client, app).status_code == 303
    for n in range(5):
        login = start_login(client, app)
        forged = SigningKey(kid=f"made-up-{n}", private_pem=emulator_key(app).private_pem)
        assert launch(client, login.state, signed(app, claims(app, login.nonce), forged)).status_code == 400
    assert JWKS_FETCHES["moodle"] == 1  # the set was fetched seconds ago: an unknown kid is refused, not re-fetched
