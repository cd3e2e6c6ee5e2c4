"""A tool admin for functional tests: the account created on the command line as an operator would, and a client
logged in with it."""

import re

from flask import Flask
from flask.testing import FlaskClient

USERNAME, PASSWORD = "dpo", "correct horse battery staple"


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def log_in_admin(client: FlaskClient, app: Flask) -> str:
    """Create the admin, log ``client`` in; the session's CSRF token for the forms it posts."""
    made = app.test_cli_runner().invoke(
        args=["admin", "create", "--username", USERNAME, "--password-stdin"], input=PASSWORD + "\n"
    )
    assert made.exit_code == 0, made.output
    form = {"csrf_token": csrf_token(client, "/admin/login"), "username": USERNAME, "password": PASSWORD}
    assert client.post("/admin/login", data=form).status_code == 303
    return csrf_token(client, "/admin/learners/")
