"""The shipped content loads with the expected counts, and broken files are reported by file and field."""

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from content import ContentError, Module, load_module
from content.check import check_module
from content.loader import DEFAULT_MODULE_DIR


def test_shipped_module_has_every_part(module: Module) -> None:
    report = check_module(DEFAULT_MODULE_DIR)
    assert report.ok, report.summary()
    assert (report.lessons, report.quiz_questions, report.test_questions, report.labs) == (4, 16, 15, 4)
    assert report.summary().splitlines() == [
        "4 lessons, 16 quiz questions, 15 test questions, 4 labs",
        "0 errors",
    ]
    assert [len(q.questions) for q in module.quizzes] == [4, 4, 4, 4]
    assert module.settings.pass_percent == 80
    assert module.settings.test_attempts == 3


def test_every_question_has_four_distinct_options_and_one_correct(module: Module) -> None:
    for assessment in (*module.quizzes, module.test):
        for question in assessment.questions:
            assert len(question.options) == 4, question.id
            assert len({o.id for o in question.options}) == 4, question.id
            assert len({o.text for o in question.options}) == 4, question.id
            assert sum(o.correct for o in question.options) == 1, question.id


def test_units_follow_lesson_quiz_lab_order_and_end_with_the_test(module: Module) -> None:
    expected = [(kind, f"{kind}-{n}") for n in range(1, 5) for kind in ("lesson", "quiz", "lab")] + [
        ("test", "module-test")
    ]
    assert [(str(u.kind), u.id) for u in module.units] == expected


def test_lab_completion_rules_are_the_seeds(module: Module) -> None:
    rules = {lab.id: (str(lab.completion.rule), lab.completion.count) for lab in module.labs}
    assert rules == {
        "lab-1": ("distinct-scenarios", 3),
        "lab-2": ("exchanges", 3),
        "lab-3": ("exchanges", 3),
        "lab-4": ("exchanges", 3),
    }
    lab2 = module.lab("lab-2")
    assert lab2 is not None
    assert [t.title for t in lab2.topics] == ["Library selection", "Sampling configuration", "PII handling"]


@pytest.fixture
def module_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tracing-llm-calls"
    shutil.copytree(DEFAULT_MODULE_DIR, target)
    return target


def _edit_first_question(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "quizzes" / "quiz-1.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["questions"][0])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _make_two_correct(question: dict[str, Any]) -> None:
    wrong = next(o for o in question["options"] if not o.get("correct"))
    wrong["correct"] = True
    del wrong["source"]


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "missing field": (lambda q: q.pop("stem"), "questions[0].stem", "missing"),
    "unknown field": (lambda q: q.update(hint="think about spans"), "questions[0].hint", "unknown field"),
    "two correct options": (_make_two_correct, "questions[0].options", "exactly one option must be correct (found 2)"),
    "bad id": (lambda q: q.update(id="L1 Q1"), "questions[0].id", "'L1 Q1' is not a valid id"),
    "empty stem": (lambda q: q.update(stem="   "), "questions[0].stem", "must not be empty"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_file_is_reported_with_its_file_and_field(module_copy: Path, breakage: str) -> None:
    change, field, message = BREAKAGES[breakage]
    _edit_first_question(module_copy, change)

    with pytest.raises(ContentError) as raised:
        load_module(module_copy)

    problems = [str(p) for p in raised.value.problems]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"tracing-llm-calls/quizzes/quiz-1.yaml: {field}: "), problems[0]
    assert message in problems[0]


def test_unparsable_python_in_a_lesson_is_reported_with_its_line(module_copy: Path) -> None:
    path = module_copy / "lessons" / "lesson-2.md"
    path.write_text(path.read_text(encoding="utf-8").replace("```python\n", "```python\nif True\n", 1), "utf-8")

    report = check_module(module_copy)

    assert not report.ok
    assert any(
        p.file.endswith("lessons/lesson-2.md")
        and p.field.startswith("body line")
        and "Python does not parse" in p.message
        for p in report.problems
    ), report.summary()


def test_dangling_and_duplicate_references_are_cross_checked(module_copy: Path) -> None:
    module_yaml = module_copy / "module.yaml"
    data = yaml.safe_load(module_yaml.read_text(encoding="utf-8"))
    data["units"] = [u for u in data["units"] if u["id"] != "lab-4"] + [{"kind": "lesson", "id": "lesson-9"}]
    module_yaml.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    messages = [str(p) for p in check_module(module_copy).problems]

    assert any("units[" in m and "no lesson has the id 'lesson-9'" in m for m in messages), messages
    assert any("lab 'lab-4' exists but is not listed in units" in m for m in messages), messages
