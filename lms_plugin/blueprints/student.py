"""The student's pages: overview with progress, lessons, quizzes with instant feedback, the module test with
its review, and the labs' briefs. The session is the signed token in ``s`` (links and forms) or in an
``Authorization: Bearer`` header (the pages' own fetch calls): no cookies."""

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Blueprint, Response, abort, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from assessments.errors import AssessmentError, UnknownOptionError, UnknownQuestionError
from assessments.review import build_review
from assessments.scoring import pass_mark, result
from content import Assessment, AssessmentKind, ModuleSettings, UnitKind
from content.rendering import lesson_kicker, render_lesson_html
from lms_plugin import wiring
from lms_plugin.grades.sync import GradeSync, GradeTarget
from lms_plugin.lti.context import WHOLE_MODULE
from lms_plugin.lti.sessions import SessionService, ToolSession
from lms_plugin.presenters import quiz_questions, review_questions, test_questions
from lms_plugin.services.attempts import AttemptService
from lms_plugin.services.certificates import CertificateIssuer, CertificateRegistry
from lms_plugin.services.course_settings import CourseSettingsService
from lms_plugin.services.progress import ProgressService
from lms_plugin.services.records import RecordRef
from lms_plugin.services.statements import StatementLog

blueprint = Blueprint("student", __name__, url_prefix="/s")
api = Blueprint("student_api", __name__, url_prefix="/api")


@dataclass
class _Request:
    session: Session
    tool: ToolSession
    record: RecordRef

    @property
    def settings(self) -> ModuleSettings:
        return CourseSettingsService(self.session, wiring.module(), wiring.clock().now()).effective(
            self.tool.placement_id, self.record.id
        )

    @property
    def attempts(self) -> AttemptService:
        grades = GradeSync(self.session, wiring.module(), wiring.clock(), GradeTarget.of(self.tool))
        statements = self.statements
        return AttemptService(
            self.session,
            wiring.module(),
            wiring.clock(),
            events=(grades, statements, self.certificates(statements)),
            settings=self.settings,
        )

    def certificates(self, statements: StatementLog | None = None) -> CertificateIssuer:
        return CertificateIssuer(
            self.session,
            wiring.module(),
            wiring.clock(),
            wiring.settings(),
            self.record.id,
            eligible=self.tool.context.is_learner,
            events=(statements or self.statements,),
        )

    @property
    def statements(self) -> StatementLog:
        return StatementLog(self.session, wiring.module(), wiring.clock(), self.tool, wiring.settings().xapi)

    def certificate_panel(self) -> dict[str, object]:
        """What the overview and the result page show of the student's certificates."""
        registry = CertificateRegistry(self.session, wiring.clock().now())
        return {
            "certificates": registry.of_learner(self.tool.learner_id, self.tool.course_id),
            "needs_name": self.certificates().needs_name(),
        }

    @property
    def progress(self) -> ProgressService:
        return ProgressService(self.session, wiring.module(), wiring.clock())


def token_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return request.values.get("s")


@contextmanager
def student() -> Iterator[_Request]:
    with wiring.transaction() as session:
        token = token_from_request()
        tool = SessionService(session, wiring.settings().secret_key, wiring.clock().now()).resolve(token)
        g.token = token
        yield _Request(session, tool, RecordRef(tool.record_id, tool.learner_id))


def student_url(endpoint: str, **values: object) -> str:
    """A link that carries the session token, for templates (``tb_url``)."""
    return url_for(endpoint, s=g.get("token"), **values)


def neighbours(unit_id: str) -> tuple[str | None, str | None]:
    ids = [unit.id for unit in wiring.module().units]
    index = ids.index(unit_id)
    return (ids[index - 1] if index > 0 else None), (ids[index + 1] if index + 1 < len(ids) else None)


def _assessment(assessment_id: str, kind: AssessmentKind) -> Assessment:
    assessment = wiring.module().assessment(assessment_id)
    if assessment is None or assessment.kind is not kind:
        abort(404, description=f"There is no {kind} '{assessment_id}' in this module.")
    return assessment


