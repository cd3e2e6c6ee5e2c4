"""LTI 1.3 launch validation, mirroring the 1EdTech tool certification cases: real HTTP through the app,
real RS256 tokens signed with the emulator's key (fetched by the tool from the live emulator)."""

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.db import database
from lms_plugin.emulator.platforms import PLATFORMS
from lms_plugin.lti import claims as lti
from lms_plugin.lti.keys import SigningKey, new_rsa_key
from lms_plugin.lti.roles import Role
from lms_plugin.lti.sessions import SessionService
from lms_plugin.models import Deployment, LaunchSession, Learner

from .lti_support import claims, emulator_key, launch, launch_as, login_params, session_token, signed, start_login

pytestmark = pytest.mark.usefixtures("live_server")
MOODLE = PLATFORMS["moodle"]
ASK_ADMIN = "Ask your LMS administrator"


def _forged_key(app: Flask) -> SigningKey:
    pem, _ = new_rsa_key()
    return SigningKey(kid=emulator_key(app).kid, private_pem=pem)


def _without_all_lti_claims(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if not k.startswith(lti.LTI)}


def _now(app: Flask) -> int:
    return int(app.extensions["tracebook.clock"].now().timestamp())


# name: (how to make the token from (app, payload), status, message)
Tamper = Callable[[Flask, dict[str, Any]], str]
REFUSALS: dict[str, tuple[Tamper, int, str]] = {
    "missing kid": (lambda app, p: sign_without_kid(app, p), 400, "The token's header names no key ('kid')."),
    "wrong kid": (
        lambda app, p: signed(app, p, SigningKey("no-such-kid", emulator_key(app).private_pem)),
        400,
        "The token was signed with key 'no-such-kid', which is not in the platform's key set.",
    ),
    "bad signature": (
        lambda app, p: signed(app, p, _forged_key(app)),
        400,
        "The token's signature does not match the platform's key.",
    ),
    "wrong LTI version": (
        lambda app, p: signed(app, {**p, lti.VERSION: "1.1.0"}),
        400,
        "Unsupported LTI version '1.1.0'",
    ),
    "missing LTI version": (
        lambda app, p: signed(app, _drop(p, lti.VERSION)),
        400,
        f"missing the required '{lti.VERSION}' claim",
    ),
    "not an LTI message": (
        lambda app, p: signed(app, _without_all_lti_claims(p)),
        400,
        "The token is not an LTI message",
    ),
    "missing aud": (lambda app, p: signed(app, _drop(p, "aud", "azp")), 400, "missing the required 'aud' claim"),
    "missing iss": (lambda app, p: signed(app, _drop(p, "iss")), 400, "missing the required 'iss' claim"),
    "missing sub": (lambda app, p: signed(app, _drop(p, "sub")), 400, "missing the required 'sub' claim"),
    "missing deployment_id": (
        lambda app, p: signed(app, _drop(p, lti.DEPLOYMENT_ID)),
        400,
        f"missing the required '{lti.DEPLOYMENT_ID}'",
    ),
    "missing message_type": (
        lambda app, p: signed(app, _drop(p, lti.MESSAGE_TYPE)),
        400,
        f"missing the required '{lti.MESSAGE_TYPE}'",
    ),
    "missing resource link": (
        lambda app, p: signed(app, _drop(p, lti.RESOURCE_LINK)),
        400,
        f"missing the required '{lti.RESOURCE_LINK}'",
    ),
    "missing roles": (lambda app, p: signed(app, _drop(p, lti.ROLES)), 400, f"missing the required '{lti.ROLES}'"),
    "expired": (
        lambda app, p: signed(app, {**p, "iat": _now(app) - 600, "exp": _now(app) - 61}),
        400,
        "The launch has expired",
    ),
    "issued in the future beyond the leeway": (
        lambda app, p: signed(app, {**p, "iat": _now(app) + 61, "exp": _now(app) + 600}),
        400,
        "issued in the future ('iat' more than 60 s ahead",
    ),
    "nonce not this login's": (
        lambda app, p: signed(app, {**p, "nonce": "another-login-nonce"}),
        400,
        "The launch's nonce is not the one this login issued.",
    ),
    "unknown platform": (
        lambda app, p: signed(app, {**p, "iss": "https://lms.unknown.example"}),
        403,
        "Unknown platform: issuer https://lms.unknown.example with client id",
    ),
    "azp not this tool": (
        lambda app, p: signed(app, {**p, "aud": [MOODLE.client_id, "other-tool"], "azp": "other-tool"}),
        403,
        "The token was issued to another client ('azp' is other-tool), not to this tool",
    ),
    "unsupported message type": (
        lambda app, p: signed(app, {**p, lti.MESSAGE_TYPE: "LtiSubmissionReviewRequest"}),
        400,
        "Unsupported message type 'LtiSubmissionReviewRequest'",
    ),
}


def _drop(payload: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in names}


def sign_without_kid(app: Flask, payload: dict[str, Any]) -> str:
    import jwt

    return jwt.encode(payload, emulator_key(app).private_pem, algorithm="RS256")


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_launch_is_refused_with_its_reason(client: FlaskClient, app: Flask, case: str) -> None:
    tamper, status, message = REFUSALS[case]
    login = start_login(client, app)

    response = launch(client, login.state, tamper(app, claims(app, login.nonce)))

    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message.replace("'", "&#39;") in page, page
    assert "What to do:" in page
    with app.app_context(), database().transaction() as session:
        assert session.scalars(select(LaunchSession)).all() == []


