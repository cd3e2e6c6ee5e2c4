"""The cmi5 rules an AU's statements must follow, checked on what a test LMS recorded (cmi5 "Quartz" §9, §10).

:func:`problems` takes every statement one AU sent in one registration, over any number of sessions, and the
launches the LMS made; it returns one readable line per broken rule, so a test asserts ``problems(...) == []``
and a failure names the rule. The rules:

- §9.1, §9.2, §9.7: a UUID ``id``, the launch's actor (an agent with an ``account``), a UTC ``timestamp``.
- §7.1.3, §9.6.2.1: a statement is "cmi5 defined" when its verb is one of the AU's cmi5 verbs and its object is the
  AU (the launch's ``activityId``, §9.4); only those carry the cmi5 category, every other ("cmi5 allowed")
  statement must not.
- §9.6, §10.2.1: every statement's context is the launch's ``contextTemplate`` and more (the session id extension,
  the publisher id grouping), with the launch's ``registration``.
- §9.5: ``score`` only on passed/failed, ``success`` true on passed and false on failed and nowhere else,
  ``completion`` true on completed and nowhere else, ``duration`` on completed/passed/failed/terminated; a passed
  scaled score at least the ``masteryScore``, a failed one below it, with the masteryscore context extension
  (§9.6.3.2). §9.6.2.2: the moveOn category exactly on defined statements whose result has success or completion.
- §10.2.2: in Browse or Review mode only initialized and terminated are sent as defined statements.
- §9.3 within a session, ordered by timestamp: initialized first, terminated last, no defined verb twice, at most
  one of passed and failed. Within a registration: at most one completed, at most one passed, no failed after a
  passed — a learner may fail in one session and pass in a later one.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

VERBS = "http://adlnet.gov/expapi/verbs/"
INITIALIZED, COMPLETED, PASSED, FAILED, TERMINATED = (
    VERBS + name for name in ("initialized", "completed", "passed", "failed", "terminated")
)
# The verbs an AU itself sends as cmi5 defined statements (launched, abandoned, waived, satisfied are the LMS's).
AU_VERBS = (INITIALIZED, COMPLETED, PASSED, FAILED, TERMINATED)
CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon"
SESSION_ID = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
MASTERY_SCORE = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
DURATION_REQUIRED = (COMPLETED, PASSED, FAILED, TERMINATED)


@dataclass(frozen=True)
class Launch:
    """One launch of the AU as the LMS made it: the query string's values and the ``LMS.LaunchData`` document."""

    activity_id: str
    registration: str
    actor: Mapping[str, Any]
    launch_data: Mapping[str, Any]

    @property
    def session_id(self) -> str:
        return str(self.launch_data["contextTemplate"]["extensions"][SESSION_ID])


def problems(statements: Sequence[Mapping[str, Any]], launches: Sequence[Launch]) -> list[str]:
    """Every cmi5 rule the statements break, in the order they were recorded; ``[]`` when they keep them all.

    ``statements`` are those one AU sent in one registration; ``launches`` are the sessions the LMS started for it,
    each with its own session id (a statement naming no launched session is itself a problem)."""
    if not launches:
        raise ValueError("problems() needs at least one launch to check the statements against")
    sessions = {launch.session_id: launch for launch in launches}
    found: list[str] = []
    by_session: dict[str, list[tuple[datetime, int, Mapping[str, Any]]]] = {sid: [] for sid in sessions}
    for position, statement in enumerate(statements):
        label = _label(position, statement)
        session_id = statement.get("context", {}).get("extensions", {}).get(SESSION_ID)
        launch = sessions.get(session_id) if isinstance(session_id, str) else None
        if launch is None:
            found.append(f"{label}: session id {session_id!r} is not one the LMS launched (§9.6.3.1)")
            continue
        found += [f"{label}: {problem}" for problem in _statement_problems(statement, launch)]
        when = _timestamp(statement)
        if when is not None:
            by_session[launch.session_id].append((when, position, statement))
    ordered: list[tuple[datetime, int, Mapping[str, Any]]] = []
    for session_id, entries in by_session.items():
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        found += _session_problems(session_id, [statement for _, _, statement in entries], sessions[session_id])
        ordered += entries
    ordered.sort(key=lambda entry: (entry[0], entry[1]))
    found += _registration_problems([statement for _, _, statement in ordered], launches[0].activity_id)
    return found


def is_defined(statement: Mapping[str, Any], activity_id: str) -> bool:
    """Whether the statement is "cmi5 defined" (§7.1.3): an AU verb about the AU itself."""
    return _verb(statement) in AU_VERBS and statement.get("object", {}).get("id") == activity_id


def _label(position: int, statement: Mapping[str, Any]) -> str:
    return f"statement {position} ({_verb(statement).rsplit('/', 1)[-1] or 'no verb'})"


def _verb(statement: Mapping[str, Any]) -> str:
    return str(statement.get("verb", {}).get("id", ""))


def _timestamp(statement: Mapping[str, Any]) -> datetime | None:
    value = statement.get("timestamp")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _categories(statement: Mapping[str, Any]) -> list[str]:
    listed = statement.get("context", {}).get("contextActivities", {}).get("category", [])
    return [activity.get("id") for activity in listed]


