"""Which gradebook column gets what, queued in the outbox in the same transaction as the attempt.

- The module test's score goes to every placement of the whole module or of the test; a quiz's score to
  its own placement when it is placed on its own.
- The score sent is the policy score (best attempt by default), complete and fully graded, and only when it
  changed; before any score exists, Started marks progress. A newer score supersedes an undelivered older one.
- A lab placed on its own is complete or not: Started at its first exchange, 1 of 1 once it is complete.
- Scores are queued for gradable learners only: never for instructors, admins or a platform's test student.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.attempt import Attempt, RecordedAnswer
from assessments.grading import policy_score
from assessments.scoring import Result, Score
from content import Assessment, AssessmentKind, Lab, Module
from lms_plugin.clock import Clock
from lms_plugin.grades.sender import CHANNEL
from lms_plugin.lti.context import WHOLE_MODULE
from lms_plugin.lti.sessions import ToolSession
from lms_plugin.models import AttemptRow, LabExchangeRow, OutboxMessage, Placement, Platform
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.services.course_settings import CourseSettingsService

TAG = "tracebook"


@dataclass(frozen=True)
class GradeTarget:
    """Whose gradebook cells: the learner in a course, their module record and LTI user id."""

    course_id: int
    learner_id: int
    record_id: int
    user_id: str
    gradable: bool  # false for staff and a platform's test student

    @classmethod
    def of(cls, tool: ToolSession) -> "GradeTarget":
        return cls(tool.course_id, tool.learner_id, tool.record_id, tool.context.sub, tool.context.is_learner)


class GradeSync:
    """The attempt events of one learner's session, turned into gradebook messages."""

    def __init__(self, session: Session, module: Module, clock: Clock, target: GradeTarget) -> None:
        self.session = session
        self.module = module
        self.clock = clock
        self.target = target

    def _placements(self, units: set[str]) -> list[tuple[Placement, Platform]]:
        if not self.target.gradable:
            return []
        rows = self.session.execute(
            select(Placement, Platform)
            .join(Platform, Platform.id == Placement.platform_id)
            .where(Placement.course_id == self.target.course_id, Placement.unit.in_(units))
        ).all()
        return [(p, platform) for p, platform in rows if p.ags_lineitem_url or p.ags_lineitems_url]

    def _scores(self, assessment_id: str) -> list[Score]:
        rows = self.session.scalars(
            select(AttemptRow)
            .where(
                AttemptRow.record_id == self.target.record_id,
                AttemptRow.assessment_id == assessment_id,
                AttemptRow.submitted_at.is_not(None),
            )
            .order_by(AttemptRow.number)
        )
        return [Score(row.score_correct or 0, row.score_total or 0) for row in rows]

    def _assessment_placements(self, assessment: Assessment) -> list[tuple[Placement, Platform]]:
        units = {WHOLE_MODULE, assessment.id} if assessment.kind is AssessmentKind.TEST else {assessment.id}
        return self._placements(units)

    def _queue(
        self,
        placement: Placement,
        platform: Platform,
        item: Assessment | Lab,
        payload: dict[str, object],
        key: str,
    ) -> None:
        ordering_key = f"{CHANNEL}:{placement.id}:{self.target.learner_id}"
        latest = self.session.scalar(
            select(OutboxMessage.payload)
            .where(OutboxMessage.ordering_key == ordering_key, OutboxMessage.status != Status.SUPERSEDED)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        if latest == payload:
            return  # the column already has (or is about to get) this score
        label = placement.title or (
            item.title if placement.unit != WHOLE_MODULE else f"{self.module.title}: {item.title}"
        )
        Outbox(self.session, self.clock.now()).enqueue(
            key=key,
            channel=CHANNEL,
            ordering_key=ordering_key,
            supersede=True,
            learner_id=self.target.learner_id,
            destination={
                "issuer": platform.issuer,
                "client_id": platform.client_id,
                "lineitem_url": placement.ags_lineitem_url,
                "lineitems_url": placement.ags_lineitems_url,
                "resource_link_id": placement.resource_link_id,
                "resource_id": f"{self.module.id}/{placement.unit}",
                "tag": TAG,
                "label": label,
                "score_maximum": len(item.questions) if isinstance(item, Assessment) else 1,
                "user_id": self.target.user_id,
            },
            payload=payload,
        )

    def _assessment(self, attempt: Attempt) -> Assessment:
        assessment = self.module.assessment(attempt.assessment_id)
        if assessment is None:
            raise LookupError(f"{attempt.assessment_id} is not in the module")
        return assessment

    def started(self, attempt: Attempt) -> None:
        if self._scores(attempt.assessment_id):
            return  # a score exists: progress must never blank or replace it
        assessment = self._assessment(attempt)
        for placement, platform in self._assessment_placements(assessment):
            self._queue(
                placement,
                platform,
                assessment,
                {"activityProgress": "Started", "gradingProgress": "NotReady"},
                key=f"{CHANNEL}:{placement.id}:{self.target.learner_id}:started:{attempt.id}",
            )

    def answered(self, attempt: Attempt, answer: RecordedAnswer) -> None:
        """An answer alone changes no gradebook cell: the score goes out when the attempt is submitted."""

    def submitted(self, attempt: Attempt, outcome: Result) -> None:
        self.rescore(self._assessment(attempt), key=f"submitted:{attempt.id}")

    def rescore(self, assessment: Assessment, key: str) -> None:
        """Queue the policy score of ``assessment`` again (after a submission, or an attempt an instructor reset)."""
        scores = self._scores(assessment.id)
        if not scores:
            # Every attempt was reset: empty the cells (no scoreGiven) rather than leave a score with no attempt.
            for placement, platform in self._assessment_placements(assessment):
                self._queue(
                    placement,
                    platform,
                    assessment,
                    {"activityProgress": "Initialized", "gradingProgress": "NotReady"},
                    key=f"{CHANNEL}:{placement.id}:{self.target.learner_id}:{key}",
                )
            return
        settings = CourseSettingsService(self.session, self.module, self.clock.now())
        for placement, platform in self._assessment_placements(assessment):
            score = policy_score(scores, settings.choice(placement.id).score_policy)
            assert score is not None
            self._queue(
                placement,
                platform,
                assessment,
                {
                    "scoreGiven": score.correct,
                    "scoreMaximum": score.total,
                    "activityProgress": "Completed",
                    "gradingProgress": "FullyGraded",
                },
                key=f"{CHANNEL}:{placement.id}:{self.target.learner_id}:{key}",
            )

    def _lab_cells(self, lab: Lab, payload: dict[str, object], event: str) -> None:
        for placement, platform in self._placements({lab.id}):
            self._queue(
                placement, platform, lab, payload, key=f"{CHANNEL}:{placement.id}:{self.target.learner_id}:{event}"
            )

    def lab_started(self, lab: Lab, attempt_id: str) -> None:
        self._lab_cells(lab, {"activityProgress": "Started", "gradingProgress": "NotReady"}, f"started:{attempt_id}")

    def lab_exchange(self, lab: Lab, attempt_id: str, turn: int, row: LabExchangeRow) -> None:
        """One exchange changes no gradebook cell: the lab is complete or not."""

    def lab_completed(self, lab: Lab, attempt_id: str) -> None:
        complete = {
            "scoreGiven": 1,
            "scoreMaximum": 1,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
        }
        self._lab_cells(lab, complete, f"completed:{attempt_id}")
