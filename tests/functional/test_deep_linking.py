"""LTI Deep Linking 2.0 round trip through the emulator over real HTTP: an instructor's "Add Tracebook to the
course" → the tool's picker → its signed response → the emulator verifies it against the tool's JWKS and creates
the links (and gradebook columns) → a student launched from each link lands on its page."""

import base64
import html
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from content import Module
from lms_plugin.db import Database
from lms_plugin.lti import claims
from lms_plugin.models import EmulatorLineItem, EmulatorPlacement, Placement

from .lti_support import settings_of

pytestmark = pytest.mark.usefixtures("live_server")

CHOSEN = ["quiz-2", "module-test", "lesson-3"]


def _attribute(page: str, pattern: str) -> str:
    found = re.search(pattern, page)
    assert found, page
    return html.unescape(found.group(1))


@dataclass(frozen=True)
class Outcome:
    status: int
    location: str  # where the tool sends the browser next ("" on a refusal)
    text: str
    state_check: str = ""  # how the browser proved it started the login


def _through_login(client: FlaskClient, course_page: TestResponse) -> Outcome:
    """What the browser does from the course page's iframe: the tool's login, the platform's authorization
    endpoint, its form post to the tool, and (Canvas) the Platform Storage check. Returns where the tool
    sends the browser next, or its refusal."""
    assert course_page.status_code == 200, course_page.get_data(as_text=True)
    login_url = _attribute(course_page.get_data(as_text=True), r'id="tool-frame"[^>]*\ssrc="([^"]+)"')
    login = client.get(login_url)
    auth_url = _attribute(login.get_data(as_text=True), r'data-auth-url="([^"]+)"')
    form_post = client.get(auth_url).get_data(as_text=True)
    launch = client.post(
        _attribute(form_post, r'<form method="post" action="([^"]+)"'),
        data={
            "id_token": _attribute(form_post, r'name="id_token" value="([^"]+)"'),
            "state": _attribute(form_post, r'name="state" value="([^"]+)"'),
        },
    )
    check = launch.get_data(as_text=True)
    if launch.status_code != 200 or 'id="lti-storage-check"' not in check:
        return Outcome(
            launch.status_code,
            launch.headers.get("Location", ""),
            check,
            launch.headers.get("X-Tracebook-State-Check", ""),
        )
    # Canvas: the page reads the state back from Platform Storage (lti.js), then confirms.
    confirmed = client.post(
        "/lti/launch/confirm",
        json={
            "handle": _attribute(check, r'data-handle="([^"]+)"'),
            "state": _attribute(check, r'data-state="([^"]+)"'),
        },
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return Outcome(303, confirmed.get_json()["redirect"], "", confirmed.get_json()["state_check"])


def _add_tracebook(client: FlaskClient, app: Flask, mode: str, person: str = "alan") -> Outcome:
    emulator = settings_of(app).emulator_url
    return _through_login(client, client.get(f"{emulator}/{mode}/deep-link", query_string={"person": person}))


def _launch_placement(client: FlaskClient, app: Flask, mode: str, resource_link_id: str) -> str:
    """A student's launch of one of the course's links; returns the path it lands on."""
    emulator = settings_of(app).emulator_url
    page = client.get(f"{emulator}/{mode}/course", query_string={"person": "ada", "placement": resource_link_id})
    launched = _through_login(client, page)
    assert launched.status == 303, launched.text
    return urlsplit(launched.location).path


@dataclass(frozen=True)
class Answer:
    return_url: str
    token: str


def _pick(client: FlaskClient, app: Flask, mode: str, units: list[str]) -> Answer:
    """Open the picker from an instructor's deep-linking request and choose ``units``."""
    opened = _add_tracebook(client, app, mode)
    assert opened.status == 303, opened.text
    picker_url = opened.location
    assert urlsplit(picker_url).path == "/lti/deep-link"
    dl = parse_qs(urlsplit(picker_url).query)["dl"][0]
    answered = client.post("/lti/deep-link", data={"dl": dl, "unit": units})
    assert answered.status_code == 200, answered.get_data(as_text=True)
    page = answered.get_data(as_text=True)
    return Answer(
        return_url=_attribute(page, r'<form method="post" action="([^"]+)" id="deep-link-return"'),
        token=_attribute(page, r'name="JWT" value="([^"]+)"'),
    )


def _tool_claims(client: FlaskClient, app: Flask, mode: str, token: str) -> dict[str, object]:
    """The response verified as a platform does: with the tool's published key."""
    keys = {key["kid"]: key for key in client.get("/lti/jwks.json").get_json()["keys"]}
    key = jwt.PyJWK(keys[jwt.get_unverified_header(token)["kid"]])
    issuer = f"{settings_of(app).emulator_url}/{mode}"
    return dict(jwt.decode(token, key.key, algorithms=["RS256"], audience=issuer))


def _added(db: Database, mode: str) -> list[EmulatorPlacement]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(EmulatorPlacement).where(EmulatorPlacement.mode == mode).order_by(EmulatorPlacement.id)
            )
        )


