"""A small cmi5 LMS for the browser tests: launches the AUs of an unzipped package and records what they send.

It does what cmi5 (Quartz) asks of an LMS before and during a launch, on 127.0.0.1:
- reads ``cmi5.xml`` (each AU's id, url, moveOn and masteryScore) and serves the package;
- §8.1: a launch URL with ``endpoint``, ``fetch``, ``actor`` (JSON), ``registration`` and ``activityId`` — an
  activityId of its own, not the AU's publisher id (§8.1.5), the same for every launch of that AU;
- §8.2: the fetch URL answers a POST with ``{"auth-token": …}`` once, and with error 1 after that;
- §10: ``LMS.LaunchData`` in the State API before the launch (contextTemplate with the session id and the publisher
  id grouping, launchMode, moveOn, masteryScore, returnURL), plus a plain State API and Agent Profile API the
  AU may use for its own documents;
- the statements resource records every statement an AU sends, in arrival order.

The AU's page is served from ``localhost`` and the LMS's xAPI endpoint from ``127.0.0.1`` (one server, two host
names), so every xAPI request is cross-origin with CORS, as with an LMS that hosts content on a CDN. Whatever
the AU does against the protocol — no or the wrong token, a second fetch, a missing version header, a write to
``LMS.LaunchData`` — goes to :attr:`Cmi5Lms.protocol_problems`.
"""

import json
import secrets
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.exports_lms.cmi5_rules import SESSION_ID, Launch
from tests.exports_lms.loopback import Request, Response, file_response, json_response, serve

CMI5_NS = "{https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd}"
LAUNCH_DATA = "LMS.LaunchData"
XAPI_VERSION = "1.0.3"
WAIT_SECONDS = 10.0
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match",
    "Access-Control-Expose-Headers": "X-Experience-API-Version, ETag",
    "X-Experience-API-Version": XAPI_VERSION,
}


@dataclass(frozen=True)
class Au:
    """One assignable unit of the course structure (cmi5 §13.1.4)."""

    id: str
    title: str
    url: str
    move_on: str
    mastery_score: float | None


def read_course_structure(document: bytes) -> list[Au]:
    """The AUs of ``cmi5.xml`` in course order (blocks flattened)."""
    root = ET.fromstring(document)
    found = []
    for au in root.iter(f"{CMI5_NS}au"):
        mastery = au.get("masteryScore")
        found.append(
            Au(
                id=str(au.get("id")),
                title=(au.findtext(f"{CMI5_NS}title/{CMI5_NS}langstring") or "").strip(),
                url=(au.findtext(f"{CMI5_NS}url") or "").strip(),
                move_on=au.get("moveOn", "NotApplicable"),
                mastery_score=float(mastery) if mastery is not None else None,
            )
        )
    return found


@dataclass
class _Session:
    launch: Launch
    token: str
    fetched: bool = False