@blueprint.get("/<unit>")
def unit(unit: str) -> str:
    module = wiring.module()
    if unit == WHOLE_MODULE:
        with student() as r:
            overview = dataclasses.replace(r.progress.overview(r.record.id), attempts_allowed=r.settings.test_attempts)
            return render_template(
                "student/overview.html", module=module, overview=overview, tool=r.tool, **r.certificate_panel()
            )
    kinds = {u.id: u.kind for u in module.units}
    if unit not in kinds:
        abort(404, description=f"There is no '{unit}' in this module.")
    if kinds[unit] is UnitKind.LAB:
        from lms_plugin.blueprints import labs  # the lab chat has its own module; it builds on this one

        return labs.page(unit)
    views = {UnitKind.LESSON: _lesson, UnitKind.QUIZ: _quiz, UnitKind.TEST: _test}
    return views[kinds[unit]](unit)


def _lesson(lesson_id: str) -> str:
    module = wiring.module()
    lesson = module.lesson(lesson_id)
    assert lesson is not None
    with student() as r:
        if r.progress.mark_lesson_read(r.record.id, r.record.learner_id, lesson_id):
            r.statements.lesson_read(lesson_id, wiring.clock().now())
    previous, following = neighbours(lesson_id)
    return render_template(
        "student/lesson.html",
        module=module,
        lesson=lesson,
        kicker=lesson_kicker(module, lesson),
        article=Markup(render_lesson_html(module, lesson)),
        previous=previous,
        following=following,
    )


def _quiz(quiz_id: str) -> str:
    module = wiring.module()
    quiz = _assessment(quiz_id, AssessmentKind.QUIZ)
    with student() as r:
        history = r.attempts.history(r.record, quiz_id)
        attempt = history[-1] if history and history[-1].is_submitted else r.attempts.resume_or_start(r.record, quiz_id)
        questions = quiz_questions(attempt, quiz)
    previous, following = neighbours(quiz_id)
    return render_template(
        "student/quiz.html",
        module=module,
        quiz=quiz,
        attempt=attempt,
        questions=questions,
        following=following,
        previous=previous,
        score=sum(1 for q in questions if q.correct),
    )


def _test(test_id: str) -> str:
    module = wiring.module()
    test = module.test
    with student() as r:
        history = r.attempts.history(r.record, test_id)
        progress = r.progress.assessments(r.record.id)[test_id]
        settings = r.settings
    current = history[-1] if history and not history[-1].is_submitted else None
    return render_template(
        "student/test.html",
        module=module,
        settings=settings,
        test=test,
        history=history,
        progress=progress,
        attempt=current,
        questions=test_questions(current, test) if current else [],
        attempts_left=max(settings.test_attempts - len(history), 0),
        pass_count=pass_mark(len(test.questions), module.settings.pass_ratio),
    )


@blueprint.post("/quizzes/<quiz_id>/attempts/<attempt_id>")
def answer_quiz(quiz_id: str, attempt_id: str) -> WerkzeugResponse:
    _assessment(quiz_id, AssessmentKind.QUIZ)
    question_id = request.form.get("question", "")
    with student() as r:
        r.attempts.answer(r.record, attempt_id, question_id, _chosen(request.form.get("option")))
    return redirect(student_url("student.unit", unit=quiz_id, _anchor=f"q-{question_id}"), code=303)


@blueprint.post("/quizzes/<quiz_id>/retake")
def retake_quiz(quiz_id: str) -> WerkzeugResponse:
    _assessment(quiz_id, AssessmentKind.QUIZ)
    with student() as r:
        r.attempts.resume_or_start(r.record, quiz_id)
    return redirect(student_url("student.unit", unit=quiz_id), code=303)


@blueprint.post("/test/start")
def start_test() -> WerkzeugResponse:
    test = wiring.module().test
    with student() as r:
        r.attempts.resume_or_start(r.record, test.id)
    return redirect(student_url("student.unit", unit=test.id), code=303)


