"""The package's pages: one static HTML page per SCO/AU, rendered from ``content`` at build time with the tool's
markup and classes (lms_plugin/templates/student/), so the tool's own stylesheet styles them.

A page needs no network: its unit's data (question and option ids, the right option, feedback, lab checks and,
for cmi5, the xAPI activities its statements name) is embedded as JSON for ``shared/runtime.js``. Right answers
are in the page: a package is delivered to the learner's browser whole, so it is not a secure exam.
"""

import functools
import json
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from content.markdown import render_markdown
from content.model import Assessment, Lab, Module, Question, UnitKind
from content.rendering import render_lesson_html
from content.trace_tree import render_trace_html
from exports.packages.units import PackageFormat, PackageUnit
from exports.xapi.ids import ActivityIds, ActivityType

LANGUAGE = "en-US"


@dataclass(frozen=True)
class LabCheck:
    """One self-check of a lab page: a Lab 1 trace or a design lab's walk step, and its explanation."""

    id: str
    title: str
    prompt: Markup
    trace: Markup | None
    criteria: tuple[str, ...]
    explain: Markup


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("exports.packages", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _json_for_html(data: dict[str, Any]) -> Markup:
    # Inside <script> only "</script" and "<!--" could end the block early: no "<" reaches the page raw.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _language_map(text: str) -> dict[str, str]:
    return {LANGUAGE: text}


def _question_data(
    question: Question, module: Module, assessment: Assessment, ids: ActivityIds, package_format: PackageFormat
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": question.id,
        "correct": question.correct_option.id,
        "feedback": {"correct": question.feedback.correct, "incorrect": question.feedback.incorrect},
    }
    if package_format is PackageFormat.CMI5:
        # The same activity the LTI tool's "answered" statements name (exports.xapi.statements), choices in the
        # file's order, so an LRS holds one definition of the question whichever channel reported it.
        data["activity"] = {
            "objectType": "Activity",
            "id": ids.question(module, assessment.id, question.id),
            "definition": {
                "type": str(ActivityType.QUESTION),
                "name": _language_map(question.stem),
                "description": _language_map(question.stem),
                "interactionType": "choice",
                "choices": [{"id": o.id, "description": _language_map(o.text)} for o in question.options],
                "correctResponsesPattern": [question.correct_option.id],
            },
        }
    return data


def _unit_data(module: Module, unit: PackageUnit, ids: ActivityIds, package_format: PackageFormat) -> dict[str, Any]:
    data: dict[str, Any] = {"unit": unit.id, "kind": str(unit.kind), "activity": unit.activity_id}
    if package_format is PackageFormat.CMI5:
        data["module"] = {
            "objectType": "Activity",
            "id": ids.module(module),
            "definition": {"type": str(ActivityType.MODULE), "name": _language_map(module.title)},
        }
    assessment = module.assessment(unit.id)
    if assessment is not None:
        data["questions"] = [_question_data(q, module, assessment, ids, package_format) for q in assessment.questions]
    if unit.kind is UnitKind.TEST:
        settings = module.settings
        data |= {
            "passPercent": settings.pass_percent,
            "attempts": settings.test_attempts,
            "review": {
                "incorrect": settings.review.show_incorrect_questions,
                "answers": str(settings.review.show_correct_answers),
            },
        }
    lab = module.lab(unit.id)
    if lab is not None:
        data["checks"] = [check.id for check in lab_checks(lab)]
    return data


def lab_checks(lab: Lab) -> tuple[LabCheck, ...]:
    """Lab 1: each scenario's trace tree with its brief, and what a right diagnosis names; Labs 2–4: each topic's
    question and its model answer."""
    if lab.scenarios:
        return tuple(
            LabCheck(
                id=scenario.id,
                title=scenario.title,
                prompt=Markup(render_markdown(scenario.brief)),
                trace=Markup(render_trace_html(scenario.trace.as_dict()) or ""),
                criteria=tuple(c.text for c in scenario.criteria),
                explain=Markup(render_markdown(scenario.explain)),
            )
            for scenario in lab.scenarios
        )
    titles = {topic.id: topic.title for topic in lab.topics}
    return tuple(
        LabCheck(
            id=step.topic,
            title=titles.get(step.topic, step.topic),
            prompt=Markup(render_markdown(step.ask)),
            trace=None,
            criteria=tuple(c.text for c in step.criteria),
            explain=Markup(render_markdown(step.explain)),
        )
        for step in lab.walk
    )


def render_page(
    module: Module,
    units: tuple[PackageUnit, ...],
    index: int,
    ids: ActivityIds,
    package_format: PackageFormat,
) -> bytes:
    """The page of ``units[index]``; its neighbours give the SCORM 2004 "Previous" and "Continue" buttons."""
    unit = units[index]
    values: dict[str, Any] = {
        "module": module,
        "unit": unit,
        "format": str(package_format),
        "previous": units[index - 1] if index > 0 else None,
        "following": units[index + 1] if index + 1 < len(units) else None,
        "data": _json_for_html(_unit_data(module, unit, ids, package_format)),
    }
    if unit.kind is UnitKind.LESSON:
        lesson = module.lesson(unit.id)
        assert lesson is not None  # package_units takes ids from the module's own units
        template = "lesson.html"
        values |= {"lesson": lesson, "article": Markup(render_lesson_html(module, lesson))}
    elif unit.kind is UnitKind.QUIZ:
        template = "quiz.html"
        values["quiz"] = module.assessment(unit.id)
    elif unit.kind is UnitKind.TEST:
        template = "test.html"
        total = len(module.test.questions)
        ratio = module.settings.pass_ratio
        pass_count = -(-total * ratio.numerator // ratio.denominator)  # the fewest right answers that pass
        values |= {
            "test": module.test,
            "pass_percent": module.settings.pass_percent,
            "pass_count": pass_count,
            "attempts": module.settings.test_attempts,
        }
    else:
        lab = module.lab(unit.id)
        assert lab is not None
        template = "lab.html"
        values |= {"lab": lab, "checks": lab_checks(lab)}
    return _environment().get_template(template).render(values).encode()
