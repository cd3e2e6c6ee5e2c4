"""Roles are mapped once, at the edge."""

import pytest

from lms_plugin.lti.context import WHOLE_MODULE, launch_context
from lms_plugin.lti.roles import Role, map_roles

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([LIS + "membership#Learner"], {Role.LEARNER}),
        ([LIS + "membership#Instructor", LIS + "institution/person#Faculty"], {Role.INSTRUCTOR}),
        ([LIS + "membership#Instructor#TeachingAssistant"], {Role.INSTRUCTOR}),
        ([LIS + "institution/person#Administrator"], {Role.ADMINISTRATOR}),
        ([LIS + "system/person#Administrator"], {Role.ADMINISTRATOR}),
        ([LIS + "membership#Administrator"], {Role.INSTRUCTOR}),  # a course admin, not a tool admin
        (["Instructor", "Learner"], {Role.INSTRUCTOR, Role.LEARNER}),  # deprecated short names
        (["urn:lti:role:ims/lis/TeachingAssistant"], {Role.INSTRUCTOR}),  # LTI 1.1 URNs
        (["http://example.edu/roles#Dean", 42], set()),
        ([], set()),
    ],
)
def test_roles_map_to_what_the_tool_needs(raw: list[str], expected: set[Role]) -> None:
    assert map_roles(raw) == expected


def test_a_canvas_test_student_is_not_a_gradable_learner() -> None:
    payload = {
        "iss": "https://canvas.instructure.com",
        "sub": "s",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": 7,
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "r"},
        "https://purl.imsglobal.org/spec/lti/claim/roles": [
            LIS + "membership#Learner",
            "http://purl.imsglobal.org/vocab/lti/system/person#TestUser",
        ],
    }
    context = launch_context(payload, "client")
    assert context.test_user is True
    assert context.is_learner is False
    assert context.deployment_id == "7"  # Moodle-style numeric ids become strings
    assert context.unit == WHOLE_MODULE
