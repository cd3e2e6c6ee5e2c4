"""The packages' pages and files: built from content (no copied text), self-contained, in the tool's style, with
each unit's data for the runtime, Lab 1's trace trees and the design labs' model answers as self-checks."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from markupsafe import escape

from content import Module
from content.rendering import render_lesson_html
from content.trace_tree import render_trace_html
from exports.packages import PackageFormat, build_package, lab_checks, runtime_script
from exports.xapi import ActivityIds

ROOT = Path(__file__).resolve().parents[3]
STYLESHEET = (ROOT / "lms_plugin" / "static" / "tracebook.css").read_bytes()
BASE = "https://tracebook.example.edu/xapi"


def _build(module: Module, package_format: PackageFormat) -> bytes:
    return build_package(module, package_format, stylesheet=STYLESHEET, activity_base=BASE)


@pytest.fixture(scope="module")
def packages(module: Module) -> dict[PackageFormat, zipfile.ZipFile]:
    return {f: zipfile.ZipFile(io.BytesIO(_build(module, f))) for f in PackageFormat}


def _page(package: zipfile.ZipFile, unit_id: str) -> str:
    return package.read(f"units/{unit_id}.html").decode()


def _unit_data(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="unit-data">(.*?)</script>', page, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_a_build_is_byte_identical_every_time_and_reports_its_progress(module: Module) -> None:
    steps: list[tuple[int, int, str]] = []
    first = build_package(
        module, "scorm12", stylesheet=STYLESHEET, activity_base=BASE, progress=lambda *s: steps.append(s)
    )
    assert first == _build(module, PackageFormat.SCORM12)
    assert [s[0] for s in steps] == list(range(1, 17))
    assert steps[0][2] == "imsmanifest.xml"
    assert steps[-1] == (16, 16, "units/module-test.html")


@pytest.mark.parametrize("package_format", list(PackageFormat))
def test_every_page_is_self_contained_and_uses_the_tools_stylesheet_and_our_runtime(
    packages: dict[PackageFormat, zipfile.ZipFile], module: Module, package_format: PackageFormat
) -> None:
    package = packages[package_format]
    assert package.read("shared/tracebook.css") == STYLESHEET
    assert package.read("shared/runtime.js") == runtime_script()
    for unit in module.units:
        page = _page(package, unit.id)
        assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page) == [
            "../shared/tracebook.css",
            "../shared/runtime.js",
        ]
        assert not re.search(r"<(?:img|iframe|object|embed)\b", page)
        assert f'data-format="{package_format}" data-unit="{unit.id}" data-kind="{unit.kind}"' in page
        assert "</" not in page.split('id="unit-data">')[1].split("</script>")[0]


def test_a_lesson_page_embeds_the_one_rendering_of_the_lesson(
    packages: dict[PackageFormat, zipfile.ZipFile], module: Module
) -> None:
    for lesson in module.lessons:
        page = _page(packages[PackageFormat.SCORM12], lesson.id)
        assert render_lesson_html(module, lesson) in page
        assert page.index("</article>") < page.index('id="lesson-end"')


def test_quiz_and_test_pages_carry_the_questions_options_and_right_answers_from_content(
    packages: dict[PackageFormat, zipfile.ZipFile], module: Module
) -> None:
    for assessment in (*module.quizzes, module.test):
        page = _page(packages[PackageFormat.SCORM2004], assessment.id)
        data = _unit_data(page)
        questions = data["questions"]
        assert isinstance(questions, list)
        assert [(q["id"], q["correct"]) for q in questions] == [
            (q.id, q.correct_option.id) for q in assessment.questions
        ]
        for question in assessment.questions:
            for option in question.options:
                assert f'name="q-{question.id}" id="{question.id}-{option.id}" value="{option.id}"' in page
    test = _unit_data(_page(packages[PackageFormat.SCORM12], "module-test"))
    assert (test["passPercent"], test["attempts"]) == (80, 3)
    assert "12 of 15" in _page(packages[PackageFormat.SCORM12], "module-test")


def test_cmi5_pages_name_the_same_activities_as_the_lti_tools_xapi(
    packages: dict[PackageFormat, zipfile.ZipFile], module: Module
) -> None:
    ids = ActivityIds(BASE)
    data = _unit_data(_page(packages[PackageFormat.CMI5], "quiz-2"))
    assert data["activity"] == ids.assessment(module, "quiz-2")
    assert data["module"] == {
        "objectType": "Activity",
        "id": ids.module(module),
        "definition": {"type": "http://adlnet.gov/expapi/activities/module", "name": {"en-US": module.title}},
    }
    questions = data["questions"]
    assert isinstance(questions, list)
    quiz = module.assessment("quiz-2")
    assert quiz is not None
    assert [q["activity"]["id"] for q in questions] == [ids.question(module, "quiz-2", q.id) for q in quiz.questions]
    definition = questions[0]["activity"]["definition"]
    assert definition["interactionType"] == "choice"
    assert definition["correctResponsesPattern"] == [quiz.questions[0].correct_option.id]
    # SCORM pages have no use for xAPI activities.
    scorm = _unit_data(_page(packages[PackageFormat.SCORM12], "quiz-2"))
    assert "module" not in scorm


def test_lab_1_is_a_self_check_of_its_six_trace_trees_with_explanations_on_demand(
    packages: dict[PackageFormat, zipfile.ZipFile], module: Module
) -> None:
    lab = module.lab("lab-1")
    assert lab is not None
    page = _page(packages[PackageFormat.SCORM12], "lab-1")
    assert len(lab.scenarios) == 6
    assert page.count('<figure class="trace">') == 6
    for scenario in lab.scenarios:
        assert render_trace_html(scenario.trace.as_dict()) in page
        check = page.split(f'data-check="{scenario.id}">')[1].split("</details>")[0]
        assert "Show the explanation" in check
        assert all(str(escape(criterion.text)) in check for criterion in scenario.criteria)
    assert "runs in the Tracebook LTI tool" in page
    assert _unit_data(page)["checks"] == [s.id for s in lab.scenarios]


@pytest.mark.parametrize("lab_id", ["lab-2", "lab-3", "lab-4"])
def test_design_labs_ask_each_walk_question_with_its_model_answer_on_demand(
    packages: dict[PackageFormat, zipfile.ZipFile], module: Module, lab_id: str
) -> None:
    lab = module.lab(lab_id)
    assert lab is not None
    page = _page(packages[PackageFormat.CMI5], lab_id)
    checks = lab_checks(lab)
    assert [c.id for c in checks] == [step.topic for step in lab.walk]
    assert page.count("Show a model answer") == len(lab.walk)
    for check in checks:
        revealed = page.split(f'data-check="{check.id}">')[1].split("</details>")[0]
        assert str(check.explain) in revealed
        assert str(check.prompt) in page.split(f'data-check="{check.id}">')[0]
    assert "runs in the Tracebook LTI tool" in page


def test_only_scorm_2004_pages_navigate_and_only_cmi5_pages_can_return_to_the_course(
    packages: dict[PackageFormat, zipfile.ZipFile],
) -> None:
    assert 'id="nav-continue"' in _page(packages[PackageFormat.SCORM2004], "lesson-1")
    assert 'id="nav-previous"' not in _page(packages[PackageFormat.SCORM2004], "lesson-1")
    assert 'id="nav-continue"' not in _page(packages[PackageFormat.SCORM2004], "module-test")
    assert 'id="nav-' not in _page(packages[PackageFormat.SCORM12], "quiz-1")
    assert 'id="nav-exit"' in _page(packages[PackageFormat.CMI5], "quiz-1")


def test_the_runtime_is_small_and_guards_the_scorm_12_suspend_data_limit() -> None:
    script = runtime_script().decode()
    assert len(script) < 30_000
    assert "var SUSPEND_LIMIT = 4096;" in script
    assert "http://" not in script.replace("http://adlnet.gov/expapi/verbs/", "")
