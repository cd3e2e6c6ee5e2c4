"""Lesson Markdown to safe HTML (CommonMark + tables, definition lists, boxes and trace trees).

Raw HTML in the source is not rendered and markdown-it refuses ``javascript:`` links, so a content file
cannot inject script into a page.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin

BOX_KINDS = ("callout", "takeaway", "editor-note")


@dataclass(frozen=True)
class CodeBlock:
    language: str
    code: str
    line: int  # 0-based line of the opening fence within the body


def _box_renderer(kind: str) -> Any:
    def render(self: Any, tokens: Sequence[Token], idx: int, _options: Any, env: Any) -> str:
        token = tokens[idx]
        if token.nesting == -1:
            return "</aside>\n"
        title = token.info.strip()[len(kind) :].strip()
        heading = f'<p class="box-title">{escape(title)}</p>\n' if title else ""
        # Landmarks need distinct names for screen readers: the second "Editor's note" becomes "Editor's note 2".
        seen = env.setdefault("box_labels", {})
        label = title or kind
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} {seen[label]}"
        return f'<aside class="box box-{kind}" aria-label="{escape(label)}">\n{heading}'

    return render


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.info.strip() == "tree":
        # A trace tree is a diagram: never reflowed, read as one figure by screen readers.
        return f'<figure class="trace-tree"><pre>{escape(token.content)}</pre></figure>\n'
    return str(self.fence(tokens, idx, options, env))


def _table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # Wide tables scroll inside their own box rather than widening a 700 px LMS iframe.
    return '<div class="table-wrap">' + str(self.renderToken(tokens, idx, options, env))


def _table_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return str(self.renderToken(tokens, idx, options, env)) + "</div>\n"


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table").use(deflist_plugin)
    for kind in BOX_KINDS:
        md.use(container_plugin, name=kind, render=_box_renderer(kind))
    md.add_render_rule("fence", _fence)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


_MD = _parser()


def render_markdown(text: str) -> str:
    return str(_MD.render(text, {}))


def code_blocks(text: str, language: str | None = None) -> Iterator[CodeBlock]:
    """The fenced code blocks of ``text``, optionally only those of one language."""
    for token in _MD.parse(text):
        if token.type == "fence" and (language is None or token.info.strip() == language):
            line = token.map[0] if token.map else 0
            yield CodeBlock(language=token.info.strip(), code=token.content, line=line)
