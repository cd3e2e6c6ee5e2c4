"""Per-placement settings over the module's defaults, per-student extra attempts, and their audit trail."""

import dataclasses
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.grading import ScorePolicy
from content import Module, ModuleSettings, ShowCorrectAnswers
from lms_plugin.models import AttemptGrant, InstructorAudit, ModuleRecord, PlacementSettings


class SettingsError(Exception):
    """A setting an instructor asked for that cannot be applied, with the reason."""


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

    def audit_change(self, course_id: int, actor: str, action: str, detail: str) -> None:
        self.session.add(InstructorAudit(course_id=course_id, actor=actor, action=action, detail=detail, at=self.now))

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

    def grant_attempt(self, course_id: int, learner_id: int, student: str, actor: str) -> None:
        record = self.record(course_id, learner_id)
        self.session.add(AttemptGrant(learner_id=learner_id, record_id=record.id, extra=1, granted_at=self.now))
        self.audit_change(course_id, actor, "extra attempt", f"one more module-test attempt for {student}")

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

    def audit(self, course_id: int) -> list[InstructorAudit]:
        return list(
            self.session.scalars(
                select(InstructorAudit)
                .where(InstructorAudit.course_id == course_id)
                .order_by(InstructorAudit.id.desc())
            )
        )
