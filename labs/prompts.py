"""What the OpenAI-compatible lab model is asked: the system prompt built from the lab's spec (role, scenario,
rubric and how to show a trace tree), the transcript as chat messages, and the judge's prompt with the JSON
schema its verdict must follow — and the reading of that verdict. Pure: lab and transcript in, messages out.

The judge's schema follows OpenAI's Structured Outputs (``response_format: {"type": "json_schema", ...}``, strict
mode: every property required, no extra properties); servers that only honour ``json_object`` still get the
schema in the prompt, and whatever comes back is validated here before it counts.
"""

import json
from dataclasses import dataclass
from typing import Any, Literal

from content.model import Lab
from labs.chat import ChatRequest, Verdict

Role = Literal["system", "user", "assistant"]

# How many earlier learner messages the judge sees, to recognise a repeat without paying for the whole lab.
JUDGE_HISTORY = 6

TRACE_FENCE = """\
Reply in Markdown. No HTML: it is shown as text. When you show a trace, do not draw it: write it as a fenced \
code block with the info string `trace` holding JSON, which the page renders as a tree:

```trace
{"trace_id": "<32 hex>", "title": "optional caption",
 "spans": [{"span_id": "<16 hex>", "parent_span_id": "<16 hex or null for the root>", "name": "llm_completion",
            "kind": "SERVER|CLIENT|INTERNAL", "start_ms": 0, "duration_ms": 1200, "status": "OK|ERROR|UNSET",
            "status_message": "optional", "attributes": {"gen_ai.request.model": "gpt-4o"},
            "events": [{"name": "gen_ai.first_chunk", "at_ms": 950}]}]}
```

start_ms and at_ms count from the start of the trace. A span whose parent_span_id is not in the list is shown \
as a separate root — that is how a broken parent link looks; a span from another trace may carry its own \
"trace_id". Put the question you ask the student after the block, never inside it."""


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


def system_prompt(lab: Lab) -> str:
    rubric = "\n".join(f"- {item.id}: {item.text}" for item in lab.rubric)
    return "\n\n".join(
        [
            lab.assistant_role,
            f"# The lab: {lab.title}\n\nThe student's task: {lab.task}\n\nCompletion: {lab.completion_text}",
            f"# Scenario\n\n{lab.scenario}",
            "# Rubric\n\nThe checklist the student sees. Steer towards the items not yet shown, one at a time; "
            f"never paste the list or give the answers away before the student has tried.\n\n{rubric}",
            f"# Format\n\n{TRACE_FENCE}",
        ]
    )


def chat_messages(request: ChatRequest) -> tuple[Message, ...]:
    """The system prompt, the opening message, the transcript so far and the learner's new message."""
    transcript: list[Message] = []
    for exchange in request.session.exchanges:
        transcript += [Message("user", exchange.learner_message), Message("assistant", exchange.assistant_reply)]
    return (
        Message("system", system_prompt(request.lab)),
        Message("assistant", request.lab.opening_message),
        *transcript,
        Message("user", request.message),
    )


def verdict_response_format(lab: Lab) -> dict[str, Any]:
    """The judge's ``response_format``: the lab's rubric ids and scenario ids as enums."""
    rubric_ids = [item.id for item in lab.rubric]
    scenario_ids = [scenario.id for scenario in lab.scenarios]
    # An enum may not be empty: without rubric ids any string passes here, and parse_verdict drops it.
    hit: dict[str, Any] = {"type": "string", "enum": rubric_ids} if rubric_ids else {"type": "string"}
    hits: dict[str, Any] = {"type": "array", "items": hit}
    scenario: dict[str, Any] = (
        {"anyOf": [{"type": "string", "enum": scenario_ids}, {"type": "null"}]} if scenario_ids else {"type": "null"}
    )
    schema = {
        "type": "object",
        "properties": {"rubric_hits": hits, "scenario_id": scenario, "substantive": {"type": "boolean"}},
        "required": ["rubric_hits", "scenario_id", "substantive"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "lab_verdict", "strict": True, "schema": schema}}


def judge_messages(request: ChatRequest, reply: str) -> tuple[Message, ...]:
    """Ask for the verdict on the learner's message: which rubric items it shows, which scenario it diagnoses."""
    lab = request.lab
    rubric = "\n".join(f"- {item.id}: {item.text}" for item in lab.rubric) or "(none)"
    scenarios = "\n".join(f"- {scenario.id}: {scenario.title}" for scenario in lab.scenarios)
    scenario_rule = (
        f"scenario_id: the trace scenario the message diagnoses rightly — it names the faulty span or attribute "
        f"and says why, from the trace on screen — one of:\n{scenarios}\nnull when it diagnoses none, or only "
        "partly (a span named without the reason, a guess)."
        if scenarios
        else "scenario_id: always null in this lab."
    )
    instructions = f"""\
You judge one message a student sent in "{lab.title}", a lab of the course Tracing LLM Calls. You do not reply to \
the student; you return JSON only: {{"rubric_hits": [ids], "scenario_id": id or null, "substantive": true/false}}.

The lab's rubric (id: criterion):
{rubric}

rubric_hits: the ids of the criteria the student's message itself demonstrates, in the student's own words and \
reasoning. What the assistant said does not count; naming a topic is not demonstrating it.
{scenario_rule}
substantive: false for a keyword list, the rubric or the assistant's words pasted back, a repeat of an earlier \
message, an empty or off-topic message, a bare command ("next", "show me a trace") or a question that puts \
forward no answer of the student's own; then rubric_hits is [] and scenario_id is null. True otherwise, even \
when the answer is wrong."""
    earlier = [exchange.learner_message for exchange in request.session.exchanges][-JUDGE_HISTORY:]
    on_screen = request.session.exchanges[-1].assistant_reply if request.session.exchanges else lab.opening_message
    context = "\n\n".join(
        [
            "Earlier messages of the student:\n" + ("\n".join(f"- {m!r}" for m in earlier) or "(none)"),
            f"The assistant's message the student answered:\n<<<\n{on_screen}\n>>>",
            f"The student's message to judge:\n<<<\n{request.message}\n>>>",
            f"The assistant's reply to it (context only):\n<<<\n{reply}\n>>>",
        ]
    )
    return Message("system", instructions), Message("user", context)


def parse_verdict(text: str, lab: Lab) -> Verdict:
    """The judge's JSON as a verdict. Ids the lab does not have are dropped; a message judged not substantive
    ticks nothing and discusses no scenario, whatever else the judge said. Raises ValueError when the reply is
    not the verdict object at all."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the judge's reply is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"the judge's reply is not a JSON object: {text[:200]!r}")
    hits, scenario_id, substantive = data.get("rubric_hits"), data.get("scenario_id"), data.get("substantive")
    if not isinstance(hits, list) or not isinstance(substantive, bool) or not isinstance(scenario_id, str | None):
        raise ValueError(f"the judge's reply does not follow the verdict schema: {text[:200]!r}")
    if not substantive:
        return Verdict(substantive=False)
    rubric_ids = {item.id for item in lab.rubric}
    scenario_ids = {scenario.id for scenario in lab.scenarios}
    return Verdict(
        rubric_hits=frozenset(hit for hit in hits if isinstance(hit, str) and hit in rubric_ids),
        scenario_id=scenario_id if scenario_id in scenario_ids else None,
        substantive=True,
    )