@blueprint.post("/test/attempts/<attempt_id>")
def save_test(attempt_id: str) -> WerkzeugResponse:
    """Save every choice on the page that changed; with ``action=submit``, then submit the attempt."""
    test = wiring.module().test
    with student() as r:
        attempt = next((a for a in r.attempts.history(r.record, test.id) if a.id == attempt_id), None)
        if attempt is None:
            abort(404, description="That test attempt is not yours.")
        current = attempt.current_answers()
        for question in test.questions:
            chosen = request.form.get(f"q-{question.id}")
            if chosen and (question.id not in current or current[question.id].option_id != chosen):
                r.attempts.answer(r.record, attempt_id, question.id, chosen)
        if request.form.get("action") == "submit":
            r.attempts.submit(r.record, attempt_id)
            return redirect(student_url("student.test_result", attempt_id=attempt_id), code=303)
    return redirect(student_url("student.unit", unit=test.id, saved=1), code=303)


@blueprint.get("/test/attempts/<attempt_id>")
def test_result(attempt_id: str) -> str:
    module = wiring.module()
    test = module.test
    with student() as r:
        history = r.attempts.history(r.record, test.id)
        settings = r.settings
        panel = r.certificate_panel()
    attempt = next((a for a in history if a.id == attempt_id and a.is_submitted), None)
    if attempt is None:
        abort(404, description="That test attempt is not yours or is not submitted yet.")
    attempts_left = max(settings.test_attempts - len(history), 0)
    review = build_review(
        attempt,
        test,
        settings.review,
        pass_ratio=module.settings.pass_ratio,
        passed_before=any(
            result(a, test, module.settings.pass_ratio).passed
            for a in history
            if a.is_submitted and a.number < attempt.number
        ),
        attempts_left=attempts_left,
    )
    return render_template(
        "student/result.html",
        module=module,
        test=test,
        attempt=attempt,
        review=review,
        questions=review_questions(attempt, test, review),
        attempts_left=attempts_left,
        in_progress=any(not a.is_submitted for a in history),
        **panel,
    )


def _chosen(option: object) -> str:
    if not isinstance(option, str) or not option:
        raise NoChoiceError()
    return option


@api.post("/quizzes/<quiz_id>/attempts/<attempt_id>")
def api_answer_quiz(quiz_id: str, attempt_id: str) -> Response:
    """The quiz page's fetch call: record one answer, return its feedback (the answer is then final)."""
    quiz = _assessment(quiz_id, AssessmentKind.QUIZ)
    data = request.get_json(silent=True) or {}
    question_id, option_id = str(data.get("question", "")), _chosen(data.get("option"))
    with student() as r:
        outcome = r.attempts.answer(r.record, attempt_id, question_id, option_id)
    feedback = outcome.feedback
    assert feedback is not None
    answered = outcome.attempt.current_answers()
    return jsonify(
        question=question_id,
        correct=feedback.correct,
        feedback=feedback.text,
        correct_option=feedback.correct_option_id,
        completed=outcome.attempt.is_submitted,
        score=sum(1 for a in answered.values() if a.correct),
        total=len(quiz.questions),
    )


@api.post("/test/attempts/<attempt_id>/answers")
def api_save_test_answer(attempt_id: str) -> Response:
    """The test page's autosave: one changed choice; no feedback before submission."""
    data = request.get_json(silent=True) or {}
    with student() as r:
        outcome = r.attempts.answer(r.record, attempt_id, str(data.get("question", "")), _chosen(data.get("option")))
    return jsonify(question=outcome.answer.question_id, revision=outcome.answer.revision, saved=True)


class NoChoiceError(AssessmentError):
    def __init__(self) -> None:
        super().__init__("No answer was chosen: pick one of the options first.")


def _refused(error: AssessmentError) -> tuple[Response | str, int]:
    # A malformed answer is a bad request; an answer the rules no longer allow is a conflict. Neither is stored.
    status = 400 if isinstance(error, NoChoiceError | UnknownQuestionError | UnknownOptionError) else 409
    if request.path.startswith("/api/"):
        return jsonify(error="Answer not recorded", message=str(error)), status
    return render_template("error.html", status=status, title="Answer not recorded", message=str(error)), status


blueprint.register_error_handler(AssessmentError, _refused)
api.register_error_handler(AssessmentError, _refused)
