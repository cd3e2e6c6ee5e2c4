"""Checks of the statements we emit against xAPI 1.0.3 §2.4 (Statement Properties) and §4 (Data Types), plus our
own rules: an LRS such as Ralph accepts some statements the spec forbids, and a mistake caught here is caught
before it reaches an LRS that keeps it forever.

``problems(statement)`` lists every problem, one readable line each (``path: what is wrong``); empty when valid.
Explicit checks rather than a marshmallow schema: most rules span several fields (exactly one identifier, raw
between min and max, choices that include the correct response), which read better as code than as validators.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

# §4.5 UUIDs: the canonical lower-case form of an RFC 4122 UUID (variant bits 10xx).
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# RFC 3987: a scheme, a colon, then no spaces or characters an IRI never holds. Not a full IRI grammar, but it
# catches what goes wrong in practice: a bare id, a relative path, a space.
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
IRL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
# §4.5 timestamps: ISO 8601 date and time, with a zone (Z or ±hh:mm).
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# §4.6 durations: ISO 8601, e.g. PT754.25S or P1DT2H.
DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+[DW])?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
MAILTO = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")

STATEMENT_KEYS = {"id", "actor", "verb", "object", "result", "context", "timestamp"}
# Set by the LRS, not by a statement's provider (§2.4.8 stored, §2.4.9 authority, §2.4.10 version).
LRS_KEYS = {"stored", "authority", "version"}
IDENTIFIERS = ("mbox", "mbox_sha1sum", "openid", "account")
INTERACTION_TYPES = {
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
}
CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}


class _Findings:
    """Problems found so far, each prefixed with the path of the value it is about."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, text: str) -> None:
        self.lines.append(f"{path}: {text}")


def problems(statement: object) -> list[str]:
    """Everything wrong with ``statement``; an empty list when it is valid."""
    found = _Findings()
    if not isinstance(statement, Mapping):
        found.add("statement", "is not an object")
        return found.lines
    for key in statement:
        if key in LRS_KEYS:
            found.add(key, "must not be set by the statement's provider: the LRS sets it (xAPI 1.0.3 §2.4.8-10)")
        elif key not in STATEMENT_KEYS:
            found.add(key, "is not a statement property")
    for key in ("id", "actor", "verb", "object", "timestamp"):
        if key not in statement:
            found.add(key, "is required")
    if "id" in statement:
        _uuid(found, "id", statement["id"])
    if "actor" in statement:
        _actor(found, "actor", statement["actor"])
    if "verb" in statement:
        _verb(found, "verb", statement["verb"])
    if "object" in statement:
        _activity(found, "object", statement["object"])
    if "result" in statement:
        _result(found, "result", statement["result"])
    if "context" in statement:
        _context(found, "context", statement["context"])
    if "timestamp" in statement:
        _timestamp(found, "timestamp", statement["timestamp"])
    return found.lines


def _object(found: _Findings, path: str, value: Any, allowed: set[str]) -> Mapping[str, Any] | None:
    if not isinstance(value, Mapping):
        found.add(path, "must be an object")
        return None
    for key in sorted(set(value) - allowed):
        found.add(f"{path}.{key}", "is not allowed here")
    return value


def _string(found: _Findings, path: str, value: Any) -> bool:
    if not isinstance(value, str) or not value:
        found.add(path, "must be a non-empty string")
        return False
    return True


def _number(found: _Findings, path: str, value: Any) -> bool:
    # JSON has no booleans-as-numbers, but Python's bool is an int: True would slip through as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        found.add(path, "must be a number")
        return False
    return True


def _boolean(found: _Findings, path: str, value: Any) -> None:
    if not isinstance(value, bool):
        found.add(path, "must be true or false")


def _matches(found: _Findings, path: str, value: Any, pattern: re.Pattern[str], what: str) -> None:
    if _string(found, path, value) and not pattern.match(value):
        found.add(path, f"{value!r} is not {what}")


def _uuid(found: _Findings, path: str, value: Any) -> None:
    _matches(found, path, value, UUID, "a lower-case RFC 4122 UUID")


def _iri(found: _Findings, path: str, value: Any) -> None:
    _matches(found, path, value, IRI, "an absolute IRI")


def _language_map(found: _Findings, path: str, value: Any) -> None:
    if not isinstance(value, Mapping) or not value:
        found.add(path, "must be a language map with at least one entry")
        return
    for tag, text in value.items():
        if not isinstance(tag, str) or not LANGUAGE_TAG.match(tag):
            found.add(path, f"{tag!r} is not a language tag")
        if not isinstance(text, str):
            found.add(f"{path}.{tag}", "must be a string")


