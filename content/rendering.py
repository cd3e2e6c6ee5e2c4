"""The one HTML rendering of a lesson that every channel (LTI pages, SCORM/cmi5 packages) embeds."""

import functools
from html import escape

from content.markdown import render_markdown
from content.model import Lesson, Module


def lesson_kicker(module: Module, lesson: Lesson) -> str:
    return f"Module {module.number} · Lesson {lesson.number}"


@functools.lru_cache(maxsize=64)
def render_lesson_html(module: Module, lesson: Lesson) -> str:
    """The lesson as an ``<article>``: kicker, title, tagline, opening question, then the body."""
    return (
        f'<article class="lesson" aria-labelledby="lesson-title">\n'
        f'<header class="lesson-header">\n'
        f'<p class="kicker">{escape(lesson_kicker(module, lesson))}</p>\n'
        f'<h1 id="lesson-title">{escape(lesson.title)}</h1>\n'
        f'<p class="tagline">{escape(lesson.tagline)}</p>\n'
        f'<p class="opening-question"><span class="visually-hidden">Opening question: </span>'
        f"{escape(lesson.question)}</p>\n"
        f"</header>\n"
        f"{render_markdown(lesson.body)}"
        f"</article>\n"
    )
