"""The content is faithful to the course text in ../shared/seed: nothing of the author's is lost or reworded.

The seed flattened tables, code and the trace diagram onto single lines, so those are compared with all
white space removed; every other line of a lesson must appear, white space aside, in the rendered HTML.
"""

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from content import Module
from content.markdown import code_blocks
from content.rendering import render_lesson_html

SEED = Path(__file__).resolve().parents[3].parent / "shared" / "seed" / "module-3-tracing-llm-calls.txt"
SEED_LINES = SEED.read_text(encoding="utf-8").splitlines()
SENTENCE_END = re.compile(r"[.!?:][\"”’)]?$")
BLOCKS = {"article", "header", "section", "aside", "div", "figure", "p", "pre", "blockquote", "br", "hr"}
BLOCKS |= {"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "td", "th"}


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _bare(text: str) -> str:
    return "".join(text.split())


class _Text(HTMLParser):
    """The page's text, a space at every block tag so that blocks never run together; tables by row."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self.parts.append(" ")
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append(" ")
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _seed_section(start: str, end: str) -> list[str]:
    first = SEED_LINES.index(start)
    last = SEED_LINES.index(end, first)
    return [line for line in SEED_LINES[first:last] if line.strip()]


def _quiz_blocks() -> list[tuple[str, str, str]]:
    """(stem, correct feedback, wrong feedback) for every question in the seed, quizzes and test."""
    blocks = []
    for n in range(1, 5):
        start = SEED_LINES.index(f"Lesson {n} Quiz") + 3  # title, blank, subtitle
        blocks += [tuple(SEED_LINES[i : i + 3]) for i in range(start, start + 12, 3)]
    start = SEED_LINES.index("15 questions · Score 80% or higher to pass") + 1
    for i in range(start, start + 45, 3):
        stem, correct, wrong = SEED_LINES[i : i + 3]
        blocks.append((re.sub(r"^\d+\. ", "", stem), correct, wrong))
    return blocks  # type: ignore[return-value]


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_every_line_of_the_lessons_seed_text_is_in_its_rendered_html(module: Module, number: int) -> None:
    lesson = module.lessons[number - 1]
    parser = _Text()
    parser.feed(render_lesson_html(module, lesson))
    text = _collapse("".join(parser.parts))
    preformatted = {_bare(block.code) for block in code_blocks(lesson.body)}
    table_rows = {_bare("".join(row)) for row in parser.rows}

    missing = [
        line
        for line in _seed_section(f"Module 3 · Lesson {number}", f"Lesson {number} Quiz")
        if _collapse(line) not in text and _bare(line) not in preformatted | table_rows
    ]

    assert missing == []


def test_tables_code_and_the_diagram_are_real_structures(module: Module) -> None:
    bodies = "\n".join(lesson.body for lesson in module.lessons)
    assert bodies.count("\n|---") + bodies.count("\n| ---") >= 4  # four tables, each with a header row
    languages = [block.language for block in code_blocks(bodies)]
    assert languages.count("python") == 2
    assert languages.count("tree") == 1
    for block in code_blocks(bodies, "python"):
        assert len(block.code.splitlines()) > 5  # line-broken again, not the seed's one flattened line
        ast.parse(block.code)


def test_editors_notes_mark_where_the_field_moved_on(module: Module) -> None:
    lesson1 = module.lessons[0].body
    note = lesson1[lesson1.index("::: editor-note") :]
    assert "gen_ai.provider.name" in note
    bodies = " ".join(lesson.body for lesson in module.lessons)
    assert "cost" in bodies[bodies.index("::: editor-note") :]


def test_every_stem_and_feedback_of_the_seed_is_kept_verbatim(module: Module) -> None:
    questions = [q for assessment in (*module.quizzes, module.test) for q in assessment.questions]
    seed = _quiz_blocks()

    assert len(seed) == len(questions) == 31
    for question, (stem, correct, wrong) in zip(questions, seed, strict=True):
        assert (question.stem, question.feedback.correct, question.feedback.incorrect) == (stem, correct, wrong)


def test_every_distractor_source_is_a_whole_sentence_of_the_seed(module: Module) -> None:
    seed_text = "\n".join(SEED_LINES)
    for assessment in (*module.quizzes, module.test):
        for question in assessment.questions:
            for option in question.options:
                if option.correct:
                    assert option.source is None
                    continue
                source = option.source or ""
                assert source in seed_text, (question.id, option.id, source)
                before = seed_text[: seed_text.index(source)]
                starts_a_sentence = before == "" or before.endswith("\n") or re.search(r"[.!?:][\"”’)]?\s$", before)
                assert starts_a_sentence, (question.id, option.id, source)
                assert SENTENCE_END.search(source), (question.id, option.id, source)


def test_lab_texts_are_the_seeds(module: Module) -> None:
    seed = set(SEED_LINES)
    for lab in module.labs:
        for text in (lab.title, lab.goal, lab.chat_title, lab.completion_text, lab.starter, lab.opening_message):
            assert text in seed, (lab.id, text)
        assert _collapse(lab.task) in {_collapse(line) for line in SEED_LINES}, lab.id
