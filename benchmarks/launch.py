"""Benchmark of an LTI 1.3 launch: the tool under gunicorn, the LMS emulator in its own process.

A launch is the browser-less version of what a student's browser does in a Moodle course (the emulator's
cookie mode; Canvas mode needs JavaScript for Platform Storage):

    GET tool /lti/login  ->  GET emulator auth URL  ->  POST tool /lti/launch  ->  GET tool first page (303)

Each simulated user is one cookie-keeping ``requests.Session``. The script reports, for a single client
(latency) and for ``--concurrency`` clients (throughput):

* latency of the whole flow and of the tool's part of it (login + launch + first page, without the emulator's
  authorization hop);
* launches per second;
* CPU time of the tool's gunicorn master and workers per launch, read from ``/proc`` (and, for comparison,
  the emulator's and the PostgreSQL backends');
* how often the tool fetched the platform's public keys (JWKS), counted in the emulator's access log, which
  covers every emulator worker (``/emulator/stats`` counts per worker process).

    python benchmarks/launch.py                   # throwaway PostgreSQL database, 300 launches per phase
    python benchmarks/launch.py --smoke           # 5 launches on SQLite, as the test suite runs it

Missing a target is reported, not an error: the exit status is non-zero only when a launch failed or a server
did not start.
"""

import argparse
import contextlib
import html
import itertools
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests
from markupsafe import escape

TARGET_P50_MS = 15.0
TARGET_CPU_MS = 5.0
# Students: an instructor's first page is the class dashboard, which also fetches the roster from the LMS.
PERSONS = ("ada", "grace")
PLACEMENTS = (
    "link-module",
    "link-lesson-1",
    "link-quiz-1",
    "link-lab-1",
    "link-lesson-2",
    "link-quiz-2",
    "link-lab-2",
    "link-lesson-3",
    "link-quiz-3",
    "link-lab-3",
    "link-lesson-4",
    "link-quiz-4",
    "link-lab-4",
    "link-module-test",
)
DEFAULT_POSTGRES_ADMIN_URL = os.environ.get(
    "TRACEBOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent

_IFRAME_SRC = re.compile(r'<iframe id="tool-frame"[^>]*?\ssrc="([^"]+)"')
_PAGE_TITLE = re.compile(r'<h1 class="visually-hidden">(.*?)</h1>', re.S)
_AUTH_URL = re.compile(r'data-auth-url="([^"]+)"')
_FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)" id="form-post"')
_HIDDEN = re.compile(r'<input type="hidden" name="(id_token|state)" value="([^"]*)">')
_MODULE_LABEL = re.compile(r"^Module \d+: ")
_JWKS_LOG = re.compile(r'"GET /emulator/(\w+)/jwks ')


class LaunchFailedError(Exception):
    pass


class ServerError(Exception):
    pass


@dataclass(frozen=True)
class Placement:
    """One person's link in the emulated Moodle course: where the iframe's login starts, what it must show."""

    person: str
    resource_link_id: str
    login_url: str
    title: str


@dataclass(frozen=True)
class Timing:
    """Seconds per step of one launch."""

    login: float  # tool: GET /lti/login
    auth: float  # emulator: GET its authorization URL (the LMS's share, not the tool's)
    launch: float  # tool: POST /lti/launch
    page: float  # tool: GET the first page the launch redirects to

    @property
    def tool(self) -> float:
        return self.login + self.launch + self.page

    @property
    def total(self) -> float:
        return self.tool + self.auth


@dataclass
class Phase:
    name: str
    clients: int
    timings: list[Timing] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0

    @property
    def launches(self) -> int:
        return len(self.timings)

    @property
    def per_second(self) -> float:
        return self.launches / self.wall if self.wall else 0.0


def _check(response: requests.Response, step: str, status: int = 200) -> requests.Response:
    if response.status_code != status:
        raise LaunchFailedError(f"{step}: HTTP {response.status_code} (expected {status}): {response.text[:300]!r}")
    return response


def _find(pattern: re.Pattern[str], text: str, step: str) -> str:
    match = pattern.search(text)
    if match is None:
        raise LaunchFailedError(f"{step}: the page has no {pattern.pattern!r}")
    return html.unescape(match.group(1))


