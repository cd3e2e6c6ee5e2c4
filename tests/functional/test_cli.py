"""The ``tracebook`` command as an admin runs it: a real subprocess of the installed entry point."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import inspect

from content.loader import DEFAULT_MODULE_DIR
from lms_plugin.db import Database

TRACEBOOK = str(Path(sys.executable).with_name("tracebook"))


def _run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRACEBOOK, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"TRACEBOOK_DATABASE_URL": database_url, "TRACEBOOK_DATA_DIR": str(tmp_path / "data")}


def test_content_check_prints_the_counts(env: dict[str, str], tmp_path: Path) -> None:
    done = _run("content", "check", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["4 lessons, 16 quiz questions, 15 test questions, 4 labs", "0 errors"]


def test_content_check_names_the_broken_file_and_field(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "module"
    shutil.copytree(DEFAULT_MODULE_DIR, broken)
    lab = broken / "labs" / "lab-2.yaml"
    lab.write_text(lab.read_text(encoding="utf-8").replace("chat_title:", "chat_tittle:"), encoding="utf-8")

    done = _run("content", "check", "--path", str(broken), env=env, cwd=tmp_path)

    assert done.returncode == 1
    assert "module/labs/lab-2.yaml: chat_tittle: unknown field" in done.stdout
    assert "module/labs/lab-2.yaml: chat_title: missing (this field is required)" in done.stdout
    assert done.stdout.splitlines()[-1] == "2 errors"


def test_db_upgrade_creates_the_schema(env: dict[str, str], tmp_path: Path, database_url: str) -> None:
    done = _run("db", "upgrade", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    db = Database(database_url)
    tables = set(inspect(db.engine).get_table_names())
    db.dispose()
    assert {"learners", "courses", "module_records", "attempts", "answers", "alembic_version"} <= tables


def test_bad_settings_stop_the_command_with_every_reason(env: dict[str, str], tmp_path: Path) -> None:
    done = _run("db", "upgrade", env={**env, "TRACEBOOK_PORT": "0", "TRACEBOOK_LOG_LEVEL": "LOUD"}, cwd=tmp_path)
    assert done.returncode == 1
    assert "TRACEBOOK_LOG_LEVEL: Must be one of: DEBUG, INFO, WARNING, ERROR. (got 'LOUD')" in done.stderr
    assert "TRACEBOOK_PORT: must be a port number from 1 to 65535 (got '0')" in done.stderr
    assert "Traceback" not in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_migrates_and_serves_under_gunicorn(env: dict[str, str], tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [TRACEBOOK, "serve"],
        env={**os.environ, **env, "TRACEBOOK_WEB_WORKERS": "1", "TRACEBOOK_PORT": str(port)},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read().decode()
            except OSError:
                time.sleep(0.1)  # waiting for the server's socket, not for a timer in our code
        assert "Tracing LLM Calls" in body
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Booting worker" in output  # gunicorn, not the development server
    assert f"Open the LMS emulator to launch it: http://localhost:{port}/emulator/" in output


def test_platform_commands_register_list_activate_and_remove(env: dict[str, str], tmp_path: Path) -> None:
    assert _run("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    add = _run(
        "platform", "add", "--issuer", "https://canvas.instructure.com", "--client-id", "10000000000001",
        "--auth-login-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "--auth-token-url", "https://sso.canvaslms.com/login/oauth2/token",
        "--key-set-url", "https://sso.canvaslms.com/api/lti/security/jwks",
        "--deployment-id", "1:abc", "--name", "Example University Canvas",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    activate = _run(
        "platform", "deactivate", "--issuer", "https://canvas.instructure.com", "--client-id", "10000000000001",
        "--deployment-id", "1:abc", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert activate.stdout.strip() == "Deployment 1:abc of https://canvas.instructure.com is now inactive."

    listed = _run("platform", "list", env=env, cwd=tmp_path).stdout
    assert "Example University Canvas" in listed
    assert "client id: 10000000000001" in listed
    assert "deployment 1:abc: inactive" in listed

    missing = _run("platform", "remove", "--issuer", "https://x.example", "--client-id", "1", env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert "No platform is registered with issuer https://x.example and client id 1." in missing.stderr
    removed = _run(
        "platform", "remove", "--issuer", "https://canvas.instructure.com", "--client-id", "10000000000001",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert removed.returncode == 0
    assert "No platforms are registered" in _run("platform", "list", env=env, cwd=tmp_path).stdout


def test_key_rotation_keeps_the_previous_key_published(env: dict[str, str], tmp_path: Path, database_url: str) -> None:
    from lms_plugin import create_app

    assert _run("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": env["TRACEBOOK_DATA_DIR"], "ENV": "test"})
    first = app.test_client().get("/lti/jwks.json").get_json()["keys"]
    rotated = _run("keys", "rotate", env=env, cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    second = app.test_client().get("/lti/jwks.json").get_json()["keys"]
    app.extensions["tracebook.db"].dispose()

    assert len(first) == 1
    assert len(second) == 2
    assert second[1]["kid"] == first[0]["kid"]
    assert rotated.stdout.strip() == f"The tool now signs with key {second[0]['kid']}."
    assert {k["alg"] for k in second} == {"RS256"}
    assert all("d" not in k for k in second)  # public halves only
