"""LTI roles mapped once, at the edge, into the three that matter to the tool (LTI Core 1.3 §A.2).

Full LIS vocabulary URIs, the deprecated short names ("Instructor", "Learner") that some platforms still
send, and sub-roles ("…#Instructor#TeachingAssistant") all map; unknown roles are kept but grant nothing.
"""

from collections.abc import Iterable
from enum import StrEnum

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


class Role(StrEnum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"  # Instructor and teaching assistant: they see the class, never learner grades
    ADMINISTRATOR = "administrator"


_BY_NAME = {
    "learner": Role.LEARNER,
    "student": Role.LEARNER,
    "instructor": Role.INSTRUCTOR,
    "teachingassistant": Role.INSTRUCTOR,
    "faculty": Role.INSTRUCTOR,
    "contentdeveloper": Role.INSTRUCTOR,
    "administrator": Role.ADMINISTRATOR,
    "sysadmin": Role.ADMINISTRATOR,
}


def _name(role: str) -> str:
    """The role's own name: the last URI fragment or path part, or the short name itself."""
    for separator in ("#", "/"):
        if separator in role:
            role = role.rsplit(separator, 1)[1]
    return role.strip().lower()


def map_roles(raw: Iterable[str]) -> frozenset[Role]:
    roles: set[Role] = set()
    for role in raw:
        if not isinstance(role, str):
            continue
        mapped = _BY_NAME.get(_name(role))
        # A context-level "membership#Administrator" is a course admin, an instructor for us; only
        # institution- or system-level administrators are administrators.
        if mapped is Role.ADMINISTRATOR and "/membership" in role:
            mapped = Role.INSTRUCTOR
        if mapped is not None:
            roles.add(mapped)
    return frozenset(roles)