def _extensions(found: _Findings, path: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        found.add(path, "must be an object")
        return
    for key in value:
        if not isinstance(key, str) or not IRI.match(key):
            found.add(path, f"the key {key!r} is not an IRI")


def _actor(found: _Findings, path: str, value: Any) -> None:
    actor = _object(found, path, value, {"objectType", "name", *IDENTIFIERS})
    if actor is None:
        return
    if actor.get("objectType", "Agent") != "Agent":
        found.add(f"{path}.objectType", "must be Agent: statements are about one learner")
    if "name" in actor:
        _string(found, f"{path}.name", actor["name"])
    given = [key for key in IDENTIFIERS if key in actor]
    if len(given) != 1:
        found.add(path, f"must have exactly one identifier of {', '.join(IDENTIFIERS)}; it has {len(given)}")
    if "mbox" in actor:
        _matches(found, f"{path}.mbox", actor["mbox"], MAILTO, "a mailto: address")
    if "mbox_sha1sum" in actor:
        _matches(found, f"{path}.mbox_sha1sum", actor["mbox_sha1sum"], re.compile(r"^[0-9a-f]{40}$"), "a SHA-1")
    if "openid" in actor:
        _iri(found, f"{path}.openid", actor["openid"])
    if "account" in actor:
        account = _object(found, f"{path}.account", actor["account"], {"homePage", "name"})
        if account is not None:
            for key in ("homePage", "name"):
                if key not in account:
                    found.add(f"{path}.account.{key}", "is required")
            if "homePage" in account:
                _matches(found, f"{path}.account.homePage", account["homePage"], IRL, "an http(s) URL")
            if "name" in account:
                _string(found, f"{path}.account.name", account["name"])


def _verb(found: _Findings, path: str, value: Any) -> None:
    verb = _object(found, path, value, {"id", "display"})
    if verb is None:
        return
    if "id" not in verb:
        found.add(f"{path}.id", "is required")
    else:
        _iri(found, f"{path}.id", verb["id"])
    if "display" in verb:
        _language_map(found, f"{path}.display", verb["display"])


def _activity(found: _Findings, path: str, value: Any) -> None:
    activity = _object(found, path, value, {"objectType", "id", "definition"})
    if activity is None:
        return
    if activity.get("objectType", "Activity") != "Activity":
        found.add(f"{path}.objectType", "must be Activity: every statement we emit is about an activity")
    if "id" not in activity:
        found.add(f"{path}.id", "is required")
    else:
        _iri(found, f"{path}.id", activity["id"])
    if "definition" in activity:
        _definition(found, f"{path}.definition", activity["definition"])


def _definition(found: _Findings, path: str, value: Any) -> None:
    allowed = {"type", "name", "description", "moreInfo", "extensions", "interactionType"}
    allowed |= {"correctResponsesPattern", "choices", "scale", "source", "target", "steps"}
    definition = _object(found, path, value, allowed)
    if definition is None:
        return
    if "type" in definition:
        _iri(found, f"{path}.type", definition["type"])
    for key in ("name", "description"):
        if key in definition:
            _language_map(found, f"{path}.{key}", definition[key])
    if "moreInfo" in definition:
        _matches(found, f"{path}.moreInfo", definition["moreInfo"], IRL, "an http(s) URL")
    if "extensions" in definition:
        _extensions(found, f"{path}.extensions", definition["extensions"])
    components = [key for key in ("choices", "scale", "source", "target", "steps") if key in definition]
    if "interactionType" not in definition:
        if components or "correctResponsesPattern" in definition:
            found.add(f"{path}.interactionType", "is required with interaction components or correct responses")
        return
    if definition["interactionType"] not in INTERACTION_TYPES:
        found.add(f"{path}.interactionType", f"{definition['interactionType']!r} is not an interaction type")
    component_ids: list[str] = []
    for key in components:
        component_ids += _components(found, f"{path}.{key}", definition[key])
    if len(set(component_ids)) != len(component_ids):
        found.add(path, "interaction component ids must be unique")
    if "correctResponsesPattern" in definition:
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(item, str) for item in pattern):
            found.add(f"{path}.correctResponsesPattern", "must be a list of strings")
        elif definition["interactionType"] == "choice":
            # Our rule: a choice's correct response names one of its choices (`[,]` joins several).
            for response in pattern:
                for choice in response.split("[,]"):
                    if choice not in component_ids:
                        found.add(f"{path}.correctResponsesPattern", f"{choice!r} is not one of the choices")


