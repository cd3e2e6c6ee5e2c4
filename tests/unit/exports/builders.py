"""Builders for the exports tests: a learner in a Canvas course, one xAPI statement of every kind for real content,
and the facts a certificate states."""

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from content import AssessmentKind, Module
from exports.certificates import CertificateFacts
from exports.xapi import ActivityIds, Learner, Statements, Where

BASE = "https://tracebook.example.edu/xapi"
ISSUER = "https://canvas.example.edu"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
# With a fraction of a second, which the credential drops: its nbf counts whole seconds.
CERTIFICATE_ISSUED = datetime(2026, 11, 28, 14, 3, 7, 250_000, tzinfo=UTC)
REGISTRATION = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
LAB_REGISTRATION = "0b9d8c7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e"

WHO = Learner(issuer=ISSUER, sub="8f3e2c1a-student", name="Ada Lovelace")
WHERE = Where(
    issuer=ISSUER,
    platform_name="Canvas",
    deployment_id="1:4dde05e8ca1973bcca9bffc13e1548820eee93a3",
    context_id="course-42",
    context_scope_id="course-42",
    context_title="LLM Operations 101",
    resource_link_id="link-module",
)


def make_statements(module: Module) -> Statements:
    return Statements(ActivityIds(BASE), module)


def every_statement(module: Module) -> list[dict[str, Any]]:
    """One statement of every kind the tool emits, and an answer — right and wrong — to every question."""
    build = make_statements(module)
    found: list[dict[str, Any]] = []
    for lesson in module.lessons:
        found.append(build.experienced(WHO, WHERE, REGISTRATION, lesson.id, T0))
    for assessment in (*module.quizzes, module.test):
        found.append(build.attempted(WHO, WHERE, REGISTRATION, assessment.id, T0))
        for question in assessment.questions:
            wrong = next(option for option in question.options if not option.correct)
            for revision, option in enumerate((wrong, question.correct_option), start=1):
                found.append(
                    build.answered(
                        WHO, WHERE, REGISTRATION, assessment.id, question.id, option.id, option.correct, revision, T0
                    )
                )
        total = len(assessment.questions)
        passed = True if assessment.kind is AssessmentKind.TEST else None
        found += build.finished(WHO, WHERE, REGISTRATION, assessment.id, total, total, passed, timedelta(minutes=9), T0)
    for lab in module.labs:
        found.append(build.lab_started(WHO, WHERE, LAB_REGISTRATION, lab.id, T0))
        found.append(exchange(build, lab.id, include_text=False))
        found.append(exchange(build, lab.id, include_text=True, turn=2))
        found.append(build.lab_completed(WHO, WHERE, LAB_REGISTRATION, lab.id, T0))
    found.append(build.earned(WHO, WHERE, REGISTRATION, "K7M2-9QXD-4TJA", 13, 15, T0))
    return found


def exchange(
    build: Statements,
    lab_id: str,
    *,
    include_text: bool,
    turn: int = 1,
    message: str = "Show me a trace with a problem and help me diagnose it",
    input_tokens: int | None = 812,
) -> dict[str, Any]:
    return build.lab_exchange(
        WHO,
        WHERE,
        LAB_REGISTRATION,
        lab_id,
        turn=turn,
        message=message,
        reply="Here is a trace from the chat API: which span makes it slow?",
        model="gpt-4o-mini",
        provider="openai",
        input_tokens=input_tokens,
        output_tokens=240,
        latency_ms=1532.5,
        fallback=None,
        include_text=include_text,
        at=T0,
    )


def make_certificate_facts(**changes: Any) -> CertificateFacts:
    """A first certificate for a passed module test; ``changes`` replace any of its fields."""
    facts = CertificateFacts(
        certificate_id="K7M2-9QXD-4TJA",
        version=1,
        holder_name="Ada Lovelace",
        module_id="module-3-tracing-llm-calls",
        module_title="Tracing LLM Calls",
        score_correct=13,
        score_total=15,
        issued_at=CERTIFICATE_ISSUED,
        issuer_name="Northwind University (Canvas)",
        verification_url="https://tracebook.example.edu/c/K7M2-9QXD-4TJA",
    )
    return dataclasses.replace(facts, **changes)
