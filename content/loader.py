"""Load a module directory into a :class:`Module`, collecting every problem with its file and field."""

import ast
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

from content.errors import ContentError, ContentProblem
from content.markdown import code_blocks
from content.model import Assessment, Lab, Lesson, Module, UnitKind
from content.schemas import LabSchema, LessonHeaderSchema, ModuleFileSchema, QuizSchema, TestSchema

DEFAULT_MODULE_DIR = Path(__file__).parent / "modules" / "tracing-llm-calls"
_FRONT_MATTER_FENCE = "---"


def _flatten(messages: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Turn marshmallow's nested error dict into (``questions[0].options``, message) pairs."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                yield from _flatten(value, path)
            elif isinstance(key, int):
                yield from _flatten(value, f"{path}[{key}]")
            else:
                yield from _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        text = str(messages)
        if text == "Unknown field.":
            text = "unknown field (not part of the format; check its spelling)"
        elif text == "Missing data for required field.":
            text = "missing (this field is required)"
        yield path, text


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[ContentProblem] = []
        self.path_of: dict[str, Path] = {}

    def problem(self, path: Path, field: str, message: str) -> None:
        self.problems.append(ContentProblem(self._name(path), field, message))

    def _name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def read_yaml(self, path: Path) -> Any:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.problem(path, "", "file not found")
            return None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else ""
            self.problem(path, where, f"not valid YAML: {getattr(error, 'problem', error)}")
            return None
        if not isinstance(data, dict):
            self.problem(path, "", "must be a YAML mapping of field: value")
            return None
        return data

    def validate(self, schema: Schema, data: Any, path: Path) -> Any:
        if data is None:  # unreadable: read_yaml or the header parser has said why
            return None
        try:
            return schema.load(data)
        except ValidationError as error:
            for field, message in _flatten(error.messages):
                self.problem(path, field, message)
            return None

    def load_lesson(self, path: Path) -> Lesson | None:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        if (
            not lines
            or lines[0].strip() != _FRONT_MATTER_FENCE
            or _FRONT_MATTER_FENCE not in (line.strip() for line in lines[1:])
        ):
            self.problem(path, "header", "a lesson starts with a YAML header between two '---' lines")
            return None
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == _FRONT_MATTER_FENCE)
        try:
            header = yaml.safe_load("\n".join(lines[1:end]))
        except yaml.YAMLError as error:
            self.problem(path, "header", f"not valid YAML: {getattr(error, 'problem', error)}")
            return None
        body = "\n".join(lines[end + 1 :]).strip() + "\n"
        if not isinstance(header, dict):
            self.problem(path, "header", "the header must be a YAML mapping of field: value")
            return None
        fields = self.validate(LessonHeaderSchema(), header, path)
        if not body.strip():
            self.problem(path, "body", "the lesson has no text below its header")
        for block in code_blocks(body, "python"):
            try:
                ast.parse(block.code)
            except SyntaxError as error:
                self.problem(
                    path,
                    f"body line {block.line + (error.lineno or 1)}",
                    f"Python does not parse: {error.msg}",
                )
        if fields is None or not body.strip():
            return None
        return Lesson(body=body, **fields)

    def load_all(self, pattern: str, load: Any) -> list[Any]:
        items = []
        for path in sorted(self.root.glob(pattern)):
            item = load(path)
            if item is not None:
                self.path_of[item.id] = path
                items.append(item)
        return items


def load_module(root: Path) -> Module:
    """Load and cross-check every file of the module in ``root``; raise :class:`ContentError` on any problem."""
    loader = _Loader(root)
    module_path = root / "module.yaml"
    header = loader.validate(ModuleFileSchema(), loader.read_yaml(module_path), module_path)
    lessons: list[Lesson] = loader.load_all("lessons/*.md", loader.load_lesson)
    quizzes: list[Assessment] = loader.load_all(
        "quizzes/*.yaml", lambda p: loader.validate(QuizSchema(), loader.read_yaml(p), p)
    )
    labs: list[Lab] = loader.load_all("labs/*.yaml", lambda p: loader.validate(LabSchema(), loader.read_yaml(p), p))
    test_path = root / "test.yaml"
    test: Assessment | None = loader.validate(TestSchema(), loader.read_yaml(test_path), test_path)
    if loader.problems or header is None or test is None:
        raise ContentError(loader.problems)

    _cross_check(loader, module_path, header["units"], lessons, quizzes, labs, test)
    if loader.problems:
        raise ContentError(loader.problems)
    return Module(
        id=header["id"],
        number=header["number"],
        title=header["title"],
        summary=header["summary"],
        units=tuple(header["units"]),
        settings=header["settings"],
        lessons=tuple(sorted(lessons, key=lambda lesson: lesson.number)),
        quizzes=tuple(quizzes),
        test=test,
        labs=tuple(labs),
    )


def _cross_check(
    loader: _Loader,
    module_path: Path,
    units: list[Any],
    lessons: list[Lesson],
    quizzes: list[Assessment],
    labs: list[Lab],
    test: Assessment,
) -> None:
    """What no single file can check: references resolve, ids are unique across the module, nothing is orphaned."""
    by_kind: dict[UnitKind, set[str]] = {
        UnitKind.LESSON: {lesson.id for lesson in lessons},
        UnitKind.QUIZ: {quiz.id for quiz in quizzes},
        UnitKind.LAB: {lab.id for lab in labs},
        UnitKind.TEST: {test.id},
    }
    listed: set[tuple[UnitKind, str]] = set()
    for index, unit in enumerate(units):
        if unit.id not in by_kind[unit.kind]:
            loader.problem(module_path, f"units[{index}].id", f"no {unit.kind} has the id '{unit.id}'")
        if (unit.kind, unit.id) in listed:
            loader.problem(module_path, f"units[{index}]", f"{unit.kind} '{unit.id}' is listed twice")
        listed.add((unit.kind, unit.id))
    for kind, ids in by_kind.items():
        for missing in sorted(ids - {i for k, i in listed if k == kind}):
            loader.problem(module_path, "units", f"{kind} '{missing}' exists but is not listed in units")

    seen: dict[str, str] = {}
    question_ids = [(q.id, a.id) for a in (*quizzes, test) for q in a.questions]
    unit_ids = [(i, str(kind)) for kind, ids in by_kind.items() for i in ids]
    for item_id, owner in unit_ids + question_ids:
        if item_id in seen:
            loader.problem(module_path, "ids", f"'{item_id}' is used by both {seen[item_id]} and {owner}")
        seen[item_id] = owner

    lesson_ids = by_kind[UnitKind.LESSON]
    placed: list[Assessment | Lab] = [*quizzes, *labs]
    for item in placed:
        if item.lesson_id not in lesson_ids:
            loader.problem(loader.path_of[item.id], "lesson", f"no lesson has the id '{item.lesson_id}'")


@functools.cache
def load_default_module() -> Module:
    """The shipped module, loaded once per process."""
    return load_module(DEFAULT_MODULE_DIR)
