"""Whose data: find or create the learner, the course and their module record for a launch."""

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.clock import Clock
from lms_plugin.models import Course, Learner, ModuleRecord


class RecordKey(Protocol):
    """What services need of a module record: its id and its learner (a ModuleRecord row or a RecordRef)."""

    @property
    def id(self) -> int: ...

    @property
    def learner_id(self) -> int: ...


@dataclass(frozen=True)
class RecordRef:
    id: int
    learner_id: int


@dataclass(frozen=True)
class LearnerIdentity:
    issuer: str
    sub: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class CourseIdentity:
    issuer: str
    deployment_id: str
    context_id: str | None  # None when the launch carries no context
    resource_link_id: str
    title: str | None = None

    @property
    def scope_id(self) -> str:
        # Without a context the placement itself is the course: the same link always maps to the same record.
        return self.context_id if self.context_id is not None else f"resource-link:{self.resource_link_id}"


class RecordService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def learner(self, identity: LearnerIdentity) -> Learner:
        learner = self.session.scalar(
            select(Learner).where(Learner.issuer == identity.issuer, Learner.sub == identity.sub)
        )
        if learner is None:
            learner = Learner(issuer=identity.issuer, sub=identity.sub, created_at=self.clock.now())
            self.session.add(learner)
        # The LMS is the source of truth for names: keep what the latest launch said.
        learner.name = identity.name or learner.name
        learner.email = identity.email or learner.email
        self.session.flush()
        return learner

    def course(self, identity: CourseIdentity) -> Course:
        course = self.session.scalar(
            select(Course).where(
                Course.issuer == identity.issuer,
                Course.deployment_id == identity.deployment_id,
                Course.context_id == identity.scope_id,
            )
        )
        if course is None:
            course = Course(
                issuer=identity.issuer,
                deployment_id=identity.deployment_id,
                context_id=identity.scope_id,
                from_launch_context=identity.context_id is not None,
                created_at=self.clock.now(),
            )
            self.session.add(course)
        course.title = identity.title or course.title
        self.session.flush()
        return course

    def module_record(self, learner: Learner, course: Course, module_id: str) -> ModuleRecord:
        record = self.session.scalar(
            select(ModuleRecord).where(
                ModuleRecord.learner_id == learner.id,
                ModuleRecord.course_id == course.id,
                ModuleRecord.module_id == module_id,
            )
        )
        if record is None:
            record = ModuleRecord(
                learner_id=learner.id, course_id=course.id, module_id=module_id, created_at=self.clock.now()
            )
            self.session.add(record)
            self.session.flush()
        return record
