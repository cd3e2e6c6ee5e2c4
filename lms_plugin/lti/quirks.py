"""Canvas and Moodle behaviours we work around, one named function each (see shared/design/PLATFORMS.md)."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lms_plugin.lti import claims

CANVAS_TEST_USER_ROLE = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"


def canvas_is_test_student(payload: Mapping[str, Any]) -> bool:
    """Canvas's "Test Student" (student view) launches like a learner but cannot be graded.

    Canvas marks it with the LTI system role TestUser; its gradebook refuses scores for it.
    """
    roles = payload.get(claims.ROLES) or []
    return isinstance(roles, list) and CANVAS_TEST_USER_ROLE in roles


def moodle_deployment_id(payload: Mapping[str, Any]) -> str:
    """Moodle sends the deployment id as the tool type's id, sometimes as a JSON number: keep it a string."""
    return str(payload.get(claims.DEPLOYMENT_ID, ""))


def moodle_service_url(lineitem_url: str, suffix: str) -> str:
    """A line item's sub-resource URL (``/scores``, ``/results``), keeping its query string.

    Moodle's AGS URLs carry one (``…/lineitems/5/lineitem?type_id=3``): appending to the whole URL would
    put the suffix inside the query (PLATFORMS.md, "AGS").
    """
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def canvas_progress_only(score: dict[str, Any]) -> dict[str, Any]:
    """Canvas ignores ``scoreGiven`` unless the grading progress is FullyGraded (or PendingManual); never
    send one with a progress-only score, so no platform can read it as a grade (PLATFORMS.md, Canvas)."""
    if score.get("gradingProgress") in ("FullyGraded", "PendingManual"):
        return score
    return {k: v for k, v in score.items() if k not in ("scoreGiven", "scoreMaximum")}
