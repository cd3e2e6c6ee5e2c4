"""What a package holds, unit by unit: one SCO (SCORM) or AU (cmi5) per lesson, quiz and lab and one for the
module test, in the module's order (SCORM CAM 1.2 §2.3.4 and 2004 4th ed. CAM §3.4: one resource per SCO;
cmi5 §13.1.4: one AU per launchable unit).

Each unit carries the xAPI activity id the LTI tool reports it under (exports.xapi.ids), so a cmi5 AU's statements
and the tool's join in one LRS.
"""

from dataclasses import dataclass
from enum import StrEnum

from content.model import Module, UnitKind
from exports.xapi.ids import ActivityIds


class PackageFormat(StrEnum):
    SCORM12 = "scorm12"
    SCORM2004 = "scorm2004"
    CMI5 = "cmi5"


SHARED_FILES = ("shared/tracebook.css", "shared/runtime.js")


@dataclass(frozen=True)
class PackageUnit:
    kind: UnitKind
    id: str
    title: str
    activity_id: str
    lesson_id: str | None  # the lesson the unit belongs to; None for the module test

    @property
    def href(self) -> str:
        return f"units/{self.id}.html"


def _lesson_of(module: Module, kind: UnitKind, unit_id: str) -> str | None:
    if kind is UnitKind.LESSON:
        return unit_id
    if kind is UnitKind.TEST:
        return None
    if kind is UnitKind.LAB:
        lab = module.lab(unit_id)
        return lab.lesson_id if lab else None
    quiz = module.assessment(unit_id)
    return quiz.lesson_id if quiz else None


def _activity_id(ids: ActivityIds, module: Module, kind: UnitKind, unit_id: str) -> str:
    if kind is UnitKind.LESSON:
        return ids.lesson(module, unit_id)
    if kind is UnitKind.LAB:
        return ids.lab(module, unit_id)
    return ids.assessment(module, unit_id)


def package_units(module: Module, ids: ActivityIds) -> tuple[PackageUnit, ...]:
    """The module's units in its order, as the package's SCOs or AUs."""
    return tuple(
        PackageUnit(
            kind=unit.kind,
            id=unit.id,
            title=module.title_of(unit.id),
            activity_id=_activity_id(ids, module, unit.kind, unit.id),
            lesson_id=_lesson_of(module, unit.kind, unit.id),
        )
        for unit in module.units
    )
