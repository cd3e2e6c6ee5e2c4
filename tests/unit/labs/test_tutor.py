"""The scenario tutor as a ChatModel: it streams words then one record, is deterministic, and walks a design lab
through its topics — asking, checking, correcting, explaining — on a small lab built in the test."""

import hashlib
from dataclasses import replace

import pytest

from content.model import Completion, CompletionRule, Correction, Criterion, Lab, RubricItem, Topic, WalkStep
from labs.chat import ChatModel, ChatRecord
from labs.tutor import ScenarioTutor, estimate_tokens, pieces
from tests.unit.labs.tutor_conversation import Conversation


def _step(topic: str, ask: str, criteria: list[tuple[str, list[str]]], pitfall: tuple[list[str], str]) -> WalkStep:
    return WalkStep(
        topic=topic,
        ask=ask,
        criteria=tuple(Criterion(f"{topic}-{n}", text, tuple(phrases)) for n, (text, phrases) in enumerate(criteria)),
        need=2,
        pitfalls=(Correction(tuple(pitfall[0]), pitfall[1]),),
        explain=f"Model answer for {topic}.",
    )


DESIGN = Lab(
    id="lab-x",
    lesson_id="lesson-x",
    title="Lab X",
    goal="Design",
    chat_title="Design lab",
    task="Design a pipeline.",
    completion_text="Three exchanges.",
    starter="Start.",
    opening_message="Tell me about your pipeline.",
    assistant_role="A design partner.",
    scenario="A pipeline.",
    completion=Completion(CompletionRule.EXCHANGES, 3),
    topics=(Topic("sampling", "Sampling"), Topic("privacy", "Privacy")),
    rubric=(RubricItem("sampling", "Keeps error traces"), RubricItem("privacy", "Redacts PII in the Collector")),
    walk=(
        _step(
            "sampling",
            "Which sampler would you use?",
            [("Uses tail sampling", ["tail sampling", "tail-based"]), ("Keeps errors", ["keep errors", "error"])],
            (["head sampling"], "Head sampling decides before the outcome and can miss rare errors."),
        ),
        _step(
            "privacy",
            "Where does PII get removed?",
            [("Uses the Collector", ["collector"]), ("Redacts or hashes", ["redact", "hash"])],
            (["log the full prompt"], "Logging the full prompt sends PII to the backend."),
        ),
    ),
    vocabulary=("span", "trace", "pipeline"),
    steer="Let's get back to the design.",
)
GOOD_SAMPLING = "I would use tail sampling in the Collector so that we keep errors and slow traces."
GOOD_PRIVACY = "We redact emails in the collector and hash the prompt before anything is exported."


def test_the_tutor_is_a_chat_model_that_streams_words_then_one_record() -> None:
    tutor: ChatModel = ScenarioTutor()
    chat = Conversation(DESIGN)
    items = list(tutor.stream(chat.request("Our pipeline is a RAG service and we want to trace it well.")))
    *words, record = items
    assert len(words) > 5
    assert all(isinstance(w, str) for w in words)
    assert isinstance(record, ChatRecord)
    text = "".join(str(w) for w in words)
    assert (tutor.provider, tutor.model) == ("tracebook", "scenario-tutor")
    assert (record.provider, record.response_model, record.finish_reason) == ("tracebook", "scenario-tutor", "stop")
    expected_id = "tutor-" + hashlib.sha256(b"attempt-1:1").hexdigest()[:32]
    assert record.response_id == expected_id
    assert record.input_tokens == estimate_tokens("Our pipeline is a RAG service and we want to trace it well.")
    assert record.output_tokens == estimate_tokens(text) == -(-len(text) // 4)
    assert record.fallback_reason is None


def test_pieces_are_words_with_their_whitespace_and_join_to_the_reply() -> None:
    text = "**Right.** Look at `redis_get`:\n\n- 408 ms\n"
    assert list(pieces(text)) == ["**Right.** ", "Look ", "at ", "`redis_get`:\n\n", "- ", "408 ", "ms\n"]
    assert "".join(pieces(text)) == text


def test_the_same_transcript_gets_the_same_reply_and_judge_gives_the_streamed_verdict() -> None:
    request = Conversation(DESIGN).request(GOOD_SAMPLING)
    first, second = list(ScenarioTutor().stream(request)), list(ScenarioTutor().stream(request))
    assert first == second
    record = first[-1]
    assert isinstance(record, ChatRecord)
    assert ScenarioTutor().judge(request) == record.verdict


def test_a_good_answer_ticks_its_topic_explains_it_and_asks_the_next_question() -> None:
    chat = Conversation(DESIGN)
    chat.say("Our pipeline is a RAG service and we want to trace it well.")
    assert chat.state == "sampling:0"

    text, record = chat.say(GOOD_SAMPLING)

    assert record.verdict.rubric_hits == {"sampling"}
    assert record.verdict.substantive
    assert "**Sampling ✓**" in text
    assert "you said “tail sampling”" in text
    assert "Model answer for sampling." in text
    assert text.rstrip().endswith("**Privacy.** Where does PII get removed?")
    assert chat.state == "privacy:0"


def test_any_topic_can_be_ticked_and_all_topics_lead_to_a_wrap_up_that_still_gives_feedback() -> None:
    chat = Conversation(DESIGN)
    _, record = chat.say(GOOD_PRIVACY)  # answers the second topic first
    assert record.verdict.rubric_hits == {"privacy"}
    assert chat.state == "sampling:0"
    text, record = chat.say(GOOD_SAMPLING)
    assert record.verdict.rubric_hits == {"sampling"}
    assert chat.state == "wrap-up"
    assert "That completes the walk" in text
    assert "✓ Keeps error traces" in text
    text, record = chat.say("Actually I would add head sampling in front of the tail sampling rules to cut costs.")
    assert "Head sampling decides before the outcome" in text
    assert record.verdict.substantive
    assert chat.state == "wrap-up"
    assert chat.session is not None
    assert chat.session.is_complete
    assert chat.completions == 1


def test_a_pitfall_gets_its_correction_and_a_partial_answer_what_is_missing() -> None:
    chat = Conversation(DESIGN)
    chat.say("Our pipeline is a RAG service and we want to trace it well.")

    text, record = chat.say("I would configure head sampling so that we keep errors cheaply.")

    assert "About “head sampling”: Head sampling decides before the outcome" in text
    assert "On **Sampling** you have:" in text
    assert "- Uses tail sampling" in text
    assert record.verdict.rubric_hits == frozenset()
    assert chat.state == "sampling:1"


def test_a_negated_pitfall_is_not_corrected() -> None:
    chat = Conversation(DESIGN)
    text, _ = chat.say("I'm not going to use head sampling; tail sampling keeps every error trace.")
    assert "Head sampling decides" not in text


def test_two_tries_without_the_topic_explain_it_and_move_on() -> None:
    chat = Conversation(DESIGN)
    chat.say("Our pipeline is a RAG service and we want to trace it well.")
    chat.say("The sampler should be whatever the pipeline default is for our trace volume.")
    text, record = chat.say("I would probably keep errors somehow, the trace volume is big.")
    assert "Model answer for sampling." in text
    assert "**Privacy.**" in text
    assert record.verdict.rubric_hits == frozenset()
    assert chat.state == "privacy:0"


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ("tail sampling, collector, redact, hash", "list of keywords"),
        ("tail sampling collector", "too short"),
        ("Keeps error traces. Redacts PII in the Collector", "pasted back"),
    ],
)
def test_junk_ticks_nothing_and_does_not_count_as_an_exchange(message: str, says: str) -> None:
    chat = Conversation(DESIGN)
    text, record = chat.say(message)
    assert says in text
    assert record.verdict.rubric_hits == frozenset()
    assert not record.verdict.substantive


