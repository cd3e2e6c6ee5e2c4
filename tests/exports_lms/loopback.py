"""A small HTTP server on 127.0.0.1 for the test runtimes: requests become :class:`Request` values handed to one
function, which answers with a :class:`Response`. Threaded, because a page holds a connection for its scripts
while its frame asks for more."""

import json
import mimetypes
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode("utf-8"), {"Content-Type": "application/json"})


def file_response(root: Path, relative: str) -> Response:
    """A file below ``root``, or 404; nothing outside ``root`` is served."""
    path = (root / relative).resolve()
    if not path.is_file() or not path.is_relative_to(root.resolve()):
        return Response(404, b"not found", {"Content-Type": "text/plain"})
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return Response(200, path.read_bytes(), {"Content-Type": kind})


Handler = Callable[[Request], Response]


@contextmanager
def serve(handle: Handler) -> Iterator[int]:
    """Serves ``handle`` on a free port of 127.0.0.1 until the block ends; yields the port."""

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query={name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()},
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            response = handle(request)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(response.body)

        # http.server dispatches on do_<METHOD>: every method goes to the one handler.
        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read what the servers recorded, not their access log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="exports-lms", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
