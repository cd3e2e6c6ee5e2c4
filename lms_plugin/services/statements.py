"""A learner's xAPI statements, queued in the outbox in the same transaction as what they record (an answer, an
attempt started or submitted, a lesson read, a lab exchange, a certificate issued), so a statement exists exactly
when its event does. Who and where come from the launch: the actor is the LMS account (issuer, ``sub``), never the
e-mail unless the admin allows it; the LMS course, deployment and resource link travel as context."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from assessments.attempt import Attempt, RecordedAnswer
from assessments.scoring import Result
from content import AssessmentKind, Lab, Module
from exports.xapi import ActivityIds, Learner, Statements, Where
from lms_plugin.clock import Clock
from lms_plugin.config import XapiSettings
from lms_plugin.lti.sessions import ToolSession
from lms_plugin.models import Course, LabExchangeRow, Platform
from lms_plugin.outbox.store import Outbox
from lms_plugin.services.certificates import IssuedCertificate
from lms_plugin.xapi.lrs import LrsDirectory
from lms_plugin.xapi.store import queue_statement

# Lessons have no attempt: their registration is derived from the learner's work on the module in the course.
_RECORD_NAMESPACE = uuid.UUID("5b0f3d2e-8c41-4d6a-9a57-0e0b7b1c9f21")


class StatementLog:
    def __init__(self, session: Session, module: Module, clock: Clock, tool: ToolSession, policy: XapiSettings) -> None:
        self.session = session
        self.clock = clock
        self.tool = tool
        self.policy = policy
        self.statements = Statements(ActivityIds(policy.activity_base), module)
        self.module_id = module.id
        context = tool.context
        course = session.get(Course, tool.course_id)
        assert course is not None
        self.platform_id = course.platform_id
        platform = session.get(Platform, course.platform_id) if course.platform_id is not None else None
        with_email = LrsDirectory(policy).actor_email(session, course.platform_id)
        self.who = Learner(context.issuer, context.sub, context.name, context.email if with_email else None)
        self.where = Where(
            issuer=context.issuer,
            platform_name=platform.name if platform else context.platform_product,
            deployment_id=context.deployment_id,
            context_id=context.context_id,
            context_scope_id=course.context_id,
            context_title=context.context_title,
            resource_link_id=context.resource_link_id,
        )

    def _queue(self, statement: dict[str, Any]) -> None:
        queue_statement(Outbox(self.session, self.clock.now()), statement, self.platform_id, self.tool.learner_id)

    # Attempts (the AttemptEvents of the attempt service)
    def started(self, attempt: Attempt) -> None:
        self._queue(self.statements.attempted(self.who, self.where, attempt.id, attempt.assessment_id,
                                              attempt.started_at))  # fmt: skip

    def answered(self, attempt: Attempt, answer: RecordedAnswer) -> None:
        self._queue(
            self.statements.answered(
                self.who, self.where, attempt.id, attempt.assessment_id, answer.question_id, answer.option_id,
                answer.correct, answer.revision, answer.recorded_at,
            )
        )  # fmt: skip

    def submitted(self, attempt: Attempt, outcome: Result) -> None:
        assert attempt.submitted_at is not None
        for statement in self.statements.finished(
            self.who, self.where, attempt.id, attempt.assessment_id, outcome.score.correct, outcome.score.total,
            outcome.passed if attempt.kind is AssessmentKind.TEST else None,
            attempt.submitted_at - attempt.started_at, attempt.submitted_at,
        ):  # fmt: skip
            self._queue(statement)

    def lesson_read(self, lesson_id: str, at: datetime) -> None:
        key = "|".join((self.who.issuer, self.who.sub, self.where.context_scope_id, self.module_id))
        registration = str(uuid.uuid5(_RECORD_NAMESPACE, key))
        self._queue(self.statements.experienced(self.who, self.where, registration, lesson_id, at))

    # Labs (the LabEvents of the lab service)
    def lab_started(self, lab: Lab, attempt_id: str) -> None:
        self._queue(self.statements.lab_started(self.who, self.where, attempt_id, lab.id, self.clock.now()))

    def lab_exchange(self, lab: Lab, attempt_id: str, turn: int, row: LabExchangeRow) -> None:
        assert row.replied_at is not None
        self._queue(
            self.statements.lab_exchange(
                self.who, self.where, attempt_id, lab.id, turn, row.learner_message, row.assistant_reply or "",
                row.response_model or "", row.provider or "", row.input_tokens, row.output_tokens,
                row.latency_ms or 0.0, row.fallback_reason, self.policy.lab_text, row.replied_at,
            )
        )  # fmt: skip

    def lab_completed(self, lab: Lab, attempt_id: str) -> None:
        self._queue(self.statements.lab_completed(self.who, self.where, attempt_id, lab.id, self.clock.now()))

    # Certificates (the CertificateEvents of the certificate issuer)
    def certificate_issued(self, certificate: IssuedCertificate) -> None:
        self._queue(
            self.statements.earned(
                self.who, self.where, certificate.attempt_id, certificate.id, certificate.score_correct,
                certificate.score_total, certificate.issued_at,
            )
        )  # fmt: skip
