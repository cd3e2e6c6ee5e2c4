"""A learner's progress through the module: lessons read, quiz and test results, labs done, what comes next."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from content import AssessmentKind, Module, UnitKind
from lms_plugin.clock import Clock
from lms_plugin.models import AttemptRow, LabAttemptRow, LessonView


@dataclass(frozen=True)
class AssessmentProgress:
    attempts: int
    best_correct: int | None  # over submitted attempts
    latest_correct: int | None
    total: int
    passed: bool
    in_progress: bool


@dataclass(frozen=True)
class UnitProgress:
    kind: UnitKind
    id: str
    title: str
    done: bool
    detail: str


@dataclass(frozen=True)
class Overview:
    units: tuple[UnitProgress, ...]
    done: int
    total: int
    test: AssessmentProgress
    attempts_allowed: int


class ProgressService:
    def __init__(self, session: Session, module: Module, clock: Clock) -> None:
        self.session = session
        self.module = module
        self.clock = clock

    def mark_lesson_read(self, record_id: int, learner_id: int, lesson_id: str) -> bool:
        """Record the first read of a lesson; True when this is it."""
        exists = self.session.scalar(
            select(LessonView.id).where(LessonView.record_id == record_id, LessonView.lesson_id == lesson_id)
        )
        if exists is not None:
            return False
        self.session.add(
            LessonView(
                learner_id=learner_id, record_id=record_id, lesson_id=lesson_id, first_viewed_at=self.clock.now()
            )
        )
        self.session.flush()
        return True

    def assessments(self, record_id: int) -> dict[str, AssessmentProgress]:
        rows = self.session.scalars(
            select(AttemptRow).where(AttemptRow.record_id == record_id).order_by(AttemptRow.number)
        ).all()
        found = {}
        for assessment in (*self.module.quizzes, self.module.test):
            mine = [r for r in rows if r.assessment_id == assessment.id]
            submitted = [r for r in mine if r.submitted_at is not None]
            found[assessment.id] = AssessmentProgress(
                attempts=len(mine),
                best_correct=max((r.score_correct or 0 for r in submitted), default=None),
                latest_correct=submitted[-1].score_correct if submitted else None,
                total=len(assessment.questions),
                passed=any(r.passed for r in submitted),
                in_progress=any(r.submitted_at is None for r in mine),
            )
        return found

    def overview(self, record_id: int) -> Overview:
        read = set(self.session.scalars(select(LessonView.lesson_id).where(LessonView.record_id == record_id)).all())
        results = self.assessments(record_id)
        labs = {
            row.lab_id: row.completed_at is not None
            for row in self.session.scalars(select(LabAttemptRow).where(LabAttemptRow.record_id == record_id))
        }
        units = []
        for unit in self.module.units:
            title = self.module.title_of(unit.id)
            if unit.kind is UnitKind.LESSON:
                units.append(UnitProgress(unit.kind, unit.id, title, unit.id in read, _read(unit.id in read)))
            elif unit.kind is UnitKind.LAB:
                state = labs.get(unit.id)
                detail = "Not started" if state is None else "Complete" if state else "In progress"
                units.append(UnitProgress(unit.kind, unit.id, title, bool(state), detail))
            else:
                kind = AssessmentKind.TEST if unit.kind is UnitKind.TEST else AssessmentKind.QUIZ
                units.append(UnitProgress(unit.kind, unit.id, title, *_status(kind, results[unit.id])))
        done = sum(u.done for u in units)
        return Overview(
            units=tuple(units),
            done=done,
            total=len(units),
            test=results[self.module.test.id],
            attempts_allowed=self.module.settings.test_attempts,
        )


def _read(read: bool) -> str:
    return "Read" if read else "Not read yet"


def _status(kind: AssessmentKind, progress: AssessmentProgress) -> tuple[bool, str]:
    if progress.best_correct is None:
        return False, "In progress" if progress.in_progress else "Not started"
    best = f"best {progress.best_correct}/{progress.total}"
    if kind is AssessmentKind.TEST:
        return progress.passed, ("Passed, " if progress.passed else "Not passed yet, ") + best
    return True, f"Completed, {best}"