def _statement_problems(statement: Mapping[str, Any], launch: Launch) -> list[str]:
    found: list[str] = []
    try:
        uuid.UUID(str(statement.get("id")))
    except ValueError:
        found.append(f"id {statement.get('id')!r} is not a UUID (§9.1)")
    actor = statement.get("actor", {})
    if actor != launch.actor or "account" not in actor or actor.get("objectType", "Agent") != "Agent":
        found.append(f"actor {actor!r} is not the launch's agent with an account {dict(launch.actor)!r} (§9.2)")
    when = _timestamp(statement)
    if when is None or when.utcoffset() != timedelta(0):
        found.append(f"timestamp {statement.get('timestamp')!r} is not a UTC ISO 8601 time (§9.7)")
    found += _context_problems(statement, launch)
    if is_defined(statement, launch.activity_id):
        found += _defined_problems(statement, launch)
    elif CMI5_CATEGORY in _categories(statement) or MOVEON_CATEGORY in _categories(statement):
        found.append("a cmi5 allowed statement carries a cmi5 category (§7.1.3, §9.6.2)")
    return found


def _context_problems(statement: Mapping[str, Any], launch: Launch) -> list[str]:
    context = statement.get("context", {})
    template = launch.launch_data["contextTemplate"]
    found: list[str] = []
    if context.get("registration") != launch.registration:
        found.append(
            f"registration {context.get('registration')!r} is not the launch's {launch.registration!r} (§9.6.1)"
        )
    for name, value in template.get("extensions", {}).items():
        if context.get("extensions", {}).get(name) != value:
            found.append(f"context extension {name} is not the contextTemplate's {value!r} (§10.2.1)")
    for kind, activities in template.get("contextActivities", {}).items():
        present = {activity.get("id") for activity in context.get("contextActivities", {}).get(kind, [])}
        for activity in activities:
            if activity["id"] not in present:
                found.append(f"contextActivities.{kind} lacks the contextTemplate's {activity['id']} (§9.6.2)")
    return found


def _defined_problems(statement: Mapping[str, Any], launch: Launch) -> list[str]:
    verb = _verb(statement)
    result = statement.get("result", {})
    found: list[str] = []
    if CMI5_CATEGORY not in _categories(statement):
        found.append("a cmi5 defined statement lacks the cmi5 category (§9.6.2.1)")
    wants_moveon = "success" in result or "completion" in result
    if wants_moveon != (MOVEON_CATEGORY in _categories(statement)):
        found.append(f"the moveOn category must be {'present' if wants_moveon else 'absent'} (§9.6.2.2)")
    if launch.launch_data.get("launchMode", "Normal") != "Normal" and verb not in (INITIALIZED, TERMINATED):
        found.append(
            f"sent in {launch.launch_data['launchMode']} mode, which allows only initialized/terminated (§10.2.2)"
        )
    if "score" in result and verb not in (PASSED, FAILED):
        found.append("only passed and failed may carry a score (§9.5.1)")
    expected_success = {PASSED: True, FAILED: False}.get(verb)
    if result.get("success") is not expected_success:
        found.append(f"result.success must be {'absent' if expected_success is None else expected_success} (§9.5.2)")
    expected_completion = True if verb == COMPLETED else None
    if result.get("completion") is not expected_completion:
        found.append(f"result.completion must be {'absent' if expected_completion is None else 'true'} (§9.5.3)")
    if verb in DURATION_REQUIRED and "duration" not in result:
        found.append("result.duration is missing (§9.5.4.1)")
    if verb in (PASSED, FAILED):
        found += _mastery_problems(statement, launch)
    return found


def _mastery_problems(statement: Mapping[str, Any], launch: Launch) -> list[str]:
    mastery = launch.launch_data.get("masteryScore")
    scaled = statement.get("result", {}).get("score", {}).get("scaled")
    if mastery is None or scaled is None:
        return []
    found: list[str] = []
    # Decimal from the JSON text, not float arithmetic: 0.8 must count as reaching a mastery score of 0.8.
    reached = Decimal(str(scaled)) >= Decimal(str(mastery))
    if reached != (_verb(statement) == PASSED):
        found.append(f"scaled score {scaled} does not agree with the verb for masteryScore {mastery} (§9.3.4, §9.3.5)")
    if statement.get("context", {}).get("extensions", {}).get(MASTERY_SCORE) != mastery:
        found.append(f"the masteryscore context extension is not the launch's {mastery} (§9.6.3.2)")
    return found


def _session_problems(session_id: str, statements: list[Mapping[str, Any]], launch: Launch) -> list[str]:
    where = f"session {session_id}"
    if not statements:
        return [f"{where}: the AU sent nothing, not even initialized (§9.3.2)"]
    found: list[str] = []
    if _verb(statements[0]) != INITIALIZED or not is_defined(statements[0], launch.activity_id):
        found.append(f"{where}: the first statement is {_verb(statements[0])}, not initialized (§9.3)")
    if _verb(statements[-1]) != TERMINATED or not is_defined(statements[-1], launch.activity_id):
        found.append(f"{where}: the last statement is {_verb(statements[-1])}, not terminated (§9.3.8)")
    defined = [_verb(statement) for statement in statements if is_defined(statement, launch.activity_id)]
    for verb in sorted({verb for verb in defined if defined.count(verb) > 1}):
        found.append(f"{where}: {verb} sent {defined.count(verb)} times (§9.3: no defined verb twice in a session)")
    if PASSED in defined and FAILED in defined:
        found.append(f"{where}: both passed and failed sent (§9.3: at most one of them in a session)")
    return found


def _registration_problems(statements: list[Mapping[str, Any]], activity_id: str) -> list[str]:
    defined = [_verb(statement) for statement in statements if is_defined(statement, activity_id)]
    found: list[str] = []
    for verb in (COMPLETED, PASSED):
        if defined.count(verb) > 1:
            found.append(f"registration: {verb} sent {defined.count(verb)} times (§9.3: at most once)")
    if PASSED in defined and FAILED in defined[defined.index(PASSED) :]:
        found.append("registration: failed sent after passed (§9.3)")
    return found