def test_refusals_are_json_for_api_callers(client: FlaskClient, app: Flask) -> None:
    login = start_login(client, app)
    response = client.post(
        "/lti/launch",
        data={"id_token": signed(app, _drop(claims(app, login.nonce), "sub")), "state": login.state},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == "The launch is missing the required 'sub' claim."


def test_a_wrong_state_is_refused(client: FlaskClient, app: Flask) -> None:
    login = start_login(client, app)
    response = launch(client, "not-a-state-we-issued", signed(app, claims(app, login.nonce)))
    assert response.status_code == 400
    assert "state does not match any login started by this tool" in response.get_data(as_text=True)


def test_a_request_without_id_token_is_not_a_launch(client: FlaskClient) -> None:
    response = client.post("/lti/launch", data={"state": "x"})
    assert response.status_code == 400
    assert "This is not an LTI launch: the request carries no id_token." in response.get_data(as_text=True)


def test_a_token_replayed_after_a_fresh_login_is_refused(client: FlaskClient, app: Flask) -> None:
    first = start_login(client, app)
    token = signed(app, claims(app, first.nonce))
    assert launch(client, first.state, token).status_code == 303

    again = launch(client, first.state, token)
    assert again.status_code == 400
    assert "already answered by a launch; a launch cannot be replayed" in again.get_data(as_text=True)

    fresh = start_login(client, app)
    replayed = launch(client, fresh.state, token)
    assert replayed.status_code == 400
    assert "The launch&#39;s nonce is not the one this login issued." in replayed.get_data(as_text=True)


def test_an_unknown_deployment_is_recorded_inactive_and_explained(client: FlaskClient, app: Flask) -> None:
    login = start_login(client, app)
    response = launch(client, login.state, signed(app, claims(app, login.nonce, **{lti.DEPLOYMENT_ID: "77"})))

    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Deployment 77 of Moodle (emulated) is not active in this tool yet." in page
    assert f"tracebook platform activate --issuer {MOODLE.issuer(app.config['TRACEBOOK'].emulator_url)}" in page
    with app.app_context(), database().transaction() as session:
        row = session.scalar(select(Deployment).where(Deployment.deployment_id == "77"))
        assert row is not None
        assert row.active is False


def test_an_unknown_platform_cannot_even_start_a_login(client: FlaskClient, app: Flask) -> None:
    response = client.get("/lti/login", query_string=login_params(app, iss="https://nowhere.example"))
    assert response.status_code == 403
    assert "Unknown platform: issuer https://nowhere.example with client id" in response.get_data(as_text=True)


def test_a_login_for_another_tool_is_refused(client: FlaskClient, app: Flask) -> None:
    response = client.get("/lti/login", query_string=login_params(app, target_link_uri="https://evil.example/x"))
    assert response.status_code == 400
    assert "which is not this tool" in response.get_data(as_text=True)


def _context(app: Flask, response: Any) -> dict[str, Any]:
    token = session_token(response)
    with app.app_context(), database().transaction() as session:
        return (
            SessionService(session, app.config["SECRET_KEY"], app.extensions["tracebook.clock"].now())
            .resolve(token)
            .context.to_json()
        )


LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
ACCEPTED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "instructor with several roles": (
        {lti.ROLES: [LIS + "membership#Instructor", LIS + "institution/person#Faculty", LIS + "membership#Mentor"]},
        {"roles": [Role.INSTRUCTOR.value]},
    ),
    "student with several roles": (
        {lti.ROLES: [LIS + "membership#Learner", LIS + "institution/person#Student", LIS + "system/person#User"]},
        {"roles": [Role.LEARNER.value]},
    ),
    "short role names": ({lti.ROLES: ["Instructor", "Learner"]}, {"roles": ["instructor", "learner"]}),
    "teaching assistant sub-role": (
        {lti.ROLES: [LIS + "membership#Instructor#TeachingAssistant"]},
        {"roles": [Role.INSTRUCTOR.value]},
    ),
    "unknown role": (
        {lti.ROLES: ["http://example.edu/roles#Dean"]},
        {"roles": [], "raw_roles": ["http://example.edu/roles#Dean"]},
    ),
    "empty roles list": ({lti.ROLES: []}, {"roles": []}),
    "email only": ({"name": None, "given_name": None, "family_name": None}, {"name": None, "email": "ada@example.edu"}),
    "names only": ({"email": None, "name": None}, {"name": "Ada Learner", "email": None}),
    "no personal data": (
        {"email": None, "name": None, "given_name": None, "family_name": None},
        {"name": None, "email": None},
    ),
    "no context": ({lti.CONTEXT: None}, {"context_id": None}),
}


@pytest.mark.parametrize("case", ACCEPTED)
def test_an_unusual_but_valid_launch_is_accepted(client: FlaskClient, app: Flask, case: str) -> None:
    changes, expected = ACCEPTED[case]
    response = launch_as(client, app, **changes)

    assert response.status_code == 303, response.get_data(as_text=True)
    context = _context(app, response)
    assert {key: context[key] for key in expected} == expected
    assert client.get(response.headers["Location"]).status_code == 200


def test_a_launch_without_context_gets_a_course_of_its_own(client: FlaskClient, app: Flask) -> None:
    response = launch_as(client, app, **{lti.CONTEXT: None})
    assert response.status_code == 303
    with app.app_context(), database().transaction() as session:
        learner = session.scalar(select(Learner))
        assert learner is not None
        assert learner.sub == "moodle-user-ada"


def test_leeway_accepts_a_platform_clock_45_seconds_off(client: FlaskClient, app: Flask) -> None:
    for skew in (45, -45):
        login = start_login(client, app)
        now = _now(app) + skew
        token = signed(app, claims(app, login.nonce, iat=now, exp=now + 30 if skew < 0 else now + 300))
        assert launch(client, login.state, token).status_code == 303, skew
