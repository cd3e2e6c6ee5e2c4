"""The lab chat: the page with its transcript, checklist and "Your trace" views; a message sent by fetch
gets its reply streamed as server-sent events (``delta`` pieces, then ``done``); without script the form
posts, the whole reply is made, and the page comes back with it. The session is the token, never a cookie."""

import json
import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from content import Lab
from content.markdown import render_markdown
from content.model import CompletionRule
from labs.errors import LabError, RateLimitError, ReplyPendingError, TokenBudgetError
from lms_plugin import wiring
from lms_plugin.blueprints.student import neighbours, student, student_url
from lms_plugin.chat_rendering import render_reply, render_trace
from lms_plugin.db import database
from lms_plugin.grades.sync import GradeSync, GradeTarget
from lms_plugin.lab_runtime import runtime
from lms_plugin.lti.sessions import ToolSession
from lms_plugin.models import LabExchangeRow
from lms_plugin.presenters import TRACE_NAME_NOTES, lab_trace_summary
from lms_plugin.services.labs import ExchangeRun, Finished, LabEvents, LabService, LabState, Started
from lms_plugin.services.statements import StatementLog

log = logging.getLogger(__name__)
FAILED = "The reply could not be completed. Your message is kept in the transcript: send it again."

blueprint = Blueprint("labs", __name__, url_prefix="/s/labs")
api = Blueprint("labs_api", __name__, url_prefix="/api/labs")


def _lab(lab_id: str) -> Lab:
    lab = wiring.module().lab(lab_id)
    if lab is None:
        abort(404, description=f"There is no lab '{lab_id}' in this module.")
    return lab


def _rubric(state: LabState) -> list[dict[str, Any]]:
    return [{"id": item.id, "text": item.text, "ticked": item.id in state.ticked} for item in state.lab.rubric]


def _progress_text(state: LabState) -> str:
    scenarios = state.lab.completion.rule is CompletionRule.DISTINCT_SCENARIOS
    noun = "different trace scenarios discussed" if scenarios else "exchanges"
    return f"{state.progress} of {state.lab.completion.count} {noun}"


def _status(error: LabError) -> int:
    if isinstance(error, RateLimitError | TokenBudgetError):
        return 429
    return 409 if isinstance(error, ReplyPendingError) else 400


def page(lab_id: str, error: str | None = None, draft: str = "") -> str:
    module = wiring.module()
    lab = _lab(lab_id)
    with student() as r:
        state = LabService(r.session, module, wiring.clock()).state(r.record, lab)
    previous, following = neighbours(lab_id)
    exchanges = [
        {
            "row": row,
            "reply": render_reply(row.assistant_reply) if row.assistant_reply is not None else None,
            "trace": render_trace(state.traces.get(row.id)),
            "summary": lab_trace_summary(row, state.traces.get(row.id)),
        }
        for row in state.exchanges
    ]
    return render_template(
        "student/lab.html",
        module=module,
        lab=lab,
        state=state,
        opening=Markup(render_markdown(lab.opening_message)),
        exchanges=exchanges,
        rubric=_rubric(state),
        progress_text=_progress_text(state),
        limits=runtime().limits,
        name_notes=TRACE_NAME_NOTES,
        error=error,
        draft=draft,
        previous=previous,
        following=following,
    )


def _begin(lab: Lab, text: str) -> tuple[Started, ToolSession]:
    with student() as r:
        lab_runtime = runtime()
        started = LabService(r.session, wiring.module(), wiring.clock()).begin(
            r.record, lab, text, lab_runtime.limits, lab_runtime.reply_deadline
        )
        return started, r.tool


def _run(tool: ToolSession) -> ExchangeRun:
    lab_runtime = runtime()
    module, clock, xapi = wiring.module(), wiring.clock(), wiring.settings().xapi

    def listeners(session: Session) -> tuple[LabEvents, ...]:
        return GradeSync(session, module, clock, GradeTarget.of(tool)), StatementLog(session, module, clock, tool, xapi)

    return ExchangeRun(
        database(),
        module,
        clock,
        lab_runtime.model,
        lab_runtime.telemetry.tracer("tracebook.labs"),
        lab_runtime.telemetry.collector,
        listeners,
    )


@blueprint.post("/<lab_id>/messages")
def send(lab_id: str) -> WerkzeugResponse | tuple[str, int]:
    """The form without script: make the whole reply, then show the page with it."""
    lab = _lab(lab_id)
    text = request.form.get("message", "")
    try:
        started, tool = _begin(lab, text)
    except LabError as error:
        return page(lab_id, error=str(error), draft=text), _status(error)
    finished = [item for item in _run(tool)(started) if isinstance(item, Finished)]
    anchor = f"#exchange-{finished[0].exchange.number}" if finished else ""
    return redirect(student_url("student.unit", unit=lab_id) + anchor, code=303)


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _done(finished: Finished) -> dict[str, Any]:
    row: LabExchangeRow = finished.exchange
    state = finished.state
    trace = render_trace(finished.tree)
    return {
        "number": row.number,
        "html": str(render_reply(row.assistant_reply or "")),
        "trace": str(trace) if trace is not None else None,
        "summary": lab_trace_summary(row, finished.tree),
        "fallback": row.fallback_reason,
        "rubric": _rubric(state),
        "progress": _progress_text(state),
        "complete": state.complete,
        "completed_now": finished.completed_now,
    }


@api.post("/<lab_id>/messages")
def stream(lab_id: str) -> Response | tuple[Response, int]:
    lab = _lab(lab_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return jsonify(message='Send JSON with the learner\'s text in "message".'), 400
    try:
        started, tool = _begin(lab, body["message"])
    except LabError as error:
        return jsonify(message=str(error)), _status(error)
    run = _run(tool)

    def events() -> Iterator[str]:
        replies = run(started)
        try:
            yield _event("started", {"number": len(started.request.session.exchanges) + 1})
            for item in replies:
                yield _event("done", _done(item)) if isinstance(item, Finished) else _event("delta", {"text": item})
        except Exception:
            log.exception("lab exchange %s failed", started.exchange_id)
            yield _event("error", {"message": FAILED})
        finally:
            try:
                # The browser went away mid-reply: finish and store the reply anyway; it is there when they return.
                for _ in replies:
                    pass
            except Exception:
                log.exception("lab exchange %s failed after its reader left", started.exchange_id)

    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the stream back
    return response
