"""A read-only preview of the module: overview, lessons, quizzes, the test and lab briefs.

It shows what students will meet without an LMS. Answer keys never reach these pages: questions are
rendered from :func:`student_question`, which carries no ``correct`` flag, source or feedback.
"""

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from content.markdown import render_markdown
from content.model import Lab, Lesson, Module, Question, UnitKind
from content.rendering import render_lesson_html

blueprint = Blueprint("preview", __name__)


@dataclass(frozen=True)
class StudentOption:
    id: str
    text: str


@dataclass(frozen=True)
class StudentQuestion:
    id: str
    stem: str
    options: tuple[StudentOption, ...]


def student_question(question: Question) -> StudentQuestion:
    """The student-facing view of a question: no correct flag, no distractor source, no feedback."""
    return StudentQuestion(
        id=question.id, stem=question.stem, options=tuple(StudentOption(o.id, o.text) for o in question.options)
    )


def _module() -> Module:
    module: Module = current_app.extensions["tracebook.module"]
    return module


@blueprint.get("/")
def home() -> Response:
    return redirect(url_for("preview.overview"))


@blueprint.get("/preview/")
def overview() -> str:
    module = _module()
    titles: dict[tuple[UnitKind, str], str] = {}
    for lesson in module.lessons:
        titles[UnitKind.LESSON, lesson.id] = lesson.title
    for quiz in module.quizzes:
        titles[UnitKind.QUIZ, quiz.id] = quiz.title
    for lab in module.labs:
        titles[UnitKind.LAB, lab.id] = lab.title
    titles[UnitKind.TEST, module.test.id] = module.test.title
    units = [(unit, titles[unit.kind, unit.id]) for unit in module.units]
    return render_template("preview/overview.html", module=module, units=units)


@blueprint.get("/preview/lessons/<lesson_id>")
def lesson(lesson_id: str) -> str:
    module = _module()
    found: Lesson | None = module.lesson(lesson_id)
    if found is None:
        abort(404, description=f"There is no lesson '{lesson_id}' in this module.")
    article = Markup(render_lesson_html(module, found))
    return render_template("preview/lesson.html", module=module, lesson=found, article=article)


@blueprint.get("/preview/assessments/<assessment_id>")
def assessment(assessment_id: str) -> str:
    module = _module()
    found = module.assessment(assessment_id)
    if found is None:
        abort(404, description=f"There is no quiz or test '{assessment_id}' in this module.")
    questions = [student_question(q) for q in found.questions]
    return render_template("preview/assessment.html", module=module, assessment=found, questions=questions)


@blueprint.get("/preview/labs/<lab_id>")
def lab(lab_id: str) -> str:
    module = _module()
    found: Lab | None = module.lab(lab_id)
    if found is None:
        abort(404, description=f"There is no lab '{lab_id}' in this module.")
    opening = Markup(render_markdown(found.opening_message))
    return render_template("preview/lab.html", module=module, lab=found, opening=opening)
