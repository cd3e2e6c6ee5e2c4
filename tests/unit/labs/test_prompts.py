"""What the OpenAI-compatible model is asked, and how the judge's verdict is read."""

import json
from datetime import UTC, datetime

import pytest

from content import Module
from content.model import Lab
from labs.chat import ChatRequest, Verdict
from labs.prompts import Message, chat_messages, judge_messages, parse_verdict, system_prompt, verdict_response_format
from labs.session import Exchange, LabSession, open_session

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _lab(module: Module, lab_id: str) -> Lab:
    lab = module.lab(lab_id)
    assert lab is not None
    return lab


def _session(lab: Lab, *turns: tuple[str, str]) -> LabSession:
    session = open_session(lab, "attempt-1", T0)
    exchanges = tuple(Exchange(n, learner, reply, T0) for n, (learner, reply) in enumerate(turns, start=1))
    return LabSession(session.lab_id, session.attempt_id, session.started_at, exchanges)


def _request(lab: Lab, message: str, *turns: tuple[str, str]) -> ChatRequest:
    return ChatRequest(lab, _session(lab, *turns), message, "attempt-1")


def test_the_system_prompt_carries_role_scenario_rubric_and_the_trace_format(module: Module) -> None:
    lab = _lab(module, "lab-1")
    prompt = system_prompt(lab)
    assert lab.assistant_role in prompt
    assert lab.scenario in prompt
    assert lab.rubric, "lab 1 has a rubric"
    for item in lab.rubric:
        assert f"- {item.id}: {item.text}" in prompt
    assert "```trace" in prompt
    assert '"parent_span_id"' in prompt
    assert "Markdown" in prompt


def test_the_transcript_alternates_after_the_opening_message(module: Module) -> None:
    lab = _lab(module, "lab-2")
    request = _request(lab, "And PII?", ("We use LangChain.", "Then OpenLLMetry fits."), ("Sample 10%.", "Head?"))
    messages = chat_messages(request)
    assert messages[0] == Message("system", system_prompt(lab))
    assert messages[1:] == (
        Message("assistant", lab.opening_message),
        Message("user", "We use LangChain."),
        Message("assistant", "Then OpenLLMetry fits."),
        Message("user", "Sample 10%."),
        Message("assistant", "Head?"),
        Message("user", "And PII?"),
    )


def test_the_judge_schema_lists_lab_1_rubric_and_scenario_ids_as_enums(module: Module) -> None:
    lab = _lab(module, "lab-1")
    response_format = verdict_response_format(lab)
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["required"] == ["rubric_hits", "scenario_id", "substantive"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["rubric_hits"]["items"]["enum"] == [item.id for item in lab.rubric]
    scenario_ids = [scenario.id for scenario in lab.scenarios]
    assert {"slow-cache", "truncation", "missing-usage", "retry-storm", "broken-parent"} <= set(scenario_ids)
    assert schema["properties"]["scenario_id"] == {
        "anyOf": [{"type": "string", "enum": scenario_ids}, {"type": "null"}]
    }
    json.dumps(response_format)  # sent as JSON


def test_a_design_lab_judge_schema_admits_no_scenario(module: Module) -> None:
    lab = _lab(module, "lab-2")
    schema = verdict_response_format(lab)["json_schema"]["schema"]
    assert schema["properties"]["scenario_id"] == {"type": "null"}
    assert schema["properties"]["rubric_hits"]["items"]["enum"] == [topic.id for topic in lab.topics]


def test_the_judge_sees_the_rubric_the_message_and_earlier_messages(module: Module) -> None:
    lab = _lab(module, "lab-1")
    request = _request(lab, "The redis_get span is slow.", ("show me a trace", "Here is trace 1 …"))
    system, user = judge_messages(request, "Right: redis_get takes 408 ms.")
    assert (system.role, user.role) == ("system", "user")
    for item in lab.rubric:
        assert f"- {item.id}: {item.text}" in system.content
    for scenario in lab.scenarios:
        assert f"- {scenario.id}: {scenario.title}" in system.content
    assert "'show me a trace'" in user.content  # an earlier message, to recognise a repeat
    assert "Here is trace 1 …" in user.content  # what was on screen
    assert "The redis_get span is slow." in user.content
    assert "Right: redis_get takes 408 ms." in user.content


def test_a_verdict_keeps_known_ids_and_drops_unknown_ones(module: Module) -> None:
    lab = _lab(module, "lab-1")
    known = lab.rubric[0].id
    text = json.dumps({"rubric_hits": [known, "made-up", 7], "scenario_id": "slow-cache", "substantive": True})
    assert parse_verdict(text, lab) == Verdict(frozenset({known}), "slow-cache", True)
    unknown_scenario = json.dumps({"rubric_hits": [], "scenario_id": "no-such-trace", "substantive": True})
    assert parse_verdict(unknown_scenario, lab) == Verdict(frozenset(), None, True)


def test_a_message_judged_not_substantive_ticks_nothing(module: Module) -> None:
    lab = _lab(module, "lab-1")
    text = json.dumps({"rubric_hits": [lab.rubric[0].id], "scenario_id": "slow-cache", "substantive": False})
    assert parse_verdict(text, lab) == Verdict(substantive=False)


@pytest.mark.parametrize(
    "text",
    [
        "Sure! Here is my verdict.",
        "[]",
        '{"rubric_hits": "attributes", "scenario_id": null, "substantive": true}',
        '{"rubric_hits": [], "scenario_id": null, "substantive": "yes"}',
        '{"rubric_hits": [], "scenario_id": 3, "substantive": true}',
        '{"rubric_hits": [], "scenario_id": null}',
    ],
)
def test_a_reply_that_is_not_the_verdict_object_is_refused(module: Module, text: str) -> None:
    with pytest.raises(ValueError, match="judge's reply"):
        parse_verdict(text, _lab(module, "lab-1"))
