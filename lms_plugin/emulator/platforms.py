"""What the emulator plays: two platforms, a course with the module's placements, and a few people."""

from collections.abc import Sequence
from dataclasses import dataclass

from content import Module
from lms_plugin.lti.context import WHOLE_MODULE
from lms_plugin.lti.quirks import CANVAS_TEST_USER_ROLE
from lms_plugin.lti.roles import LIS


@dataclass(frozen=True)
class EmulatedPlatform:
    mode: str
    name: str
    client_id: str
    deployment_id: str
    product_family_code: str
    # Canvas offers LTI Platform Storage (lti_storage_target); Moodle does not.
    storage_target: str | None

    def issuer(self, emulator_url: str) -> str:
        return f"{emulator_url}/{self.mode}"

    def auth_url(self, emulator_url: str) -> str:
        return f"{emulator_url}/{self.mode}/auth"

    def token_url(self, emulator_url: str) -> str:
        return f"{emulator_url}/{self.mode}/token"

    def jwks_url(self, emulator_url: str) -> str:
        return f"{emulator_url}/{self.mode}/jwks"


PLATFORMS = {
    "canvas": EmulatedPlatform(
        mode="canvas",
        name="Canvas (emulated)",
        client_id="10000000000042",
        deployment_id="42:8865aa05b4b79b64a91a86042e43af5ea8ae79eb",
        product_family_code="canvas",
        storage_target="post_message_forwarding",
    ),
    "moodle": EmulatedPlatform(
        mode="moodle",
        name="Moodle (emulated)",
        client_id="qxLm3vT0sFRa7Ck",
        deployment_id="3",  # Moodle's deployment id is the tool type's id
        product_family_code="moodle",
        storage_target=None,
    ),
}


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    given_name: str
    family_name: str
    email: str
    roles: tuple[str, ...]
    label: str


MEMBERSHIP = LIS + "membership#"
PEOPLE = {
    "ada": Person("ada", "Ada Learner", "Ada", "Learner", "ada@example.edu", (MEMBERSHIP + "Learner",), "Student"),
    "grace": Person(
        "grace", "Grace Student", "Grace", "Student", "grace@example.edu", (MEMBERSHIP + "Learner",), "Student"
    ),
    "alan": Person(
        "alan",
        "Alan Teacher",
        "Alan",
        "Teacher",
        "alan@example.edu",
        (MEMBERSHIP + "Instructor", LIS + "institution/person#Faculty"),
        "Instructor",
    ),
    "root": Person(
        "root",
        "Site Admin",
        "Site",
        "Admin",
        "admin@example.edu",
        (LIS + "institution/person#Administrator", MEMBERSHIP + "Instructor"),
        "Administrator",
    ),
    "test": Person(
        "test",
        "Test Student",
        "Test",
        "Student",
        "",
        (MEMBERSHIP + "Learner", CANVAS_TEST_USER_ROLE),
        "Test student (Canvas student view)",
    ),
}

COURSE_ID = "course-obs-101"
COURSE_TITLE = "Observability for AI Engineers"
COURSE_LABEL = "OBS-101"


@dataclass(frozen=True)
class EmulatedPlacement:
    resource_link_id: str
    unit: str
    title: str
    # Whether the link has a gradebook column: for links added by deep linking, exactly when the tool's
    # content item asked for one; None for the built-in links (Moodle grades every activity but a page).
    graded: bool | None = None


def placements(module: Module, added: Sequence[EmulatedPlacement] = ()) -> list[EmulatedPlacement]:
    """The whole module, then each unit placed on its own, as a teacher might add them; then the links an
    instructor ``added`` by deep linking."""
    found = [EmulatedPlacement(f"link-{WHOLE_MODULE}", WHOLE_MODULE, f"Module {module.number}: {module.title}")]
    found += [EmulatedPlacement(f"link-{unit.id}", unit.id, module.title_of(unit.id)) for unit in module.units]
    return found + list(added)
