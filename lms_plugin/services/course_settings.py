"""Per-placement settings over the module's defaults, per-student extra attempts, and their audit trail.

An audit entry about a student refers to them by id (``subject_learner_id``) and its text leaves them out: the
trail names them when it is shown, so two students with one name are never confused, and erasing one leaves the
entry saying what was done to "(an erased learner)"."""

import dataclasses
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.grading import ScorePolicy
from content import Module, ModuleSettings, ShowCorrectAnswers
from lms_plugin.models import AttemptGrant, InstructorAudit, Learner, ModuleRecord, PlacementSettings

EXTRA_ATTEMPT = "extra attempt"
RESET_ATTEMPT = "reset attempt"
REVOKE_CERTIFICATE = "revoke certificate"
# How an entry about a student reads once the student is named in it.
ABOUT_A_STUDENT = {
    EXTRA_ATTEMPT: "{detail} for {student}",
    RESET_ATTEMPT: "{student}'s {detail}",
    REVOKE_CERTIFICATE: "{student}'s certificate {detail}",
}
# How the trail (and a certificate's "revoked by") names a person whose data was erased since.
ERASED_NAME = "(an erased learner)"


class SettingsError(Exception):
    """A setting an instructor asked for that cannot be applied, with the reason."""


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """An entry of a course's audit trail as instructors read it."""

    at: datetime
    actor: str
    action: str
    detail: str  # with the student it is about named


@dataclasses.dataclass(frozen=True)
class PlacementChoice:
    test_attempts: int
    show_correct_answers: ShowCorrectAnswers
    score_policy: ScorePolicy


class CourseSettingsService:
    def __init__(self, session: Session, module: Module, now: datetime) -> None:
        self.session = session
        self.module = module
        self.now = now

    def choice(self, placement_id: int) -> PlacementChoice:
        row = self.session.get(PlacementSettings, placement_id)
        defaults = self.module.settings
        return PlacementChoice(
            test_attempts=row.test_attempts if row and row.test_attempts else defaults.test_attempts,
            show_correct_answers=ShowCorrectAnswers(row.show_correct_answers)
            if row and row.show_correct_answers
            else defaults.review.show_correct_answers,
            score_policy=ScorePolicy(row.score_policy) if row and row.score_policy else ScorePolicy.BEST,
        )

    def effective(self, placement_id: int, record_id: int) -> ModuleSettings:
        """The module settings as this student meets them in this placement (with their extra attempts)."""
        choice = self.choice(placement_id)
        extra = self.session.scalar(
            select(func.coalesce(func.sum(AttemptGrant.extra), 0)).where(AttemptGrant.record_id == record_id)
        )
        defaults = self.module.settings
        return dataclasses.replace(
            defaults,
            test_attempts=choice.test_attempts + int(extra or 0),
            review=dataclasses.replace(defaults.review, show_correct_answers=choice.show_correct_answers),
        )

    def audit_change(
        self, course_id: int, actor: str, action: str, detail: str, subject_learner_id: int | None = None
    ) -> None:
        self.session.add(
            InstructorAudit(
                course_id=course_id, actor=actor, action=action, detail=detail, at=self.now,
                subject_learner_id=subject_learner_id,
            )
        )  # fmt: skip

    def update(self, course_id: int, placement_id: int, choice: PlacementChoice, actor: str) -> None:
        if not 1 <= choice.test_attempts <= 20:
            raise SettingsError("Test attempts must be from 1 to 20.")
        row = self.session.get(PlacementSettings, placement_id)
        if row is None:
            row = PlacementSettings(placement_id=placement_id, updated_at=self.now)
            self.session.add(row)
        before = self.choice(placement_id)
        row.test_attempts = choice.test_attempts
        row.show_correct_answers = str(choice.show_correct_answers)
        row.score_policy = str(choice.score_policy)
        row.updated_at = self.now
        changes = [
            f"{name}: {getattr(before, name)} → {getattr(choice, name)}"
            for name in ("test_attempts", "show_correct_answers", "score_policy")
            if getattr(before, name) != getattr(choice, name)
        ]
        if changes:
            self.audit_change(course_id, actor, "settings", "; ".join(changes))

    def grant_attempt(self, course_id: int, learner_id: int, actor: str) -> None:
        record = self.record(course_id, learner_id)
        self.session.add(AttemptGrant(learner_id=learner_id, record_id=record.id, extra=1, granted_at=self.now))
        self.audit_change(course_id, actor, EXTRA_ATTEMPT, "one more module-test attempt", learner_id)

    def record(self, course_id: int, learner_id: int) -> ModuleRecord:
        record = self.session.scalar(
            select(ModuleRecord).where(
                ModuleRecord.course_id == course_id,
                ModuleRecord.learner_id == learner_id,
                ModuleRecord.module_id == self.module.id,
            )
        )
        if record is None:
            raise SettingsError("That student has not opened the module in this course yet.")
        return record

    def audit(self, course_id: int) -> list[AuditEntry]:
        """The course's trail, newest first."""
        rows = self.session.execute(
            select(InstructorAudit, Learner.name, Learner.sub)
            .outerjoin(Learner, Learner.id == InstructorAudit.subject_learner_id)
            .where(InstructorAudit.course_id == course_id)
            .order_by(InstructorAudit.id.desc())
        ).all()
        entries = []
        for entry, name, sub in rows:
            detail = entry.detail
            if entry.action in ABOUT_A_STUDENT:
                student = (name or sub) if entry.subject_learner_id is not None else ERASED_NAME
                detail = ABOUT_A_STUDENT[entry.action].format(detail=detail, student=student)
            entries.append(AuditEntry(entry.at, entry.actor, entry.action, detail))
        return entries
