"""An instructor's reset of a student's module-test attempt: the attempt is removed (it no longer counts
towards the limit or the score), the change is audited, a certificate it earned is revoked, and the gradebook
gets the score the remaining attempts earn (or an empty cell when none remain)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from content import Module
from lms_plugin.clock import Clock
from lms_plugin.grades.sync import GradeSync, GradeTarget
from lms_plugin.lti.context import LaunchContext
from lms_plugin.models import AttemptRow, LaunchSession, Learner
from lms_plugin.services.certificates import CertificateRegistry
from lms_plugin.services.course_settings import RESET_ATTEMPT, CourseSettingsService, SettingsError


def reset_latest_attempt(
    session: Session, module: Module, clock: Clock, *, course_id: int, learner_id: int, actor: str
) -> None:
    settings = CourseSettingsService(session, module, clock.now())
    record = settings.record(course_id, learner_id)
    learner = session.get(Learner, learner_id)
    student = (learner.name or learner.sub) if learner else str(learner_id)
    attempt = session.scalar(
        select(AttemptRow)
        .where(AttemptRow.record_id == record.id, AttemptRow.assessment_id == module.test.id)
        .order_by(AttemptRow.number.desc())
        .limit(1)
    )
    if attempt is None:
        raise SettingsError(f"{student} has no module-test attempt to reset.")
    score = f"{attempt.score_correct}/{attempt.score_total}" if attempt.submitted_at else "not submitted"
    attempt_id, number = attempt.id, attempt.number
    session.delete(attempt)
    session.flush()
    CertificateRegistry(session, clock.now()).revoke_attempt(
        attempt_id, "the module-test attempt that earned it was reset by an instructor", actor
    )
    settings.audit_change(course_id, actor, RESET_ATTEMPT, f"attempt {number} ({score}) removed", learner_id)
    latest = session.scalar(
        select(LaunchSession.context)
        .where(LaunchSession.learner_id == learner_id, LaunchSession.course_id == course_id)
        .order_by(LaunchSession.created_at.desc())
        .limit(1)
    )
    if latest is None or learner is None:
        return
    gradable = LaunchContext.from_json(latest).is_learner
    target = GradeTarget(course_id, learner_id, record.id, learner.sub, gradable)
    GradeSync(session, module, clock, target).rescore(module.test, key=f"reset:{attempt_id}")
