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
