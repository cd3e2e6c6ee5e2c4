"""The scenario tutor on the real design labs (2–4): learners' answers tick their topic, every rubric item can be
ticked, three good messages complete a lab, and the walk ends in a wrap-up."""

import pytest

from content import Module
from content.model import Lab
from tests.lab_answers import SAMPLES
from tests.unit.labs.tutor_conversation import Conversation

DESIGN_LABS = sorted(SAMPLES)
# Lab 4 has a fourth topic, beyond the three messages that complete it.
MORE = {
    "lab-4": [
        (
            "data-placement",
            "Datadog only gets the token counts, latency and finish_reason; the prompt text stays in self-hosted "
            "Langfuse inside our AWS account.",
        )
    ]
}


def _lab(module: Module, lab_id: str) -> Lab:
    lab = module.lab(lab_id)
    assert lab is not None
    return lab


@pytest.mark.parametrize("lab_id", DESIGN_LABS)
def test_each_answer_ticks_its_own_topic(module: Module, lab_id: str) -> None:
    lab = _lab(module, lab_id)
    for topic, message in SAMPLES[lab_id]:
        _, record = Conversation(lab).say(message)
        assert record.verdict.rubric_hits == {topic}, message
        assert record.verdict.substantive
        assert record.verdict.scenario_id is None


@pytest.mark.parametrize("lab_id", DESIGN_LABS)
def test_three_good_messages_complete_the_lab_once_and_every_rubric_item_can_be_ticked(
    module: Module, lab_id: str
) -> None:
    lab = _lab(module, lab_id)
    chat = Conversation(lab)
    texts = [chat.say(message)[0] for _, message in SAMPLES[lab_id]]
    assert chat.session is not None
    assert chat.session.is_complete
    assert chat.completions == 1
    texts += [chat.say(message)[0] for _, message in MORE.get(lab_id, [])]
    assert chat.session.rubric_ticked == {r.id for r in lab.rubric}
    assert chat.completions == 1
    assert "That completes the walk" in texts[-1]
    assert chat.state == "wrap-up"
    for step in lab.walk:  # each topic's model answer is given once it is ticked
        assert any(step.explain.strip() in text for text in texts)


@pytest.mark.parametrize("lab_id", DESIGN_LABS)
def test_the_walk_asks_the_first_topic_after_the_learner_describes_their_setup(module: Module, lab_id: str) -> None:
    lab = _lab(module, lab_id)
    text, record = Conversation(lab).say(
        "Let me start with our setup: it is a production pipeline with a lot of traffic."
    )
    first = lab.walk[0]
    assert first.ask.strip() in text
    assert record.verdict.state == f"{first.topic}:0"


@pytest.mark.parametrize("lab_id", DESIGN_LABS)
def test_every_pitfall_gets_its_own_correction(module: Module, lab_id: str) -> None:
    lab = _lab(module, lab_id)
    for step in lab.walk:
        for pitfall in step.pitfalls:
            message = f"For this part I think we should {pitfall.phrases[0]} and see how it goes for the pipeline."
            text, record = Conversation(lab).say(message)
            assert pitfall.reply.strip() in text, message
            assert record.verdict.substantive


@pytest.mark.parametrize("lab_id", DESIGN_LABS)
def test_off_topic_is_steered_back(module: Module, lab_id: str) -> None:
    lab = _lab(module, lab_id)
    text, record = Conversation(lab).say("Who won the football match last night in Madrid?")
    assert text.startswith(lab.steer.strip())
    assert not record.verdict.substantive
    assert record.verdict.rubric_hits == frozenset()


def _concept_answer(lab: Lab, concept_id: str) -> str:
    return next(c.answer.strip() for c in lab.concepts if c.id == concept_id)


@pytest.mark.parametrize(
    ("lab_id", "message", "concept_id"),
    [
        ("lab-2", "What is PII?", "pii"),
        ("lab-2", "Can you show me how tail sampling works?", "tail-sampling"),
        ("lab-3", "What is a span?", "span-and-trace"),
        ("lab-3", "What does GDPR say?", "gdpr"),
        ("lab-3", "how does streaming work?", "streaming"),
        ("lab-3", "What are the highest-priority span attributes for my B2B financial AI product?",
         "attribute-priorities"),
        ("lab-4", "What is a BAA?", "baa"),
        ("lab-4", "Walk me through how to evaluate Langfuse vs Helicone for HIPAA-regulated healthcare AI.",
         "langfuse-vs-helicone"),
    ],
)  # fmt: skip
def test_a_question_gets_the_glossary_answer_and_is_neither_an_exchange_nor_a_try(
    module: Module, lab_id: str, message: str, concept_id: str
) -> None:
    lab = _lab(module, lab_id)
    chat = Conversation(lab)
    chat.say("Let me start with our setup: it is a production pipeline with a lot of traffic.")

    text, record = chat.say(message)

    assert text.startswith(_concept_answer(lab, concept_id))
    assert f"Back to **{lab.topics[0].title}.**" in text  # the open question stays open
    assert record.verdict.rubric_hits == frozenset()
    assert not record.verdict.substantive
    assert chat.state == f"{lab.walk[0].topic}:0"  # no try counted


