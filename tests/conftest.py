"""Shared fixtures: the app on a real database (SQLite by default, PostgreSQL when asked), its client, and
builders for the learner scope.

``TRACEBOOK_TEST_DATABASE=postgresql`` runs the same tests on a throwaway PostgreSQL database created for
this run (admin URL from ``TRACEBOOK_TEST_POSTGRES_URL``, default the local server as user postgres).
"""

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from werkzeug.serving import make_server

from content import Module, load_default_module
from lms_plugin import create_app
from lms_plugin.db import Database, database
from lms_plugin.emulator.registration import register_emulator
from tests.fake_llm import FakeLLM

POSTGRES_ADMIN_URL = os.environ.get("TRACEBOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
USE_POSTGRES = os.environ.get("TRACEBOOK_TEST_DATABASE", "sqlite") == "postgresql"


class FrozenClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        # Real time by default, so the few clocks we cannot inject (signed timestamps) agree with it.
        self.current = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """One throwaway PostgreSQL database for the whole run, dropped at the end."""
    if not USE_POSTGRES:
        yield None
        return
    name = f"tracebook_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_url(postgres_database: str | None, tmp_path: Path) -> str:
    """An empty database for this test."""
    if postgres_database is None:
        return f"sqlite:///{tmp_path / 'tracebook.sqlite3'}"
    db = Database(postgres_database)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    db.dispose()
    return postgres_database


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    """The port the app answers on when served live: the tool as 127.0.0.1, the emulator as localhost."""
    return free_port()


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Settings a test module adds to the app's (override this fixture), e.g. an LLM endpoint."""
    return {}


@pytest.fixture
def app(
    database_url: str, tmp_path: Path, clock: FrozenClock, port: int, app_settings: dict[str, Any]
) -> Iterator[Flask]:
    app = create_app(
        {
            "ENV": "test",
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path / "data"),
            "BASE_URL": f"http://127.0.0.1:{port}",
            "EMULATOR_URL": f"http://localhost:{port}/emulator",
            **app_settings,
        }
    )
    app.extensions["tracebook.clock"] = clock
    with app.app_context():
        database().upgrade()
        with database().transaction() as session:
            register_emulator(session, app.config["TRACEBOOK"], clock.now())
    yield app
    app.extensions["tracebook.db"].dispose()


@pytest.fixture
def live_server(app: Flask, port: int) -> Iterator[str]:
    """The app served over real HTTP on loopback (the tool fetches the emulator's keys through it)."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def db(app: Flask) -> Database:
    with app.app_context():
        return database()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def module() -> Module:
    return load_default_module()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/functional/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.functional)


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    """One OpenAI-compatible server on loopback for the whole run (tests/fake_llm.py); tests reset it."""
    server = FakeLLM()
    yield server
    server.close()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> FakeLLM:
    """The session's fake LLM server, with a fresh script for this test."""
    fake_llm_server.reset()
    return fake_llm_server


# Ralph, the real Learning Record Store the xAPI tests deliver to: `ralph_server` once per run, `ralph` per test.
from tests.lrs import ralph, ralph_server  # noqa: E402, F401
