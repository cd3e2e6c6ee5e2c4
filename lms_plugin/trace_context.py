"""W3C trace context carried across a hand-off: stored with work that another process finishes (an outbox
message), so that work's spans join the trace of the request that caused it."""

from opentelemetry.context import Context
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import Link, get_current_span


def current_traceparent() -> str | None:
    """The traceparent of the active span, or None outside any recording span."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


def context_of(traceparent: str | None) -> Context | None:
    return extract({"traceparent": traceparent}) if traceparent else None


def link_to(traceparent: str | None) -> Link | None:
    context = context_of(traceparent)
    if context is None:
        return None
    span_context = get_current_span(context).get_span_context()
    return Link(span_context) if span_context.is_valid else None