@pytest.mark.parametrize("mode", ["moodle", "canvas"])
def test_an_instructor_places_units_and_each_new_link_launches_its_page(
    client: FlaskClient, app: Flask, db: Database, module: Module, mode: str
) -> None:
    opened = _add_tracebook(client, app, mode)
    assert opened.status == 303, opened.text
    assert opened.state_check == {"moodle": "cookie", "canvas": "platform-storage"}[mode]
    picker = client.get(opened.location).get_data(as_text=True)
    for unit in ["module", *(u.id for u in module.units)]:
        assert f'name="unit" value="{unit}"' in picker
    assert "Graded, out of 15" in picker  # the whole module and the test: by the test's score
    assert "Graded, out of 4" in picker

    answer = _pick(client, app, mode, CHOSEN)
    assert answer.return_url == f"{settings_of(app).emulator_url}/{mode}/deep-link/return"
    sent = _tool_claims(client, app, mode, answer.token)
    platform_client_id = {"moodle": "qxLm3vT0sFRa7Ck", "canvas": "10000000000042"}[mode]
    assert sent["iss"] == platform_client_id
    assert sent[claims.MESSAGE_TYPE] == "LtiDeepLinkingResponse"
    assert sent[claims.DL_DATA]  # the request's data, echoed
    launch_url = f"{settings_of(app).base_url}/lti/launch"
    assert sent[claims.DL_CONTENT_ITEMS] == [
        {
            "type": "ltiResourceLink",
            "title": "Lesson 2 Quiz",
            "url": launch_url,
            "custom": {"tracebook_unit": "quiz-2"},
            "lineItem": {
                "scoreMaximum": 4,
                "label": "Lesson 2 Quiz",
                "resourceId": "tracing-llm-calls/quiz-2",
                "tag": "tracebook",
            },
        },
        {
            "type": "ltiResourceLink",
            "title": module.title_of("lesson-3"),
            "url": launch_url,
            "custom": {"tracebook_unit": "lesson-3"},
        },
        {
            "type": "ltiResourceLink",
            "title": module.test.title,
            "url": launch_url,
            "custom": {"tracebook_unit": "module-test"},
            "lineItem": {
                "scoreMaximum": 15,
                "label": module.test.title,
                "resourceId": "tracing-llm-calls/module-test",
                "tag": "tracebook",
            },
        },
    ]

    done = client.post(answer.return_url, data={"JWT": answer.token})
    assert done.status_code == 200, done.get_data(as_text=True)
    added = _added(db, mode)
    assert [(p.unit, p.line_item_id is not None) for p in added] == [
        ("quiz-2", True),
        ("lesson-3", False),
        ("module-test", True),
    ]
    with db.transaction() as session:
        columns = {item.id: item for item in session.scalars(select(EmulatorLineItem))}
    quiz_column = columns[added[0].line_item_id]  # type: ignore[index]
    assert (quiz_column.label, quiz_column.score_maximum, quiz_column.resource_id, quiz_column.tag) == (
        "Lesson 2 Quiz",
        4.0,
        "tracing-llm-calls/quiz-2",
        "tracebook",
    )
    assert quiz_column.resource_link_id == f"{mode}-{added[0].resource_link_id}"
    assert columns[added[2].line_item_id].score_maximum == 15.0  # type: ignore[index]
    emulator_page = client.get(f"{settings_of(app).emulator_url}/").get_data(as_text=True)
    assert all(f'value="{p.resource_link_id}"' in emulator_page for p in added)

    for placement in added:
        assert _launch_placement(client, app, mode, placement.resource_link_id) == f"/s/{placement.unit}"
    # A graded link's launch names its own gradebook column, as the platform created it.
    with db.transaction() as session:
        launched = {
            p.resource_link_id: p.ags_lineitem_url for p in session.scalars(select(Placement).order_by(Placement.id))
        }
    assert urlsplit(launched[f"{mode}-{added[0].resource_link_id}"]).path.endswith(
        f"/lineitems/{added[0].line_item_id}/lineitem"
    )
    assert launched[f"{mode}-{added[1].resource_link_id}"] is None


def test_a_learner_cannot_add_the_tool_to_a_course(client: FlaskClient, app: Flask) -> None:
    refused = _add_tracebook(client, app, "moodle", person="ada")
    assert refused.status == 403
    assert "Only an instructor can add Tracebook to a course" in refused.text


def _tampered(token: str) -> str:
    """The same signature over a changed payload: a quiz's column made worth 100 points."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data[claims.DL_CONTENT_ITEMS][0]["lineItem"]["scoreMaximum"] = 100
    changed = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


def test_the_emulator_refuses_a_tampered_response_and_a_replayed_one(
    client: FlaskClient, app: Flask, db: Database
) -> None:
    answer = _pick(client, app, "moodle", ["quiz-1"])

    tampered = client.post(answer.return_url, data={"JWT": _tampered(answer.token)})
    assert tampered.status_code == 400
    assert "Signature verification failed" in tampered.get_data(as_text=True)
    assert _added(db, "moodle") == []

    assert client.post(answer.return_url, data={"JWT": answer.token}).status_code == 200
    assert [p.unit for p in _added(db, "moodle")] == ["quiz-1"]
    replayed = client.post(answer.return_url, data={"JWT": answer.token})
    assert replayed.status_code == 409
    assert len(_added(db, "moodle")) == 1


def test_the_picker_asks_again_when_nothing_is_picked_and_refuses_a_forged_token(
    client: FlaskClient, app: Flask
) -> None:
    opened = _add_tracebook(client, app, "moodle")
    dl = parse_qs(urlsplit(opened.location).query)["dl"][0]

    empty = client.post("/lti/deep-link", data={"dl": dl})
    assert empty.status_code == 400
    assert "Pick at least one activity" in empty.get_data(as_text=True)
    assert client.get("/lti/deep-link", query_string={"dl": dl + "x"}).status_code == 401
