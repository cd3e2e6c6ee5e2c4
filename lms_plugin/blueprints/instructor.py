"""The instructor dashboard: a course's students (from the LMS roster and launches), their progress and
gradebook sync with "resend", the test's questions and score distribution, and a CSV export.

Only an Instructor, TA or Administrator of that course gets in; a learner's session gets 403."""

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from assessments.grading import ScorePolicy
from content import ShowCorrectAnswers
from lms_plugin import wiring
from lms_plugin.blueprints.student import student_url, token_from_request
from lms_plugin.charts import bars
from lms_plugin.delivery import service_client
from lms_plugin.lti.sessions import SessionService, ToolSession
from lms_plugin.models import Course, Learner, OutboxMessage, Placement
from lms_plugin.outbox.store import Outbox
from lms_plugin.services.attempt_resets import reset_latest_attempt
from lms_plugin.services.certificates import CertificateError, CertificateRegistry
from lms_plugin.services.course_settings import (
    REVOKE_CERTIFICATE,
    CourseSettingsService,
    PlacementChoice,
    SettingsError,
)
from lms_plugin.services.dashboard import Dashboard, DashboardService
from lms_plugin.services.roster import RosterService

blueprint = Blueprint("instructor", __name__, url_prefix="/instructor")


@dataclass
class _Request:
    session: Session
    tool: ToolSession
    course: Course


@contextmanager
def _instructor() -> Iterator[_Request]:
    with wiring.transaction() as session:
        token = token_from_request()
        tool = SessionService(session, wiring.settings().secret_key, wiring.clock().now()).resolve(token)
        if not tool.context.is_instructor:
            abort(
                403, description="Only the course's instructors, teaching assistants and administrators see this page."
            )
        g.token = token
        course = session.get(Course, tool.course_id)
        if course is None:
            abort(404, description="This course is no longer known to the tool.")
        yield _Request(session, tool, course)


def _dashboard(r: _Request) -> tuple[Dashboard, str | None]:
    problem = RosterService(
        r.session, service_client(current_app), wiring.platform_directory(), wiring.clock().now()
    ).refresh(r.course)
    return DashboardService(r.session, wiring.module()).build(r.course), problem


@blueprint.get("/")
def dashboard() -> str:
    module = wiring.module()
    with _instructor() as r:
        data, roster_problem = _dashboard(r)
        course_title = r.course.title
        settings = CourseSettingsService(r.session, module, wiring.clock().now())
        choice = settings.choice(r.tool.placement_id)
        audit = settings.audit(r.course.id)
        certificates = CertificateRegistry(r.session, wiring.clock().now()).of_course(r.course.id)
    question_bars = bars(
        [
            (str(q.number), float(q.share_correct or 0), f"{round(float(q.share_correct or 0) * 100)}%")
            for q in data.questions
        ],
        1.0,
    )
    most = max(data.distribution, default=0)
    distribution_bars = bars([(str(score), float(n), str(n)) for score, n in enumerate(data.distribution)], most or 1)
    return render_template(
        "instructor/dashboard.html",
        module=module,
        choice=choice,
        audit=audit,
        policies=list(ScorePolicy),
        reveal_options=list(ShowCorrectAnswers),
        course_title=course_title,
        data=data,
        roster_problem=roster_problem,
        question_bars=question_bars,
        distribution_bars=distribution_bars,
        certificates=certificates,
    )


@blueprint.get("/export.csv")
def export() -> Response:
    module = wiring.module()
    with _instructor() as r:
        data, _ = _dashboard(r)
    out = io.StringIO()
    writer = csv.writer(out)
    quizzes = [q.id for q in module.quizzes]
    writer.writerow(
        ["name", "user id", "launched", "lessons read", *quizzes, "test attempts", "test best", "test latest", "passed"]
    )
    for s in data.students:
        writer.writerow(
            [
                s.name,
                s.user_id,
                "yes" if s.launched else "no",
                s.lessons_read,
                *[s.quiz_best.get(q, "") for q in quizzes],
                s.test_attempts,
                "" if s.test_best is None else s.test_best,
                "" if s.test_latest is None else s.test_latest,
                "yes" if s.passed else "no",
            ]
        )
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="tracebook-class.csv"'
    return response


