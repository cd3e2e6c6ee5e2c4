"""Runs Ralph's LRS API under uvicorn for the tests (tests/lrs.py starts it with Ralph's own interpreter, from
``.venv-ralph``: only Ralph and uvicorn are importable here, nothing of ours).

Ralph's file-system backend creates its statements file and refuses to write it a second time; set to append,
it keeps every batch. Every request is also recorded as one JSON line (method, path, status, how many statements
a POST carried, its X-Experience-API-Version), so a test can count the LRS's requests and batch sizes. While the
file ``hold`` exists in the work folder, responses to statement POSTs are held back after Ralph has stored them:
a test can stop the client between "the LRS has it" and "the client knows".

Usage: python lrs_launcher.py PORT WORK_DIR
"""

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

from ralph.api import app as ralph_app  # noqa: E402  (after the backend is told to append)

Message = dict[str, Any]


class RequestRecorder:
    def __init__(self, app: Any, work_dir: Path) -> None:
        self.app = app
        self.log = work_dir / "requests.jsonl"
        self.hold = work_dir / "hold"

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(m.get("body", b"") for m in received)
        pending = iter(received)

        async def replay() -> Message:
            return next(pending, None) or await receive()

        sent: list[Message] = []

        async def keep(message: Message) -> None:
            sent.append(message)

        await self.app(scope, replay, keep)
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        entry = {
            "method": scope["method"],
            "path": scope["path"],
            "status": next(m["status"] for m in sent if m["type"] == "http.response.start"),
            "statements": _count(body),
            "version": headers.get("x-experience-api-version"),
        }
        with self.log.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        while scope["method"] == "POST" and self.hold.exists():
            await asyncio.sleep(0.01)
        for message in sent:
            await send(message)


def _count(body: bytes) -> int | None:
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return None
    if isinstance(parsed, list):
        return len(parsed)
    return 1 if isinstance(parsed, dict) else None


if __name__ == "__main__":
    port, work_dir = int(sys.argv[1]), Path(sys.argv[2])
    uvicorn.run(RequestRecorder(ralph_app, work_dir), host="127.0.0.1", port=port, log_level="warning")
