"""The scenario tutor on Lab 1's real scenarios: right diagnoses are recognised and credited, wrong ones corrected,
junk and off-topic messages tick nothing and discuss no scenario, and completion needs three different traces."""

import json
import re
from dataclasses import replace

import pytest

from content import Module
from content.model import Lab
from labs.session import progress
from tests.lab_answers import RIGHT
from tests.unit.labs.tutor_conversation import Conversation

EXPECTED_TICKS = {
    "slow-cache": {"slow-span", "root-cause"},
    "truncation": {"llm-attributes", "root-cause"},
    "missing-usage": {"llm-attributes", "root-cause"},
    "retry-storm": {"status-errors", "llm-attributes", "root-cause"},
    "masked-retrieval-error": {"status-errors", "root-cause"},
    "broken-parent": {"context-propagation", "root-cause"},
}


@pytest.fixture
def lab(module: Module) -> Lab:
    found = module.lab("lab-1")
    assert found is not None
    return found


def _show(chat: Conversation, scenario_id: str) -> str:
    """Ask for traces until ``scenario_id`` is on screen; the reply that presented it."""
    for _ in range(len(chat.lab.scenarios)):
        text, record = chat.say("show me another trace")
        assert not record.verdict.substantive
        assert record.verdict.scenario_id is None
        if chat.state == f"{scenario_id}:0":
            return text
    raise AssertionError(f"{scenario_id} was never presented")


def _trace_of(text: str) -> dict[str, object]:
    found = re.search(r"```trace\n(.*?)\n```", text, re.S)
    assert found, text
    data = json.loads(found.group(1))
    assert isinstance(data, dict)
    return data


def test_the_first_request_presents_a_trace_tree_as_fenced_json(lab: Lab) -> None:
    chat = Conversation(lab)
    text, record = chat.say("Show me a trace with a problem and help me diagnose it")
    scenario = lab.scenario_by_id((chat.state or "").split(":")[0])
    assert scenario is not None
    assert scenario.title in text
    assert "What do you see?" in text
    trace = _trace_of(text)
    assert trace == scenario.trace.as_dict()
    assert record.verdict.rubric_hits == frozenset()
    assert record.verdict.scenario_id is None


@pytest.mark.parametrize("scenario_id", sorted(RIGHT))
def test_a_right_diagnosis_is_recognised_praised_explained_and_the_next_trace_shown(lab: Lab, scenario_id: str) -> None:
    chat = Conversation(lab)
    _show(chat, scenario_id)
    scenario = lab.scenario_by_id(scenario_id)
    assert scenario is not None

    text, record = chat.say(RIGHT[scenario_id])

    verdict = record.verdict
    assert verdict.scenario_id == scenario_id
    assert verdict.substantive
    assert verdict.rubric_hits == EXPECTED_TICKS[scenario_id]
    assert text.startswith(f"**Right — that is the fault in {scenario.title}.**")
    assert scenario.explain.strip() in text
    assert "you said “" in text  # praise quotes the learner's own words
    next_id = (verdict.state or "").split(":")[0]
    assert next_id != scenario_id
    assert lab.scenario_by_id(next_id) is not None
    assert _trace_of(text)["trace_id"] == lab.scenario_by_id(next_id).trace.trace_id  # type: ignore[union-attr]


def test_blaming_the_llm_span_in_the_slow_cache_trace_is_corrected(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "slow-cache")

    text, record = chat.say("The llm_completion span is slow: OpenAI is the problem, we should use a faster model.")

    assert record.verdict.rubric_hits == frozenset()
    assert record.verdict.scenario_id is None
    assert record.verdict.substantive
    assert chat.state == "slow-cache:1"
    assert "`llm_completion` is the longest span — 1,358 ms" in text
    assert "408" not in text  # the correction points the way without giving the answer away


def test_a_partly_right_diagnosis_says_what_is_right_and_asks_for_the_rest(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "truncation")

    text, record = chat.say("I think the answer ended early, and finish_reasons tells us why")

    assert record.verdict.scenario_id is None  # not yet a diagnosis: the scenario is not discussed
    assert chat.state == "truncation:1"
    assert record.verdict.rubric_hits == {"llm-attributes"}
    assert "What you have right" in text
    assert "you said “finish_reasons”" in text
    assert "Explains how the token numbers show the cut, and what to change" in text


def test_after_two_tries_without_a_right_diagnosis_the_tutor_explains_and_moves_on(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "slow-cache")
    chat.say("The llm_completion span is slow: OpenAI is the problem, we should use a faster model.")
    text, _record = chat.say("Then maybe build_prompt is the problem, it builds the prompt before the call.")
    scenario = lab.scenario_by_id("slow-cache")
    assert scenario is not None
    assert scenario.explain.strip() in text
    assert not (chat.state or "").startswith("slow-cache")


def test_a_concept_question_gets_the_glossary_answer_and_keeps_the_trace(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "broken-parent")

    text, record = chat.say("What is a span event?")

    concept = next(c for c in lab.concepts if c.id == "span-event")
    assert text.startswith(concept.answer.strip())
    assert chat.state == "broken-parent:0"
    assert record.verdict.rubric_hits == frozenset()


def test_off_topic_is_steered_back_to_the_trace_on_screen(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "missing-usage")

    text, record = chat.say("Can you recommend a good pasta recipe for dinner tonight?")

    assert text.startswith(lab.steer.strip())
    assert "The cost dashboard shows $0" in text
    assert not record.verdict.substantive
    assert record.verdict.rubric_hits == frozenset()
    assert chat.state == "missing-usage:0"  # no try counted


