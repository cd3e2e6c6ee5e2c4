"""Builders for functional tests: a learner's module record in a course, made through the real services."""

from sqlalchemy.orm import Session

from lms_plugin.models import ModuleRecord
from lms_plugin.services.records import CourseIdentity, LearnerIdentity, RecordService
from tests.conftest import FrozenClock

ISSUER = "https://canvas.test.instructure.com"


def make_record(
    session: Session,
    clock: FrozenClock,
    *,
    sub: str = "student-1",
    context_id: str | None = "course-101",
    resource_link_id: str = "link-1",
    module_id: str = "tracing-llm-calls",
) -> ModuleRecord:
    records = RecordService(session, clock)
    learner = records.learner(LearnerIdentity(issuer=ISSUER, sub=sub, name="Ada Lovelace"))
    course = records.course(
        CourseIdentity(issuer=ISSUER, deployment_id="dep-1", context_id=context_id, resource_link_id=resource_link_id)
    )
    return records.module_record(learner, course, module_id)
