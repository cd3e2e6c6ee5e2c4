"""Every instructor and admin route refuses an anonymous request and a learner's session, whatever its method.

The routes are found by walking ``app.url_map``, so a route added later is checked without touching this test.
"""

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule, UUIDConverter
from werkzeug.test import TestResponse

from .lti_support import launch_as, session_token

PROTECTED_PREFIXES = ("/admin", "/instructor")
PUBLIC_ENDPOINTS = {"admin.login"}  # the way in
ADMIN_ENDPOINTS = {
    "admin.dashboard",
    "admin.platforms",
    "admin.set_deployment",
    "admin.keys",
    "admin.rotate_key",
    "admin.outbox",
    "admin.resend",
    "admin.audit",
    "admin.logout",
}


def _requests(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every protected rule and method, path variables filled with dummy values."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PROTECTED_PREFIXES) or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            url = adapter.build(rule.endpoint, _dummy_values(rule), method=method)
            assert adapter.match(url, method=method)[0] == rule.endpoint, f"{url} does not reach {rule.endpoint}"
            found.append((rule.endpoint, method, url))
    return found


def _dummy_values(rule: Rule) -> dict[str, object]:
    converters = rule._converters  # werkzeug offers no public view of a rule's converters
    return {name: uuid.uuid4() if isinstance(c, UUIDConverter) else 1 for name, c in converters.items()}


def _is_refused(url: str, response: TestResponse) -> bool:
    # Admin pages (the admin blueprint and the ones that share its guard) send a stranger to the login page.
    if url.startswith("/admin") and response.status_code in (302, 303):
        return response.headers["Location"].startswith("/admin/login")
    return response.status_code in (401, 403)


def test_the_walk_finds_every_admin_page(app: Flask) -> None:
    assert {endpoint for endpoint, _, _ in _requests(app)} >= ADMIN_ENDPOINTS


def test_every_admin_and_instructor_route_refuses_an_anonymous_request(app: Flask, client: FlaskClient) -> None:
    wrongly_served = []
    for endpoint, method, url in _requests(app):
        response = client.open(url, method=method, data={} if method != "GET" else None)
        if not _is_refused(url, response):
            wrongly_served.append(f"{method} {url} ({endpoint}): {response.status_code}")
    assert wrongly_served == []


@pytest.mark.usefixtures("live_server")
def test_every_admin_and_instructor_route_refuses_a_learner(app: Flask, client: FlaskClient) -> None:
    token = session_token(launch_as(client, app, person="ada", unit="module"))
    assert client.get("/s/module", query_string={"s": token}).status_code == 200  # the token does work

    wrongly_served = []
    for endpoint, method, url in _requests(app):
        response = client.open(
            url,
            method=method,
            query_string={"s": token},
            headers={"Authorization": f"Bearer {token}"},
            data={"s": token} if method != "GET" else None,
        )
        if not _is_refused(url, response):
            wrongly_served.append(f"{method} {url} ({endpoint}): {response.status_code}")
    assert wrongly_served == []