class LaunchClient:
    """One simulated user's browser: a cookie jar and kept-alive connections."""

    def __init__(self, tool_url: str) -> None:
        self.tool_url = tool_url
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def course_page(self, emulator_url: str, person: str, resource_link_id: str) -> Placement:
        """Untimed setup: the emulated Moodle course page, whose iframe starts the login."""
        page = _check(
            self.http.get(
                f"{emulator_url}/moodle/course",
                params={"person": person, "placement": resource_link_id},
                timeout=REQUEST_TIMEOUT,
            ),
            "course page",
        ).text
        # The LMS labels the whole-module link "Module 3: Tracing LLM Calls"; the tool's page shows the module's
        # title under its own "Module 3" kicker.
        title = _MODULE_LABEL.sub("", _find(_PAGE_TITLE, page, "course page").strip())
        return Placement(person, resource_link_id, _find(_IFRAME_SRC, page, "course page"), title)

    def launch(self, placement: Placement) -> Timing:
        started = time.perf_counter()
        login = _check(self.http.get(placement.login_url, timeout=REQUEST_TIMEOUT), "login")
        auth_url = _find(_AUTH_URL, login.text, "login")
        state_cookies = {name: value for name, value in login.cookies.items() if name.startswith("tb_state_")}
        if len(state_cookies) != 1:
            raise LaunchFailedError(f"login: expected one tb_state_ cookie, got {sorted(state_cookies)}")
        auth_started = time.perf_counter()
        form = _check(self.http.get(auth_url, timeout=REQUEST_TIMEOUT), "emulator auth").text
        action = _find(_FORM_ACTION, form, "emulator auth")
        fields = dict(_HIDDEN.findall(form))
        if set(fields) != {"id_token", "state"}:
            raise LaunchFailedError(f"emulator auth: the form_post lacks id_token or state ({sorted(fields)})")
        fields = {name: html.unescape(value) for name, value in fields.items()}
        launch_started = time.perf_counter()

        # The state cookie is Secure (a real LMS frames the tool over https) but this tool is plain http, so a
        # cookie jar would withhold it: send it as a browser on https would.
        launched = _check(
            self.http.post(action, data=fields, cookies=state_cookies, allow_redirects=False, timeout=REQUEST_TIMEOUT),
            "launch",
            303,
        )
        page_started = time.perf_counter()
        first_page = _check(
            self.http.get(urljoin(self.tool_url, launched.headers["Location"]), timeout=REQUEST_TIMEOUT),
            "first page",
        )
        finished = time.perf_counter()
        if str(escape(placement.title)) not in first_page.text:
            raise LaunchFailedError(f"first page: it does not show {placement.title!r}")
        return Timing(
            login=auth_started - started,
            auth=launch_started - auth_started,
            launch=page_started - launch_started,
            page=finished - page_started,
        )


# --- processes and their CPU time, from /proc ----------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it start at "state".
    return text.rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants, all threads. Reaped children (e.g. a restarted gunicorn
    worker) are counted too: their time moved into the parent's cutime/cstime."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    ticks = utime + stime + cutime + cstime
    return ticks / CLOCK_TICKS + sum(_live_cpu(child) for child in _children(pid))


def _live_cpu(pid: int) -> float:
    fields = _stat(pid)
    own = 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return own + sum(_live_cpu(child) for child in _children(pid))


class Server:
    """A ``tracebook`` command (gunicorn master) as a subprocess, its output in a log file."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str], workdir: Path, url: str) -> None:
        self.name = name
        self.url = url
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        # The tool reads .env from its working directory: a developer's file must not leak into the benchmark.
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from lms_plugin.cli import main; main()", *args],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_up(self, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + path, timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)  # polling a server that is still starting
        raise ServerError(f"{self.name} did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown stops its workers too
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the database ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    name = f"tracebook_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class PostgresBackends:
    """CPU of the PostgreSQL backends serving one application_name (set through PGAPPNAME), from /proc."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def cpu_seconds(self) -> dict[str, float]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, application_name="tracebook-benchmark") as connection:
            rows = connection.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchall()
        return {f"{app}:{pid}": _live_cpu(pid) for pid, app in rows if app.startswith("tracebook-")}


def _backend_delta(before: dict[str, float], after: dict[str, float], app: str) -> float:
    # A backend that started during the phase counts from zero; one that ended is lost (the pools keep theirs).
    return sum(seconds - before.get(key, 0.0) for key, seconds in after.items() if key.startswith(app + ":"))


# --- the run --------------------------------------------------------------------------------------------------


