"""Trace trees drawn as HTML: children nested under their parent, orphans (a parent id not in the list, the mark of
a broken traceparent) as separate roots, each span with its duration, status and a bar on the trace's timeline.

One drawing for every channel: the lab chat (the tutor's and the student's own spans) and the exported packages'
lab self-checks. The input is the trace JSON of content/README.md as plain data, which may come from a model, so
nothing in it is trusted.
"""

import json
from html import escape
from typing import Any

MAX_SPANS = 200


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def duration_text(ms: float) -> str:
    return f"{ms / 1000:,.2f} s" if ms >= 1000 else f"{ms:,.0f} ms" if ms >= 1 else f"{ms:,.2f} ms"


def _value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _span_html(span: dict[str, Any], children: dict[str, list[dict[str, Any]]], total: float, trace_id: str) -> str:
    start, duration = _number(span.get("start_ms")), _number(span.get("duration_ms"))
    status = str(span.get("status") or "UNSET").upper()
    kind = str(span.get("kind") or "")
    x = min(100.0, start / total * 100) if total else 0.0
    width = max(0.5, min(100.0 - x, duration / total * 100)) if total else 100.0
    notes = []
    if status == "ERROR":
        reason = f": {escape(str(span['status_message']))}" if span.get("status_message") else ""
        notes.append(f'<span class="span-status">ERROR{reason}</span>')
    own_trace = span.get("trace_id")
    if own_trace and own_trace != trace_id:
        notes.append(f'<span class="span-note">in another trace: {escape(str(own_trace)[:8])}…</span>')
    found_attributes, found_events = span.get("attributes"), span.get("events")
    attributes: dict[str, Any] = found_attributes if isinstance(found_attributes, dict) else {}
    events: list[Any] = found_events if isinstance(found_events, list) else []
    details = ""
    if attributes or events:
        rows = "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(_value(v))}</dd>" for k, v in attributes.items())
        rows += "".join(
            f"<dt>event</dt><dd>{escape(str(e.get('name', '')))} at {duration_text(_number(e.get('at_ms')))}</dd>"
            for e in events
            if isinstance(e, dict)
        )
        summary = f"{len(attributes)} attribute{'s' * (len(attributes) != 1)}"
        if events:
            summary += f", {len(events)} event{'s' * (len(events) != 1)}"
        details = f'<details class="span-details"><summary>{summary}</summary><dl>{rows}</dl></details>'
    kids = children.get(str(span.get("span_id")), [])
    nested = "<ul>" + "".join(_span_html(c, children, total, trace_id) for c in kids) + "</ul>" if kids else ""
    return (
        f'<li class="span{" span-error" if status == "ERROR" else ""}">'
        f'<div class="span-row"><span class="span-name">{escape(str(span.get("name", "?")))}</span>'
        f"{f' <span class=span-kind>{escape(kind)}</span>' if kind else ''}"
        f' <span class="span-duration">{duration_text(duration)}</span> {" ".join(notes)}'
        f'<svg class="span-bar" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
        f'<rect x="{x:.2f}" width="{width:.2f}" height="4"/></svg></div>{details}{nested}</li>'
    )


def render_trace_html(tree: object) -> str | None:
    """A trace in the chat's trace JSON (``Trace.as_dict()``, ``labs.tracing.span_tree``) as an HTML tree; None when
    it is not one. Every value is escaped: the JSON may come from a model."""
    if not isinstance(tree, dict) or not isinstance(tree.get("spans"), list) or not tree["spans"]:
        return None
    # A model can write any JSON: one span per id, and no parent link that would close a cycle (a → b → a),
    # so drawing cannot recurse forever and every span is drawn once.
    by_id = {str(s["span_id"]): s for s in tree["spans"][:MAX_SPANS] if isinstance(s, dict) and s.get("span_id")}
    if not by_id:
        return None
    trace_id = str(tree.get("trace_id") or "")
    parent_of: dict[str, str] = {}
    for span_id, span in by_id.items():
        parent = str(span.get("parent_span_id") or "")
        ancestor = parent
        while ancestor in parent_of and ancestor != span_id:
            ancestor = parent_of[ancestor]
        if parent in by_id and ancestor != span_id:
            parent_of[span_id] = parent
    spans = sorted(by_id.values(), key=lambda s: _number(s.get("start_ms")))
    children: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        drawn_under = parent_of.get(str(span["span_id"]))
        if drawn_under is not None:
            children.setdefault(drawn_under, []).append(span)
    roots = [span for span in spans if str(span["span_id"]) not in parent_of]
    total = max((_number(s.get("start_ms")) + _number(s.get("duration_ms")) for s in spans), default=0.0)
    orphans = [r for r in roots if r.get("parent_span_id")]
    caption = escape(str(tree.get("title") or "Trace"))
    note = (
        f'<p class="trace-note">{len(orphans)} span{"s" * (len(orphans) != 1)} name{"s" * (len(orphans) == 1)} a '
        "parent that is not in this trace.</p>"
        if orphans
        else ""
    )
    return (
        f'<figure class="trace"><figcaption>{caption} <code>{escape(trace_id[:16])}</code> · '
        f"{duration_text(total)}</figcaption>"
        f'<ul class="trace-tree">{"".join(_span_html(r, children, total, trace_id) for r in roots)}</ul>{note}</figure>'
    )
