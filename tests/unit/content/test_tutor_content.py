"""The labs' tutor scripts: Lab 1's six scenarios and glossary, the design labs' walks, and the cross-checks that
name the file and field of a broken script."""

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from content import ContentError, Module, load_module
from content.loader import DEFAULT_MODULE_DIR

FAULTS = ["slow-cache", "truncation", "missing-usage", "retry-storm", "masked-retrieval-error", "broken-parent"]


def test_lab_1_has_the_six_kinds_of_fault_each_a_realistic_tree(module: Module) -> None:
    lab = module.lab("lab-1")
    assert lab is not None
    assert [s.id for s in lab.scenarios] == FAULTS
    rubric = {r.id for r in lab.rubric}
    for scenario in lab.scenarios:
        spans = scenario.trace.spans
        names = {s.name for s in spans}
        assert {"handle_chat_request", "llm_completion"} <= names, scenario.id
        assert 4 <= len(spans) <= 10, scenario.id
        assert len(scenario.trace.trace_id) == 32
        assert all(len(s.span_id) == 16 for s in spans)
        assert all(c.ticks in rubric for c in scenario.criteria if c.ticks), scenario.id
        assert scenario.misconceptions, scenario.id
        llm = next(s for s in spans if s.name == "llm_completion" and s.status == "OK")
        assert llm.attribute("gen_ai.system") == "openai"
        assert llm.attribute("gen_ai.request.model")
        assert [e.name for e in llm.events] == ["first_token_received"], scenario.id


def test_the_planted_faults_are_in_the_data(module: Module) -> None:
    lab = module.lab("lab-1")
    assert lab is not None
    by_id = {s.id: s for s in lab.scenarios}

    def span(scenario: str, name: str) -> Any:
        return next(s for s in by_id[scenario].trace.spans if s.name == name)

    assert span("slow-cache", "redis_get").duration_ms == 408
    truncated = span("truncation", "llm_completion")
    assert truncated.attribute("gen_ai.response.finish_reasons") == ("length",)
    assert truncated.attribute("gen_ai.usage.output_tokens") == truncated.attribute("gen_ai.request.max_tokens")
    assert span("missing-usage", "llm_completion").attribute("gen_ai.usage.input_tokens") is None
    hashes = {s.attribute("app.prompt.sha256") for s in by_id["retry-storm"].trace.spans if s.name == "llm_completion"}
    assert len(hashes) == 1
    assert None not in hashes
    assert span("masked-retrieval-error", "vector_search").status == "ERROR"
    assert span("masked-retrieval-error", "handle_chat_request").status == "OK"
    other = span("broken-parent", "POST /search")
    assert other.parent_span_id is None
    assert other.trace_id not in (None, by_id["broken-parent"].trace.trace_id)


def test_the_slow_cache_correction_is_about_the_llm_span(module: Module) -> None:
    lab = module.lab("lab-1")
    assert lab is not None
    scenario = lab.scenario_by_id("slow-cache")
    assert scenario is not None
    blame = next(m for m in scenario.misconceptions if "llm_completion is slow" in m.phrases)
    assert "`llm_completion` is the longest span" in blame.reply


def test_lab_1_answers_the_basic_questions_of_lesson_1(module: Module) -> None:
    lab = module.lab("lab-1")
    assert lab is not None
    concepts = {c.id for c in lab.concepts}
    assert {"trace", "span", "span-event", "traceparent", "parent-span-id", "finish-reasons", "genai-attributes"} <= (
        concepts
    )
    assert lab.vocabulary
    assert lab.steer


@pytest.mark.parametrize("lab_id", ["lab-2", "lab-3", "lab-4"])
def test_design_labs_walk_their_topics_with_one_rubric_item_each(module: Module, lab_id: str) -> None:
    lab = module.lab(lab_id)
    assert lab is not None
    topics = [t.id for t in lab.topics]
    assert [r.id for r in lab.rubric] == topics == [s.topic for s in lab.walk]
    for step in lab.walk:
        assert step.pitfalls
        assert step.explain