@pytest.mark.parametrize(
    ("junk", "says"),
    [
        ("redis_get, 408 ms, cache, slow span, before llm", "list of keywords"),
        ("redis_get 408 ms slow cache before llm_completion root cause", "list of keywords"),  # no verb, no commas
        ("redis_get 408ms cache", "too short"),
        ("Names the span whose own duration accounts for the extra latency", "pasted back"),
    ],
)
def test_junk_ticks_nothing_and_discusses_no_scenario(lab: Lab, junk: str, says: str) -> None:
    chat = Conversation(lab)
    _show(chat, "slow-cache")

    text, record = chat.say(junk)

    assert says in text
    assert record.verdict.rubric_hits == frozenset()
    assert record.verdict.scenario_id is None
    assert not record.verdict.substantive
    assert chat.state == "slow-cache:0"


def test_a_repeated_message_ticks_nothing_the_second_time(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "truncation")
    chat.say("I think the answer ended early, and finish_reasons tells us why")

    text, record = chat.say("i think the answer ended early and FINISH_REASONS tells us why!")

    assert "You sent that already" in text
    assert record.verdict.rubric_hits == frozenset()
    assert record.verdict.scenario_id is None
    assert chat.state == "truncation:1"


def test_a_negated_phrase_does_not_count(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "masked-retrieval-error")

    _, record = chat.say("It is not the vector_search span and not a timeout; the llm_completion span is slow.")

    assert "status-errors" not in record.verdict.rubric_hits


def test_three_messages_about_the_same_scenario_do_not_complete_the_lab(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "slow-cache")
    chat.say("The cache seems to be the problem here.")  # partly right: not yet discussed
    chat.say(RIGHT["slow-cache"])  # right: the next trace comes up
    _, record = chat.say("Again: the redis_get cache lookup needs 408 ms and delays everything before the model.")

    assert record.verdict.scenario_id is None  # an old trace's diagnosis is not credited to the new one
    assert chat.session is not None
    assert progress(chat.session, lab) == 1
    assert not chat.session.is_complete


def test_three_different_scenarios_complete_the_lab_once(lab: Lab) -> None:
    chat = Conversation(lab, "attempt-7")
    chat.say("show me a trace")
    for _ in range(4):
        scenario_id = (chat.state or "").split(":")[0]
        chat.say(RIGHT[scenario_id])
    assert chat.session is not None
    assert len(chat.session.scenarios_discussed) == 4
    assert chat.session.is_complete
    assert chat.completions == 1


def test_the_order_of_scenarios_depends_on_the_conversation_and_nothing_else(lab: Lab) -> None:
    firsts = set()
    for attempt in ("a", "b", "c", "d", "e", "f"):
        replies = [Conversation(lab, attempt).say("show me a trace")[0] for _ in range(2)]
        assert replies[0] == replies[1]
        firsts.add(_trace_of(replies[0])["trace_id"])
    assert len(firsts) > 1


def test_an_unknown_previous_state_means_nothing_is_on_screen(lab: Lab) -> None:
    chat = Conversation(lab)
    chat.say("show me a trace")
    assert chat.session is not None
    last = chat.session.exchanges[-1]
    chat.session = replace(chat.session, exchanges=(replace(last, state=None),))
    text, record = chat.say(RIGHT["slow-cache"])
    assert record.verdict.scenario_id is None  # nothing was on screen to diagnose
    assert chat.state is not None
    assert chat.state.endswith(":0")
    assert "```trace" in text


def test_a_partial_answer_ticks_its_item_but_does_not_discuss_the_scenario(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "slow-cache")

    text, record = chat.say("the cache is slow")

    assert record.verdict.scenario_id is None
    assert record.verdict.rubric_hits == {"slow-span"}
    assert "What you have right" in text
    assert chat.session is not None
    assert progress(chat.session, lab) == 0


def test_one_partial_guess_per_trace_while_skipping_does_not_complete_the_lab(lab: Lab) -> None:
    chat = Conversation(lab, "attempt-2")
    chat.say("show me a trace")
    for message in (
        "I think vector_search is the problem here",
        "next",
        "I think the problem is in the POST /search spans",
        "next",
        "I think the problem is redis_get here",
    ):
        _, record = chat.say(message)
        assert record.verdict.scenario_id is None, message
    assert chat.session is not None
    assert chat.session.scenarios_discussed == frozenset()
    assert not chat.session.is_complete


def test_a_diagnosis_can_be_completed_with_what_the_tutor_said_was_missing(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "slow-cache")
    _, first = chat.say("the cache is slow")
    assert first.verdict.scenario_id is None

    text, record = chat.say("It takes 408 ms, and a cache hit should take about a millisecond.")

    assert record.verdict.scenario_id == "slow-cache"
    assert text.startswith("**Right — that is the fault in")
    assert "you said “cache”" in text  # the earlier message's part is credited in its own words
    assert "you said “408 ms”" in text


def test_a_command_word_inside_a_diagnosis_is_not_a_command(lab: Lab) -> None:
    chat = Conversation(lab)
    _show(chat, "slow-cache")

    text, record = chat.say("Is the next step to look at redis_get, which takes 408 ms?")

    assert "Leaving **" not in text  # the trace on screen was not dropped
    assert record.verdict.scenario_id == "slow-cache"
    assert "you said “redis_get”" in text