def test_three_questions_do_not_complete_a_design_lab(module: Module) -> None:
    chat = Conversation(_lab(module, "lab-3"))
    for message in ("What is a span?", "What does GDPR say?", "how does streaming work?"):
        chat.say(message)
    assert chat.session is not None
    assert chat.session.rubric_ticked == frozenset()
    assert not chat.session.is_complete


def test_a_question_that_ticks_a_topic_counts(module: Module) -> None:
    chat = Conversation(_lab(module, "lab-2"))
    _, record = chat.say("Would tail sampling in the collector that keeps every error trace and the p99 be right?")
    assert record.verdict.rubric_hits == {"sampling-configuration"}
    assert record.verdict.substantive


def test_asking_what_to_do_about_another_topic_answers_that_topic_and_opens_it(module: Module) -> None:
    lab = _lab(module, "lab-2")
    chat = Conversation(lab)
    chat.say(SAMPLES["lab-2"][0][1])  # library selection ticked: sampling is asked next
    chat.say(SAMPLES["lab-2"][1][1])  # sampling ticked: PII handling is on screen
    assert chat.state == "pii-handling:0"

    text, record = chat.say("Ok what would you do for sampling then?")

    sampling = lab.step_for("sampling-configuration")
    assert sampling is not None
    assert text.startswith(_concept_answer(lab, "sampling"))
    assert "A strong answer covers" not in text  # not judged as a PII answer
    assert not record.verdict.substantive
    assert chat.state == "pii-handling:0"  # sampling is done, so the PII question stays open


def test_asking_what_to_do_about_the_open_topic_gives_its_model_answer(module: Module) -> None:
    lab = _lab(module, "lab-2")
    chat = Conversation(lab)
    chat.say(SAMPLES["lab-2"][0][1])
    assert chat.state == "sampling-configuration:0"

    text, record = chat.say("Ok what would you do for sampling then?")

    sampling = lab.step_for("sampling-configuration")
    assert sampling is not None
    assert text.startswith(sampling.explain.strip())
    assert not record.verdict.substantive
    assert chat.state == "pii-handling:0"


def test_asking_what_to_do_about_a_later_topic_opens_it(module: Module) -> None:
    lab = _lab(module, "lab-2")
    chat = Conversation(lab)
    chat.say("Let me start with our setup: it is a production pipeline with a lot of traffic.")

    text, record = chat.say("What would you do for PII?")

    pii = lab.step_for("pii-handling")
    assert pii is not None
    assert text.startswith(_concept_answer(lab, "pii"))
    assert pii.ask.strip() in text
    assert chat.state == "pii-handling:0"
    assert not record.verdict.substantive


def test_show_me_inside_a_question_does_not_skip_the_topic(module: Module) -> None:
    lab = _lab(module, "lab-2")
    chat = Conversation(lab)
    chat.say("Let me start with our setup: it is a production pipeline with a lot of traffic.")
    text, _ = chat.say("Can you show me how tail sampling works?")
    assert chat.state == "library-selection:0"
    assert "**Sampling configuration.**" not in text


@pytest.mark.parametrize(
    ("lab_id", "message", "correction", "not_credited"),
    [
        ("lab-4", "I would route the calls through Helicone as a proxy for everything", "under HIPAA",
         "Adds a purpose-built LLM tool"),
        ("lab-4", "just use Datadog LLM Observability for the LLM calls too", "**not self-hostable**",
         "Keeps Datadog for infrastructure"),
        ("lab-3", "store the prompts in the span attributes because the backend is in the EU",
         "Hosting the trace backend in the EU answers residency", "Keeps stored customer content in the EU"),
        ("lab-2", "sample 10% of traces with head sampling", "decides **before** the outcome is known", "Uses "),
    ],
)  # fmt: skip
def test_a_weak_choice_is_corrected_and_earns_no_credit(
    module: Module, lab_id: str, message: str, correction: str, not_credited: str
) -> None:
    text, record = Conversation(_lab(module, lab_id)).say(message)
    assert correction in text
    assert not_credited not in text
    assert "you said" not in text
    assert record.verdict.rubric_hits == frozenset()


def test_a_rejected_weak_choice_is_not_corrected_and_the_rest_is_credited(module: Module) -> None:
    text, record = Conversation(_lab(module, "lab-4")).say(
        "I would not route anything through Helicone; self-hosted Langfuse for prompt versions and evals, and keep "
        "Datadog for infra."
    )
    assert "HTTP proxy" not in text
    assert record.verdict.rubric_hits == {"tool-selection"}