DESIGN_CONCEPTS = {
    "lab-2": {"auto-instrumentation", "otel-sdk", "span-processor", "sampling", "tail-sampling", "collector", "pii"},
    "lab-3": {"cost-formula", "attribute-priorities", "gdpr", "prompt-hash", "side-channel-store", "streaming", "ttft",
              "include-usage"},
    "lab-4": {"langfuse", "helicone", "phoenix", "datadog-llm-observability", "langsmith", "collector-fanout", "hipaa",
              "baa"},
}  # fmt: skip


@pytest.mark.parametrize("lab_id", sorted(DESIGN_CONCEPTS))
def test_design_labs_answer_the_questions_of_their_lesson(module: Module, lab_id: str) -> None:
    lab = module.lab(lab_id)
    assert lab is not None
    assert DESIGN_CONCEPTS[lab_id] <= {c.id for c in lab.concepts}
    topics = {t.id for t in lab.topics}
    assert all(c.topic in topics for c in lab.concepts if c.topic is not None)
    assert {c.topic for c in lab.concepts} >= topics  # every topic has a concept to ask about


@pytest.fixture
def module_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tracing-llm-calls"
    shutil.copytree(DEFAULT_MODULE_DIR, target)
    return target


def _first_criterion(lab: dict[str, Any]) -> dict[str, Any]:
    criterion: dict[str, Any] = lab["scenarios"][0]["criteria"][0]
    return criterion


BREAKAGES: dict[str, tuple[str, Callable[[dict[str, Any]], None], str, str]] = {
    "unknown rubric item": (
        "lab-1",
        lambda lab: _first_criterion(lab).update(ticks="speed"),
        "scenarios[0].criteria[0].ticks",
        "'speed' is not a rubric item of this lab",
    ),
    "too few scenarios": (
        "lab-1",
        lambda lab: lab.update(scenarios=lab["scenarios"][:5]),
        "scenarios",
        "at least 6 scenarios (found 5)",
    ),
    "dangling parent": (
        "lab-1",
        lambda lab: lab["scenarios"][0]["trace"]["spans"][2].update(parent_span_id="00000000000000ff"),
        "scenarios[0].trace.spans[2]",
        "parent '00000000000000ff' of 'redis_get' is not a span of this trace",
    ),
    "need above criteria": (
        "lab-1",
        lambda lab: lab["scenarios"][1].update(need=9),
        "scenarios[1].need",
        "need is 9 but there are only 3 criteria",
    ),
    "upper-case phrase": (
        "lab-1",
        lambda lab: _first_criterion(lab)["any"].append("Redis"),
        "scenarios[0].criteria[0].any[7]",
        "'Redis' is not a phrase: write it in lower case",
    ),
    "number phrase": (
        "lab-1",
        lambda lab: _first_criterion(lab)["any"].append(408),
        "scenarios[0].criteria[0].any[7]",
        "quote numbers",
    ),
    "rubric out of topic order": (
        "lab-2",
        lambda lab: lab.update(rubric=list(reversed(lab["rubric"]))),
        "rubric",
        "one item per topic, in the topics' order",
    ),
    "topic without a walk step": (
        "lab-3",
        lambda lab: lab.update(walk=lab["walk"][:2]),
        "walk",
        "one step per topic",
    ),
    "no steer": ("lab-4", lambda lab: lab.pop("steer"), "steer", "missing"),
    "concept of an unknown topic": (
        "lab-2",
        lambda lab: lab["concepts"][0].update(topic="costs"),
        "concepts[0].topic",
        "'costs' is not a topic of this lab",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_tutor_script_is_reported_with_its_file_and_field(module_copy: Path, breakage: str) -> None:
    lab_id, change, field, message = BREAKAGES[breakage]
    path = module_copy / "labs" / f"{lab_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    with pytest.raises(ContentError) as raised:
        load_module(module_copy)

    problems = [str(p) for p in raised.value.problems]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"tracing-llm-calls/labs/{lab_id}.yaml: {field}: "), problems[0]
    assert message in problems[0]
