"""Canvas and Moodle behaviours we work around, one named function each (see shared/design/PLATFORMS.md)."""

from collections.abc import Mapping
from typing import Any

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