def _components(found: _Findings, path: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        found.add(path, "must be a non-empty list")
        return []
    ids = []
    for index, item in enumerate(value):
        component = _object(found, f"{path}[{index}]", item, {"id", "description"})
        if component is None:
            continue
        if "id" not in component:
            found.add(f"{path}[{index}].id", "is required")
        elif _string(found, f"{path}[{index}].id", component["id"]):
            ids.append(component["id"])
        if "description" in component:
            _language_map(found, f"{path}[{index}].description", component["description"])
    return ids


def _result(found: _Findings, path: str, value: Any) -> None:
    result = _object(found, path, value, {"score", "success", "completion", "response", "duration", "extensions"})
    if result is None:
        return
    if "score" in result:
        _score(found, f"{path}.score", result["score"])
    for key in ("success", "completion"):
        if key in result:
            _boolean(found, f"{path}.{key}", result[key])
    if "response" in result and not isinstance(result["response"], str):
        found.add(f"{path}.response", "must be a string")
    if "duration" in result:
        _matches(found, f"{path}.duration", result["duration"], DURATION, "an ISO 8601 duration")
    if "extensions" in result:
        _extensions(found, f"{path}.extensions", result["extensions"])


def _score(found: _Findings, path: str, value: Any) -> None:
    score = _object(found, path, value, {"scaled", "raw", "min", "max"})
    if score is None:
        return
    numbers = {key: score[key] for key in ("scaled", "raw", "min", "max") if key in score}
    valid = {key: number for key, number in numbers.items() if _number(found, f"{path}.{key}", number)}
    if "scaled" in valid and not -1 <= valid["scaled"] <= 1:
        found.add(f"{path}.scaled", f"{valid['scaled']} is outside -1..1")
    if "min" in valid and "max" in valid and valid["min"] > valid["max"]:
        found.add(path, f"min {valid['min']} is above max {valid['max']}")
    if "raw" in valid and "min" in valid and valid["raw"] < valid["min"]:
        found.add(f"{path}.raw", f"{valid['raw']} is below min {valid['min']}")
    if "raw" in valid and "max" in valid and valid["raw"] > valid["max"]:
        found.add(f"{path}.raw", f"{valid['raw']} is above max {valid['max']}")


def _context(found: _Findings, path: str, value: Any) -> None:
    allowed = {"registration", "instructor", "team", "contextActivities", "revision", "platform", "language"}
    context = _object(found, path, value, allowed | {"statement", "extensions"})
    if context is None:
        return
    if "registration" in context:
        _uuid(found, f"{path}.registration", context["registration"])
    if "instructor" in context:
        _actor(found, f"{path}.instructor", context["instructor"])
    for key in ("revision", "platform"):
        if key in context:
            _string(found, f"{path}.{key}", context[key])
    if "language" in context:
        _matches(found, f"{path}.language", context["language"], LANGUAGE_TAG, "a language tag")
    if "contextActivities" in context:
        activities = _object(found, f"{path}.contextActivities", context["contextActivities"], CONTEXT_ACTIVITY_KEYS)
        for key, listed in (activities or {}).items():
            if key not in CONTEXT_ACTIVITY_KEYS:
                continue
            # §2.4.6.2 allows a single activity, but the spec's own LRS normalises it to a list: we send lists.
            if not isinstance(listed, list) or not listed:
                found.add(f"{path}.contextActivities.{key}", "must be a non-empty list of activities")
                continue
            for index, activity in enumerate(listed):
                _activity(found, f"{path}.contextActivities.{key}[{index}]", activity)
    if "extensions" in context:
        _extensions(found, f"{path}.extensions", context["extensions"])


def _timestamp(found: _Findings, path: str, value: Any) -> None:
    if not _string(found, path, value):
        return
    if not TIMESTAMP.match(value):
        found.add(path, f"{value!r} is not an ISO 8601 date and time with a zone")
        return
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        found.add(path, f"{value!r} is not a real date and time")
        return
    # Our rule: every time we send is UTC, so reports never mix zones. -00:00 is not UTC in RFC 3339: it means
    # "zone unknown".
    if moment.utcoffset() or value.endswith("-00:00"):
        found.add(path, f"{value!r} is not in UTC (Z or +00:00)")