def run_phase(name: str, placements: Sequence[Placement], launches: int, clients: int, tool_url: str) -> Phase:
    """``launches`` launches by ``clients`` threads, each its own browser, taking the next placement in turn."""
    phase = Phase(name, clients)
    counter = itertools.count()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def user() -> None:
        client = LaunchClient(tool_url)
        start.wait()
        try:
            while (index := next(counter)) < launches:
                placement = placements[index % len(placements)]
                try:
                    timing = client.launch(placement)
                except (LaunchFailedError, requests.RequestException) as error:
                    with lock:
                        phase.failures.append(f"{placement.person}/{placement.resource_link_id}: {error}")
                    continue
                with lock:
                    phase.timings.append(timing)
        finally:
            client.close()

    threads = [threading.Thread(target=user, name=f"user-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.wall = time.perf_counter() - began
    return phase


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); with few values p99 is the maximum."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _verdict(value_ms: float, target_ms: float) -> str:
    return "PASS" if value_ms <= target_ms else "MISS"


def _latency_rows(phase: Phase, targeted: bool) -> list[tuple[str, str, str, str]]:
    rows = []
    for label, values in (
        ("tool part (login+launch+first page)", [t.tool for t in phase.timings]),
        ("whole flow (incl. emulator auth hop)", [t.total for t in phase.timings]),
    ):
        if not values:
            continue
        p50, p99 = statistics.median(values), percentile(values, 99)
        target, verdict = (f"<= {TARGET_P50_MS:g}", _verdict(p50 * 1000, TARGET_P50_MS)) if targeted else ("", "")
        rows.append((f"{phase.name}: {label} p50 ms", _ms(p50), target, verdict))
        rows.append((f"{phase.name}: {label} p99 ms", _ms(p99), "", ""))
    if targeted and phase.timings:
        for step in ("login", "auth", "launch", "page"):
            median = statistics.median(getattr(t, step) for t in phase.timings)
            rows.append((f"{phase.name}: step {_STEPS[step]} p50 ms", _ms(median), "", ""))
    return rows


_STEPS = {
    "login": "GET /lti/login (tool)",
    "auth": "GET auth URL (emulator)",
    "launch": "POST /lti/launch (tool)",
    "page": "GET first page (tool)",
}


def table(rows: Sequence[Sequence[str]], header: Sequence[str] = ("figure", "value", "target", "result")) -> str:
    """Rows under a header, the first column left-aligned and the others right-aligned (every benchmark's)."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join((cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])) for i, cell in enumerate(row)).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def benchmark(args: argparse.Namespace, database_url: str, workdir: Path) -> int:
    tool_port, emulator_port = free_port(), free_port()
    tool_url = f"http://127.0.0.1:{tool_port}"
    emulator_url = f"http://localhost:{emulator_port}/emulator"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TRACEBOOK_", "PG"))}
    env.update(
        TRACEBOOK_ENV="demo",
        TRACEBOOK_DATABASE_URL=database_url,
        TRACEBOOK_SECRET_KEY="benchmark-" + uuid.uuid4().hex + uuid.uuid4().hex,
        TRACEBOOK_DATA_DIR=str(workdir / "data"),
        TRACEBOOK_BASE_URL=tool_url,
        TRACEBOOK_EMULATOR_URL=emulator_url,
        TRACEBOOK_WEB_WORKERS=str(args.tool_workers),
        TRACEBOOK_PORT=str(tool_port),
        TRACEBOOK_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    servers: list[Server] = []
    try:
        # The tool first: it migrates the database and registers the emulator's platforms before serving.
        tool = Server("tool", ["serve"], {**env, "PGAPPNAME": "tracebook-tool"}, workdir, tool_url)
        servers.append(tool)
        tool.wait_until_up("/")
        emulator = Server(
            "emulator",
            ["emulator", "--host", "127.0.0.1", "--port", str(emulator_port), "--workers", str(args.emulator_workers)],
            {**env, "PGAPPNAME": "tracebook-emulator"},
            workdir,
            emulator_url,
        )
        servers.append(emulator)
        emulator.wait_until_up("/")

        setup = LaunchClient(tool_url)
        combinations = list(itertools.product(PERSONS, PLACEMENTS))
        random.Random(0).shuffle(combinations)  # consecutive launches differ in person and page, reproducibly
        placements = [setup.course_page(emulator_url, person, placement) for person, placement in combinations]
        setup.close()
        # Warm-up (not measured): every worker imports lazily, the emulator creates its signing key, the tool
        # fetches the emulator's key set once, and each person becomes a learner with a record in the course.
        warmup = run_phase("warm-up", placements, max(len(PERSONS), args.tool_workers * 2), 1, tool_url)

        single = run_phase("1 client", placements, args.launches, 1, tool_url)

        postgres = PostgresBackends(database_url) if database_url.startswith("postgresql") else None
        pg_before = postgres.cpu_seconds() if postgres else {}
        tool_before, emulator_before, client_before = tool.cpu_seconds(), emulator.cpu_seconds(), _own_cpu()
        loaded = run_phase(f"{args.concurrency} clients", placements, args.launches, args.concurrency, tool_url)
        tool_cpu = tool.cpu_seconds() - tool_before
        emulator_cpu = emulator.cpu_seconds() - emulator_before
        client_cpu = _own_cpu() - client_before
        pg_after = postgres.cpu_seconds() if postgres else {}

        emulator.stop()  # flushes its access log before it is read
        jwks_fetches = len(_JWKS_LOG.findall(emulator.log_path.read_text(errors="replace")))
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        for server in reversed(servers):
            server.stop()

    phases = (warmup, single, loaded)
    per_launch = max(loaded.launches, 1)
    rows = [
        *_latency_rows(single, targeted=True),
        *_latency_rows(loaded, targeted=False),
        (f"{loaded.name}: launches/s", f"{loaded.per_second:.1f}", "", ""),
        (
            f"{loaded.name}: tool server CPU ms/launch (gunicorn master+workers)",
            _ms(tool_cpu / per_launch),
            f"<= {TARGET_CPU_MS:g}",
            _verdict(tool_cpu / per_launch * 1000, TARGET_CPU_MS),
        ),
        (f"{loaded.name}: emulator CPU ms/launch (not the tool's)", _ms(emulator_cpu / per_launch), "", ""),
        (f"{loaded.name}: benchmark client CPU ms/launch", _ms(client_cpu / per_launch), "", ""),
    ]
    if postgres:
        for app in ("tracebook-tool", "tracebook-emulator"):
            rows.append(
                (
                    f"{loaded.name}: PostgreSQL backend CPU ms/launch ({app.removeprefix('tracebook-')})",
                    _ms(_backend_delta(pg_before, pg_after, app) / per_launch),
                    "",
                    "",
                )
            )
    total_launches = sum(phase.launches + len(phase.failures) for phase in phases)
    rows.append(("JWKS fetches by the tool (all launches)", str(jwks_fetches), "", ""))

    database = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    print(
        f"Tracebook launch benchmark: {database}, tool {args.tool_workers} gunicorn workers, emulator "
        f"{args.emulator_workers} workers, {os.cpu_count()} CPUs, Moodle (cookie) launches"
    )
    print()
    print(f"{'phase':<12} {'clients':>7} {'launches':>8} {'failures':>8} {'seconds':>8}")
    for phase in phases:
        print(f"{phase.name:<12} {phase.clients:>7} {phase.launches:>8} {len(phase.failures):>8} {phase.wall:>8.2f}")
    print()
    print(table(rows))
    print()
    print(
        "Latency targets apply to the single-client phase; 'tool part' is the time of the tool's three requests\n"
        "(login, launch, first page), 'whole flow' adds the emulator's authorization request. CPU is user+system\n"
        f"time from /proc over the {loaded.name} phase, divided by its launches. JWKS fetches are counted in the\n"
        f"emulator's access log over all {total_launches} launches (every emulator worker)."
    )
    failures = [failure for phase in phases for failure in phase.failures]
    print()
    for failure in failures[:10]:
        print(f"FAILED {failure}")
    print(f"launches={sum(p.launches for p in phases)} failures={len(failures)}")
    return 1 if failures else 0


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """Where a benchmark runs, and how big: shared by every benchmark script."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="use this (empty) PostgreSQL database instead of a throwaway one")
    where.add_argument("--sqlite", action="store_true", help="use a throwaway SQLite file (the smoke default)")
    where.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database, also with --smoke")
    parser.add_argument(
        "--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL, help="server to create the throwaway database on"
    )
    parser.add_argument("--smoke", action="store_true", help="a tiny run, for the test suite")


def run_on_database(
    args: argparse.Namespace, benchmark: Callable[[argparse.Namespace, str, Path], int], prefix: str
) -> int:
    """Run ``benchmark`` on the database the options name (a throwaway one by default) in a temporary folder."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    cwd = Path.cwd()
    try:
        if args.database_url:
            return benchmark(args, args.database_url, workdir)
        if args.sqlite or (args.smoke and not args.postgres):
            return benchmark(args, f"sqlite:///{workdir / 'data' / 'tracebook.sqlite3'}", workdir)
        with throwaway_postgres(args.postgres_admin_url) as url:
            return benchmark(args, url.replace("postgresql://", "postgresql+psycopg://", 1), workdir)
    finally:
        os.chdir(cwd)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=None, help="launches per measured phase [300; smoke 5]")
    parser.add_argument("--concurrency", type=int, default=None, help="clients in the loaded phase [16; smoke 2]")
    parser.add_argument("--tool-workers", type=int, default=2, help="the tool's gunicorn workers [2]")
    parser.add_argument("--emulator-workers", type=int, default=2, help="the emulator's gunicorn workers [2]")
    add_database_options(parser)
    args = parser.parse_args(argv)
    args.launches = args.launches or (5 if args.smoke else 300)
    args.concurrency = args.concurrency or (2 if args.smoke else 16)

    return run_on_database(args, benchmark, "tracebook-bench-")


if __name__ == "__main__":
    sys.exit(main())
