"""Model output is untrusted: no HTML, script, image or unsafe link survives; trace fences become trees."""

import json
from html.parser import HTMLParser

from lms_plugin.chat_rendering import render_reply, render_trace

HOSTILE = """Here is the fix.

<script>alert("x")</script>
<img src=x onerror="alert(1)">
<a href="https://evil.example" onclick="steal()">click</a>
[run me](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) [ok](https://opentelemetry.io/docs/)
![tracking pixel](https://evil.example/pixel.png)
"""


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_script_and_unsafe_links_from_a_model_are_inert_text() -> None:
    html = str(render_reply(HOSTILE))
    parser = _Tags()
    parser.feed(html)
    assert {tag for tag, _ in parser.tags} <= {"p", "a"}
    assert not [name for _, attrs in parser.tags for name in attrs if name.startswith("on")]
    hrefs = [attrs["href"] for tag, attrs in parser.tags if tag == "a"]
    assert hrefs == ["https://opentelemetry.io/docs/", "https://evil.example/pixel.png"]  # the image: a link only
    assert "&lt;script&gt;" in html  # the markup is shown, as text


def _trace(**changes: object) -> dict[str, object]:
    tree: dict[str, object] = {
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spans": [
            {"span_id": "a1", "parent_span_id": None, "name": "handle_chat_request", "start_ms": 0,
             "duration_ms": 1800},
            {"span_id": "b2", "parent_span_id": "a1", "name": "redis_get", "start_ms": 10, "duration_ms": 408,
             "status": "ERROR", "status_message": "timeout <b>", "attributes": {"db.system": "redis"}},
            {"span_id": "c3", "parent_span_id": "ff", "name": "vector_search", "start_ms": 500, "duration_ms": 90,
             "trace_id": "0af7651916cd43dd8448eb211c80319c"},
        ],
    }  # fmt: skip
    tree.update(changes)
    return tree


def test_a_trace_fence_is_drawn_as_a_tree_with_children_nested_and_orphans_apart() -> None:
    html = str(render_reply("Look:\n\n```trace\n" + json.dumps(_trace()) + "\n```\n"))
    root = html.index("handle_chat_request")
    child = html.index("redis_get")
    assert root < html.index("<ul>", root) < child  # the child sits in its parent's list
    assert "ERROR: timeout &lt;b&gt;" in html
    assert "1 span names a parent that is not in this trace." in html
    assert "in another trace: 0af76519" in html
    assert "db.system" in html
    assert "408 ms" in html
    assert "1.80 s" in html


def test_a_fence_that_is_not_a_trace_stays_code_and_a_bad_tree_is_none() -> None:
    html = str(render_reply("```trace\nnot json <script>\n```"))
    assert '<pre><code class="language-trace">not json &lt;script&gt;' in html
    assert render_trace({"spans": []}) is None
    assert render_trace("nope") is None


def test_spans_that_name_each_other_as_parents_are_drawn_once_without_recursing() -> None:
    cycle = {
        "trace_id": "ab",
        "spans": [
            {"span_id": "a", "parent_span_id": "b", "name": "first", "duration_ms": 5},
            {"span_id": "b", "parent_span_id": "a", "name": "second", "duration_ms": 5},
            {"span_id": "b", "parent_span_id": "b", "name": "second again", "duration_ms": 5},
            {"span_id": "c", "parent_span_id": "c", "name": "own parent", "duration_ms": 5},
        ],
    }
    html = str(render_trace(cycle))
    assert html.count('<li class="span">') == 3
    assert html.count("second again") == 1
    assert "first" in html
    assert "own parent" in html