def test_a_repeat_and_an_off_topic_message_count_for_nothing() -> None:
    chat = Conversation(DESIGN)
    chat.say(GOOD_SAMPLING)
    text, record = chat.say(GOOD_SAMPLING.upper())
    assert "You sent that already (message 1)" in text
    assert not record.verdict.substantive
    text, record = chat.say("What is the best football team in Europe this season?")
    assert text.startswith("Let's get back to the design.")
    assert not record.verdict.substantive
    assert chat.session is not None
    assert chat.session.rubric_ticked == {"sampling"}


def test_three_good_messages_complete_a_design_lab_and_three_junk_ones_do_not() -> None:
    junk = Conversation(DESIGN)
    for message in ("tail sampling", "collector, redact, hash", "tail sampling"):
        junk.say(message)
    assert junk.session is not None
    assert not junk.session.is_complete

    good = Conversation(DESIGN)
    for message in ("Our pipeline is a RAG service and we want to trace it well.", GOOD_SAMPLING, GOOD_PRIVACY):
        good.say(message)
    assert good.session is not None
    assert good.session.is_complete


def test_an_unknown_state_from_another_model_restarts_at_the_first_open_topic() -> None:
    chat = Conversation(DESIGN)
    chat.say(GOOD_SAMPLING)
    assert chat.session is not None
    chat.session = replace(chat.session, exchanges=(replace(chat.session.exchanges[0], state="llm:whatever"),))
    text, _ = chat.say("We run everything through one pipeline, nothing special about it.")
    assert "**Privacy.** Where does PII get removed?" in text


def test_a_question_gets_feedback_but_counts_only_when_it_ticks_a_topic() -> None:
    chat = Conversation(DESIGN)
    chat.say("Our pipeline is a RAG service and we want to trace it well.")

    text, record = chat.say("Is head sampling a good idea for our pipeline?")
    assert "Head sampling decides before the outcome" in text
    assert not record.verdict.substantive
    assert chat.state == "sampling:0"  # not a try

    text, record = chat.say("What do you think about something else for the trace volume?")
    assert "I have no ready answer to that question" in text
    assert not record.verdict.substantive
    assert chat.state == "sampling:0"

    _, record = chat.say("Would tail sampling in the collector that keeps errors work?")
    assert record.verdict.rubric_hits == {"sampling"}
    assert record.verdict.substantive


def test_a_weak_choice_takes_its_words_out_of_the_credit() -> None:
    lab = replace(
        DESIGN,
        walk=(
            replace(
                DESIGN.walk[0],
                pitfalls=(Correction(("head ... error",), "Head sampling cannot keep every error."),),
            ),
            DESIGN.walk[1],
        ),
    )
    text, record = Conversation(lab).say("We would do head sampling and hope the errors survive it.")
    assert "Head sampling cannot keep every error." in text
    assert "you said “errors”" not in text
    assert record.verdict.rubric_hits == frozenset()


def test_asking_how_to_do_a_later_topic_opens_that_topic() -> None:
    chat = Conversation(DESIGN)
    chat.say("Our pipeline is a RAG service and we want to trace it well.")
    text, record = chat.say("How do we redact the prompts?")
    assert "That is part of **Privacy** — let's take that topic now." in text
    assert text.rstrip().endswith("**Privacy.** Where does PII get removed?")
    assert chat.state == "privacy:0"
    assert not record.verdict.substantive