class Cmi5Lms:
    """The test LMS for one unzipped cmi5 package. ``statements`` holds every statement received, in order."""

    def __init__(self, package: Path) -> None:
        self.package = package
        self.aus = read_course_structure((package / "cmi5.xml").read_bytes())
        self.statements: list[dict[str, Any]] = []
        self.launches: list[Launch] = []
        self.protocol_problems: list[str] = []
        self.returned: list[str] = []  # the sessions whose AU sent the learner back to returnURL
        self._sessions: dict[str, _Session] = {}  # by session id
        self._state: dict[tuple[str, str, str, str], bytes] = {}  # (activityId, agent, registration, stateId)
        self._arrived = threading.Condition()
        self.port = 0

    @contextmanager
    def running(self) -> Iterator["Cmi5Lms"]:
        with serve(self._handle) as port:
            self.port = port
            yield self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/xapi/"

    def au(self, url_or_id: str) -> Au:
        """The AU whose id is given, or whose url is e.g. ``units/module-test.html``."""
        return next(au for au in self.aus if url_or_id in (au.id, au.url))

    def activity_id(self, au: Au) -> str:
        """The LMS's activity id for the AU (§8.1.5: its own, stable across registrations)."""
        return f"http://127.0.0.1:{self.port}/lms/activities/{uuid.uuid5(uuid.NAMESPACE_URL, au.id)}"

    def launch(self, au: Au, actor: dict[str, Any], registration: str, mode: str = "Normal") -> str:
        """Prepares a session (LaunchData in the State API, a one-time fetch URL) and returns the launch URL."""
        session_id = str(uuid.uuid4())
        activity_id = self.activity_id(au)
        launch_data: dict[str, Any] = {
            "contextTemplate": {
                "contextActivities": {"grouping": [{"objectType": "Activity", "id": au.id}]},
                "extensions": {SESSION_ID: session_id},
            },
            "launchMode": mode,
            "moveOn": au.move_on,
            "returnURL": f"http://localhost:{self.port}/returned/{session_id}",
        }
        if au.mastery_score is not None:
            launch_data["masteryScore"] = au.mastery_score
        launch = Launch(activity_id=activity_id, registration=registration, actor=actor, launch_data=launch_data)
        key = (activity_id, _agent_key(actor), registration, LAUNCH_DATA)
        with self._arrived:
            self._state[key] = json.dumps(launch_data).encode("utf-8")
            self._sessions[session_id] = _Session(launch, token=secrets.token_urlsafe(24))
            self.launches.append(launch)
        query = {
            "endpoint": self.endpoint,
            "fetch": f"http://127.0.0.1:{self.port}/fetch/{session_id}",
            "actor": json.dumps(actor),
            "registration": registration,
            "activityId": activity_id,
        }
        return f"http://localhost:{self.port}/package/{au.url}?{urlencode(query)}"

    def statements_for(self, launch: Launch) -> list[dict[str, Any]]:
        """What the AU sent in the launch's registration, in arrival order."""
        return [
            statement
            for statement in self.statements
            if statement.get("context", {}).get("registration") == launch.registration
        ]

    def wait_for(self, condition: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """All statements received, once ``condition`` holds for them; fails after a few seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: condition(self.statements), WAIT_SECONDS):
                verbs = [statement.get("verb", {}).get("id") for statement in self.statements]
                raise AssertionError(f"the statements received never met the condition: {verbs}")
            return list(self.statements)

    def _handle(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(204, headers=CORS)
        parts = request.path.strip("/").split("/")
        if parts[0] == "package":
            return file_response(self.package, "/".join(parts[1:]))
        if parts[0] == "fetch" and len(parts) == 2:
            return self._fetch(request, parts[1])
        if parts[0] == "returned" and len(parts) == 2:
            with self._arrived:
                self.returned.append(parts[1])
                self._arrived.notify_all()
            return Response(200, b"<!doctype html><title>Course</title><p>Back in the course.</p>", _HTML)
        if request.path == "/favicon.ico":
            return Response(204)
        if parts[0] != "xapi":
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        session = self._authorize(request)
        if session is None:
            return Response(401, b'{"error": "no valid auth-token"}', {**CORS, "Content-Type": "application/json"})
        resource = "/".join(parts[1:])
        if resource == "statements":
            return self._statements(request, session)
        if resource == "activities/state":
            return self._document(request, session, "stateId")
        if resource == "agents/profile":
            return self._document(request, session, "profileId")
        return Response(404, b"not found", CORS)

    def _fetch(self, request: Request, session_id: str) -> Response:
        session = self._sessions.get(session_id)
        if request.method != "POST":
            self.protocol_problems.append(f"fetch URL called with {request.method}, not POST (§8.2.1)")
            return Response(405, headers=CORS)
        if session is None:
            return _json({"error-code": "2", "error-text": "Unknown session."})
        if session.fetched:
            self.protocol_problems.append(f"session {session_id}: the fetch URL was called twice (§8.2.1)")
            return _json({"error-code": "1", "error-text": "The token has already been returned."})
        session.fetched = True
        return _json({"auth-token": session.token})

    def _authorize(self, request: Request) -> _Session | None:
        if request.headers.get("x-experience-api-version", "").split(".")[:2] != ["1", "0"]:
            self.protocol_problems.append(f"{request.method} {request.path}: no X-Experience-API-Version 1.0.x")
        header = request.headers.get("authorization", "")
        for session in self._sessions.values():
            if session.fetched and header == f"Basic {session.token}":
                return session
        self.protocol_problems.append(f"{request.method} {request.path}: Authorization {header!r} is no auth-token")
        return None

    def _statements(self, request: Request, session: _Session) -> Response:
        if request.method not in ("POST", "PUT"):
            return Response(405, headers=CORS)
        body = request.json()
        received = body if isinstance(body, list) else [body]
        if request.method == "PUT":
            received[0].setdefault("id", request.query.get("statementId"))
        for statement in received:
            statement.setdefault("id", str(uuid.uuid4()))
            if statement.get("actor") != session.launch.actor:
                self.protocol_problems.append(f"statement {statement['id']}: actor is not the launched learner")
        with self._arrived:
            self.statements += received
            self._arrived.notify_all()
        if request.method == "PUT":
            return Response(204, headers=CORS)
        return Response(200, json.dumps([s["id"] for s in received]).encode(), {**CORS, **_JSON})

    def _document(self, request: Request, session: _Session, id_name: str) -> Response:
        agent = json.loads(request.query.get("agent", "null"))
        if agent is None or _agent_key(agent) != _agent_key(session.launch.actor):
            self.protocol_problems.append(f"{request.path}: agent {agent!r} is not the launched learner")
        if id_name == "stateId" and request.query.get("activityId") != session.launch.activity_id:
            self.protocol_problems.append(f"{request.path}: activityId {request.query.get('activityId')!r}")
        key = (
            request.query.get("activityId", "agent-profile"),
            _agent_key(agent or {}),
            request.query.get("registration", ""),
            request.query.get(id_name, ""),
        )
        if request.method == "GET":
            with self._arrived:
                document = self._state.get(key)
            if document is None:
                return Response(404, headers=CORS)
            return Response(200, document, {**CORS, **_JSON})
        if key[3] == LAUNCH_DATA:
            self.protocol_problems.append(f"the AU tried to {request.method} LMS.LaunchData (§10.2.1: MUST NOT)")
            return Response(403, headers=CORS)
        with self._arrived:
            if request.method == "DELETE":
                self._state.pop(key, None)
            elif request.method == "POST" and key in self._state:
                merged = json.loads(self._state[key]) | request.json()  # §7.3: POST merges JSON objects
                self._state[key] = json.dumps(merged).encode("utf-8")
            else:
                self._state[key] = request.body
        return Response(204, headers=CORS)


def _agent_key(agent: dict[str, Any]) -> str:
    """An agent's identity (its inverse functional identifier), whatever else it carries."""
    for name in ("account", "mbox", "mbox_sha1sum", "openid"):
        if name in agent:
            return json.dumps({name: agent[name]}, sort_keys=True)
    return json.dumps(agent, sort_keys=True)


def _json(value: Any) -> Response:
    response = json_response(value)
    return Response(response.status, response.body, {**CORS, **response.headers})


_JSON = {"Content-Type": "application/json"}
_HTML = {"Content-Type": "text/html; charset=utf-8"}
