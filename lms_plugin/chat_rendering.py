"""What a model said, made safe to show: Markdown to HTML with no HTML, script, images or unsafe links from the
model reaching the page, and trace trees (```trace fences holding span JSON, and the student's own spans) drawn
as trees. Model output is untrusted input, like a form field."""

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from content.trace_tree import duration_text, render_trace_html

__all__ = ["duration_text", "render_reply", "render_trace"]

SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _validate_link(url: str) -> bool:
    # Only links a learner can follow safely; javascript:, data:, vbscript:, file: and relative tricks are text.
    return url.strip().lower().startswith(SAFE_SCHEMES)


def render_trace(tree: object) -> Markup | None:
    """A trace (the JSON of ``labs.tracing.span_tree``) as a tree, drawn by content.trace_tree; None when it is
    not one."""
    drawn = render_trace_html(tree)
    return None if drawn is None else Markup(drawn)


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.info.strip() == "trace":
        try:
            drawn = render_trace(json.loads(token.content))
        except ValueError:
            drawn = None
        if drawn is not None:
            return str(drawn)
    language = escape(token.info.strip().split(" ")[0]) if token.info.strip() else ""
    attribute = f' class="language-{language}"' if language else ""
    return f"<pre><code{attribute}>{escape(token.content)}</code></pre>\n"


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    tokens[idx].attrSet("target", "_blank")
    return str(self.renderToken(tokens, idx, options, env))


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])
    parser.disable("image")  # a model's image would be fetched from anywhere: show its Markdown as text
    parser.validateLink = _validate_link
    parser.add_render_rule("fence", _fence)
    parser.add_render_rule("link_open", _link_open)
    return parser


_PARSER = _parser()


def render_reply(markdown: str) -> Markup:
    return Markup(_PARSER.render(markdown))
