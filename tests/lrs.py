"""Ralph, a real Learning Record Store, for the tests: started once per test session on loopback.

Ralph lives in its own virtual environment (``make ralph`` builds ``.venv-ralph``; another one can be named with
``TRACEBOOK_TEST_RALPH_VENV``) and runs through tests/lrs_launcher.py: the file-system backend set to append, a
basic-auth user from an auth file in Ralph's format, and a log of every request. Tests stop and restart it on
the same port (an outage), read back what it stored, and count the requests it received.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
RALPH_VENV = Path(os.environ.get("TRACEBOOK_TEST_RALPH_VENV", ROOT / ".venv-ralph"))
LAUNCHER = Path(__file__).with_name("lrs_launcher.py")
STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Ralph:
    """One Ralph process on 127.0.0.1, its statements in ``work_dir/store``."""

    username = "tracebook"

    def __init__(self, work_dir: Path) -> None:
        self.python = RALPH_VENV / "bin" / "python"
        if not self.python.exists():
            raise RuntimeError(
                f"Ralph is not installed at {RALPH_VENV}: run `make ralph` first (it builds .venv-ralph)"
            )
        self.work_dir = work_dir
        self.store = work_dir / "store"
        self.port = _free_port()
        self.password = secrets.token_urlsafe(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()
        self.http.auth = (self.username, self.password)
        self.http.headers["X-Experience-API-Version"] = "1.0.3"
        self._write_auth_file()

    @property
    def endpoint(self) -> str:
        """The LRS endpoint as an admin configures it (xAPI resources are below it: ``/statements``)."""
        return f"http://127.0.0.1:{self.port}/xAPI"

    @property
    def _auth_file(self) -> Path:
        return self.work_dir / "auth.json"

    @property
    def _requests_log(self) -> Path:
        return self.work_dir / "requests.jsonl"

    @property
    def _hold_file(self) -> Path:
        return self.work_dir / "hold"

    def _write_auth_file(self) -> None:
        # Ralph's own command writes the file (a bcrypt hash, scopes and the agent it records as authority).
        self.work_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(RALPH_VENV / "bin" / "ralph"),
                *("auth", "-u", self.username, "-p", self.password, "-s", "all"),
                *("-M", "mailto:tracebook-tests@example.org", "-w"),
            ],
            env=self._environment(),
            cwd=self.work_dir,
            check=True,
            capture_output=True,
        )

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.work_dir),
            "RALPH_APP_DIR": str(self.work_dir),
            "RALPH_AUTH_FILE": str(self._auth_file),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.store),
        }

    def start(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        log = (self.work_dir / "ralph.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.python), str(LAUNCHER), str(self.port), str(self.work_dir)],
            env=self._environment(),
            cwd=self.work_dir,  # Ralph reads a .env from its working folder: never ours
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Ralph exited at start:\n{(self.work_dir / 'ralph.log').read_text()[-3000:]}")
            try:
                if self.http.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Ralph did not answer within {STARTUP_TIMEOUT:g} s on port {self.port}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the LRS (``SIGKILL`` for a crash); its port stays reserved for ``start``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.http.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def reset(self) -> None:
        """Forget every statement and request (between tests); the LRS keeps running."""
        for path in [*self.store.glob("*"), self._requests_log, self._hold_file]:
            path.unlink(missing_ok=True)

    def stored(self) -> list[dict[str, Any]]:
        """Every statement Ralph wrote, in order, as it wrote them: a statement written twice is here twice."""
        found: list[dict[str, Any]] = []
        for path in sorted(self.store.glob("*.jsonl")):
            found += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return found

    def statement(self, statement_id: str) -> dict[str, Any] | None:
        """The statement with this id, fetched over the xAPI (None when the LRS has none)."""
        response = self.http.get(f"{self.endpoint}/statements", params={"statementId": statement_id}, timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if "statements" not in body:
            return body
        # Ralph answers with a StatementResult (a list), where the spec has the statement itself.
        return next((found for found in body["statements"] if found.get("id") == statement_id), None)

    def post(self, statements: list[dict[str, Any]]) -> requests.Response:
        """Store statements directly (as another client would)."""
        return self.http.post(f"{self.endpoint}/statements", json=statements, timeout=30)

    def requests(self, method: str = "POST", path: str = "/xAPI/statements") -> list[dict[str, Any]]:
        """The requests the LRS answered, in order: ``{"method", "path", "status", "statements", "version"}``."""
        if not self._requests_log.exists():
            return []
        lines = self._requests_log.read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        return [e for e in entries if e["method"] == method and e["path"].rstrip("/") == path]

    def hold_responses(self, hold: bool) -> None:
        """While held, a statement POST is stored but not answered: the client's view lags the LRS's."""
        if hold:
            self._hold_file.touch()
        else:
            self._hold_file.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def ralph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ralph]:
    """One Ralph for the whole run, started on first use and stopped at the end."""
    server = Ralph(tmp_path_factory.mktemp("ralph"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ralph(ralph_server: Ralph) -> Iterator[Ralph]:
    """The session's Ralph, running and empty for this test (a test that stopped it gets it back running)."""
    if not ralph_server.running:
        ralph_server.start()
    ralph_server.hold_responses(False)
    ralph_server.reset()
    yield ralph_server
    ralph_server.hold_responses(False)
