"""The instructor's view of a course: every student's progress, scores and gradebook sync, the labs' token use
and cost, the test's questions, and the score distribution. Students come from the platform's roster (NRPS)
and from launches, so students who never launched are listed too."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content import Module
from lms_plugin.lti.quirks import CANVAS_TEST_USER_ROLE
from lms_plugin.lti.roles import Role, map_roles
from lms_plugin.models import (
    AnswerRow,
    AttemptRow,
    Course,
    LabAttemptRow,
    LabExchangeRow,
    Learner,
    LessonView,
    ModuleRecord,
    OutboxMessage,
    Placement,
    RosterMember,
)
from lms_plugin.outbox.store import Status


@dataclass(frozen=True)
class SyncState:
    message_id: int
    placement: str
    status: str
    reason: str | None


@dataclass
class StudentRow:
    user_id: str
    name: str
    launched: bool = False
    learner_id: int | None = None
    lessons_read: int = 0
    quiz_best: dict[str, int] = field(default_factory=dict)
    test_attempts: int = 0
    test_best: int | None = None
    test_latest: int | None = None
    passed: bool = False
    syncs: list[SyncState] = field(default_factory=list)
    labs_complete: int = 0
    lab_exchanges: int = 0
    lab_input_tokens: int = 0
    lab_output_tokens: int = 0
    lab_cost: float = 0.0


@dataclass(frozen=True)
class QuestionStat:
    number: int
    stem: str
    answered: int
    share_correct: Fraction | None
    top_wrong: str | None
    top_wrong_count: int


@dataclass(frozen=True)
class Dashboard:
    students: list[StudentRow]
    questions: list[QuestionStat]
    distribution: list[int]  # how many students have each best test score, 0..max
    test_total: int

    @property
    def lab_totals(self) -> StudentRow:
        total = StudentRow("", "All students")
        for s in self.students:
            total.labs_complete += s.labs_complete
            total.lab_exchanges += s.lab_exchanges
            total.lab_input_tokens += s.lab_input_tokens
            total.lab_output_tokens += s.lab_output_tokens
            total.lab_cost += s.lab_cost
        return total


class DashboardService:
    def __init__(self, session: Session, module: Module) -> None:
        self.session = session
        self.module = module

    def build(self, course: Course) -> Dashboard:
        students: dict[str, StudentRow] = {}
        for member in self.session.scalars(select(RosterMember).where(RosterMember.course_id == course.id)):
            roles = map_roles(member.roles)
            # Staff and Canvas's test student are not students of the class.
            staff = bool(roles & {Role.INSTRUCTOR, Role.ADMINISTRATOR}) or CANVAS_TEST_USER_ROLE in member.roles
            if Role.LEARNER in roles and not staff and member.status == "Active":
                students[member.user_id] = StudentRow(member.user_id, member.name or member.user_id)
        records = self.session.execute(
            select(ModuleRecord.id, Learner.id, Learner.sub, Learner.name)
            .join(Learner, Learner.id == ModuleRecord.learner_id)
            .where(ModuleRecord.course_id == course.id, ModuleRecord.module_id == self.module.id)
        ).all()
        by_record: dict[int, StudentRow] = {}
        by_learner: dict[int, StudentRow] = {}
        for record_id, learner_id, sub, name in records:
            row = students.get(sub)
            if row is None:
                continue  # not a student of this course's roster (an instructor, or no roster yet: see below)
            row.launched = True
            row.learner_id = learner_id
            row.name = name or row.name
            by_record[record_id] = by_learner[learner_id] = row
        if not students:  # no roster from the LMS: fall back to everyone who launched as a learner
            for record_id, learner_id, sub, name in records:
                row = students.setdefault(sub, StudentRow(sub, name or sub, launched=True, learner_id=learner_id))
                by_record[record_id] = by_learner[learner_id] = row
        self._progress(by_record)
        self._labs(by_record)
        self._syncs(course, by_learner)
        questions, distribution = self._test_statistics(list(by_record))
        ordered = sorted(students.values(), key=lambda s: s.name.lower())
        return Dashboard(ordered, questions, distribution, len(self.module.test.questions))

    def _labs(self, by_record: dict[int, StudentRow]) -> None:
        if not by_record:
            return
        done = self.session.execute(
            select(LabAttemptRow.record_id, func.count())
            .where(LabAttemptRow.record_id.in_(by_record), LabAttemptRow.completed_at.is_not(None))
            .group_by(LabAttemptRow.record_id)
        )
        for record_id, count in done:
            by_record[record_id].labs_complete = int(count)
        usage = self.session.execute(
            select(
                LabAttemptRow.record_id,
                func.count(LabExchangeRow.id),
                func.coalesce(func.sum(LabExchangeRow.input_tokens), 0),
                func.coalesce(func.sum(LabExchangeRow.output_tokens), 0),
                func.coalesce(func.sum(LabExchangeRow.cost), 0.0),
            )
            .join(LabExchangeRow, LabExchangeRow.attempt_id == LabAttemptRow.id)
            .where(LabAttemptRow.record_id.in_(by_record), LabExchangeRow.status == "done")
            .group_by(LabAttemptRow.record_id)
        )
        for record_id, exchanges, tokens_in, tokens_out, cost in usage:
            row = by_record[record_id]
            row.lab_exchanges, row.lab_input_tokens, row.lab_output_tokens = (
                int(exchanges),
                int(tokens_in),
                int(tokens_out),
            )
            row.lab_cost = float(cost)

    def _progress(self, by_record: dict[int, StudentRow]) -> None:
        if not by_record:
            return
        reads = self.session.execute(
            select(LessonView.record_id, func.count())
            .where(LessonView.record_id.in_(by_record))
            .group_by(LessonView.record_id)
        )
        for record_id, count in reads:
            by_record[record_id].lessons_read = int(count)
        attempts = self.session.scalars(
            select(AttemptRow).where(AttemptRow.record_id.in_(by_record)).order_by(AttemptRow.number)
        )
        for attempt in attempts:
            row = by_record[attempt.record_id]
            if attempt.assessment_id == self.module.test.id:
                row.test_attempts += 1
            if attempt.submitted_at is None or attempt.score_correct is None:
                continue
            if attempt.assessment_id == self.module.test.id:
                row.test_latest = attempt.score_correct
                row.test_best = max(row.test_best or 0, attempt.score_correct)
                row.passed = row.passed or bool(attempt.passed)
            else:
                row.quiz_best[attempt.assessment_id] = max(
                    row.quiz_best.get(attempt.assessment_id, 0), attempt.score_correct
                )

    def _syncs(self, course: Course, by_learner: dict[int, StudentRow]) -> None:
        placements = {
            p.id: p.title or p.unit
            for p in self.session.scalars(select(Placement).where(Placement.course_id == course.id))
        }
        if not by_learner or not placements:
            return
        messages = self.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == "ags",
                OutboxMessage.learner_id.in_(by_learner),
                OutboxMessage.status != Status.SUPERSEDED,
            )
            .order_by(OutboxMessage.id)
        )
        latest: dict[str, OutboxMessage] = {}
        for message in messages:
            latest[message.ordering_key] = message  # the newest per gradebook column
        for message in latest.values():
            placement_id = int(message.ordering_key.split(":")[1])
            if placement_id in placements and message.learner_id in by_learner:
                by_learner[message.learner_id].syncs.append(
                    SyncState(message.id, placements[placement_id], message.status, message.last_error)
                )

    def _test_statistics(self, record_ids: list[int]) -> tuple[list[QuestionStat], list[int]]:
        test = self.module.test
        attempts = self.session.scalars(
            select(AttemptRow).where(
                AttemptRow.record_id.in_(record_ids),
                AttemptRow.assessment_id == test.id,
                AttemptRow.submitted_at.is_not(None),
            )
        ).all()
        best: dict[int, int] = defaultdict(int)
        for attempt in attempts:
            best[attempt.record_id] = max(best[attempt.record_id], attempt.score_correct or 0)
        distribution = [0] * (len(test.questions) + 1)
        for score in best.values():
            distribution[score] += 1
        final: dict[tuple[str, str], AnswerRow] = {}
        answers = self.session.scalars(
            select(AnswerRow).where(AnswerRow.attempt_id.in_([a.id for a in attempts])).order_by(AnswerRow.id)
        )
        for answer in answers:
            final[answer.attempt_id, answer.question_id] = answer  # the last revision counts
        by_question: dict[str, list[AnswerRow]] = defaultdict(list)
        for (_, question_id), answer in final.items():
            by_question[question_id].append(answer)
        stats = []
        for number, question in enumerate(test.questions, 1):
            given = by_question.get(question.id, [])
            wrong = Counter(a.option_id for a in given if not a.correct).most_common(1)
            option = question.option(wrong[0][0]) if wrong else None
            stats.append(
                QuestionStat(
                    number=number,
                    stem=question.stem,
                    answered=len(given),
                    share_correct=Fraction(sum(a.correct for a in given), len(given)) if given else None,
                    top_wrong=option.text if option else None,
                    top_wrong_count=wrong[0][1] if wrong else 0,
                )
            )
        return stats, distribution