def _actor(tool: ToolSession) -> str:
    return tool.context.name or tool.context.sub


@blueprint.post("/settings")
def update_settings() -> WerkzeugResponse:
    """This placement's test attempts, when right answers are shown, and which score the gradebook gets."""
    form = request.form
    with _instructor() as r:  # who asks comes first: a stranger learns nothing from form errors
        try:
            choice = PlacementChoice(
                test_attempts=int(form.get("test_attempts", "")),
                show_correct_answers=ShowCorrectAnswers(form.get("show_correct_answers", "")),
                score_policy=ScorePolicy(form.get("score_policy", "")),
            )
        except ValueError:
            abort(400, description="Choose a number of attempts, when to show right answers, and which score counts.")
        try:
            CourseSettingsService(r.session, wiring.module(), wiring.clock().now()).update(
                r.course.id, r.tool.placement_id, choice, _actor(r.tool)
            )
        except SettingsError as error:
            abort(400, description=str(error))
    return redirect(student_url("instructor.dashboard", _anchor="settings"), code=303)


@blueprint.post("/students/<int:learner_id>/extra-attempt")
def extra_attempt(learner_id: int) -> WerkzeugResponse:
    with _instructor() as r:
        learner = r.session.get(Learner, learner_id)
        if learner is None:
            abort(404, description="No such student.")
        try:
            CourseSettingsService(r.session, wiring.module(), wiring.clock().now()).grant_attempt(
                r.course.id, learner_id, _actor(r.tool)
            )
        except SettingsError as error:
            abort(404, description=str(error))
    return redirect(student_url("instructor.dashboard", _anchor="students-heading"), code=303)


@blueprint.post("/students/<int:learner_id>/reset-attempt")
def reset_attempt(learner_id: int) -> WerkzeugResponse:
    with _instructor() as r:
        try:
            reset_latest_attempt(
                r.session, wiring.module(), wiring.clock(), course_id=r.course.id, learner_id=learner_id,
                actor=_actor(r.tool),
            )  # fmt: skip
        except SettingsError as error:
            abort(404, description=str(error))
    return redirect(student_url("instructor.dashboard", _anchor="students-heading"), code=303)


@blueprint.post("/certificates/<certificate_id>/revoke")
def revoke_certificate(certificate_id: str) -> WerkzeugResponse:
    with _instructor() as r:
        registry = CertificateRegistry(r.session, wiring.clock().now())
        row = registry.row(certificate_id)
        try:
            revoked = registry.revoke(certificate_id, request.form.get("reason", ""), _actor(r.tool), r.course.id)
        except CertificateError as error:
            abort(400, description=str(error))
        CourseSettingsService(r.session, wiring.module(), wiring.clock().now()).audit_change(
            r.course.id, _actor(r.tool), REVOKE_CERTIFICATE, f"{revoked.id} revoked: {revoked.revoked_reason}",
            subject_learner_id=row.learner_id if row is not None else None,
        )  # fmt: skip
    return redirect(student_url("instructor.dashboard", _anchor="certificates"), code=303)


@blueprint.post("/sync/<int:message_id>/resend")
def resend(message_id: int) -> WerkzeugResponse:
    with _instructor() as r:
        message = r.session.get(OutboxMessage, message_id)
        placement = message and r.session.get(Placement, int(message.ordering_key.split(":")[1]))
        if message is None or placement is None or placement.course_id != r.course.id:
            abort(404, description="That gradebook message does not belong to this course.")
        Outbox(r.session, wiring.clock().now()).resend([message_id])
    return redirect(student_url("instructor.dashboard", _anchor="sync"), code=303)
