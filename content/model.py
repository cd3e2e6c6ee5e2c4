"""The module's content model: plain frozen dataclasses, no I/O.

Ids are stable: they become xAPI activity ids, gradebook resource ids and SCORM identifiers, so every
object carries the id its file gave it rather than one derived from its text.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any


class AssessmentKind(StrEnum):
    QUIZ = "quiz"
    TEST = "test"


class UnitKind(StrEnum):
    LESSON = "lesson"
    QUIZ = "quiz"
    LAB = "lab"
    TEST = "test"


class FeedbackOrigin(StrEnum):
    SEED = "seed"  # the course author's words
    EDITOR = "editor"  # written by us where the course text had none


class ShowCorrectAnswers(StrEnum):
    NEVER = "never"
    AFTER_SUBMIT = "after-submit"
    AFTER_PASS_OR_LAST_ATTEMPT = "after-pass-or-last-attempt"


class CompletionRule(StrEnum):
    DISTINCT_SCENARIOS = "distinct-scenarios"
    EXCHANGES = "exchanges"


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    correct: bool = False
    source: str | None = None  # for a distractor: the course-text sentence it is built from


@dataclass(frozen=True)
class Feedback:
    correct: str
    incorrect: str
    incorrect_origin: FeedbackOrigin = FeedbackOrigin.SEED


@dataclass(frozen=True)
class Question:
    id: str
    stem: str
    options: tuple[Option, ...]
    feedback: Feedback

    @property
    def correct_option(self) -> Option:
        return next(o for o in self.options if o.correct)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Assessment:
    id: str
    kind: AssessmentKind
    title: str
    questions: tuple[Question, ...]
    subtitle: str | None = None
    lesson_id: str | None = None

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True)
class Lesson:
    id: str
    number: int
    title: str
    tagline: str
    question: str
    body: str  # Markdown


@dataclass(frozen=True)
class Topic:
    id: str
    title: str


@dataclass(frozen=True)
class RubricItem:
    """One yes/no criterion of a lab's checklist, shown to the student and to the model that judges."""

    id: str
    text: str


# An attribute value as OpenTelemetry allows it: a scalar or a homogeneous list of scalars.
AttributeScalar = str | int | float | bool
AttributeValue = AttributeScalar | tuple[AttributeScalar, ...]


class SpanKind(StrEnum):
    SERVER = "SERVER"
    CLIENT = "CLIENT"
    INTERNAL = "INTERNAL"


class SpanStatus(StrEnum):
    OK = "OK"
    ERROR = "ERROR"
    UNSET = "UNSET"


@dataclass(frozen=True)
class SpanEvent:
    name: str
    at_ms: int  # from the start of the trace, like the span's start_ms


@dataclass(frozen=True)
class TraceSpan:
    span_id: str  # 16 hex digits
    parent_span_id: str | None
    name: str
    kind: SpanKind
    start_ms: int
    duration_ms: int
    status: SpanStatus = SpanStatus.UNSET
    status_message: str | None = None
    # Pairs rather than a dict, so a span (and the lab holding it) stays hashable.
    attributes: tuple[tuple[str, AttributeValue], ...] = ()
    events: tuple[SpanEvent, ...] = ()
    trace_id: str | None = None  # set only when the span belongs to another trace than the one it is shown with

    def attribute(self, key: str) -> AttributeValue | None:
        return next((value for name, value in self.attributes if name == key), None)

    def as_dict(self) -> dict[str, Any]:
        """The span in the chat's trace JSON format (see content/README.md)."""
        data: dict[str, Any] = {"span_id": self.span_id, "parent_span_id": self.parent_span_id}
        if self.trace_id is not None:
            data["trace_id"] = self.trace_id
        data |= {
            "name": self.name,
            "kind": str(self.kind),
            "start_ms": self.start_ms,
            "duration_ms": self.duration_ms,
            "status": str(self.status),
        }
        if self.status_message is not None:
            data["status_message"] = self.status_message
        data["attributes"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.attributes}
        data["events"] = [{"name": e.name, "at_ms": e.at_ms} for e in self.events]
        return data


@dataclass(frozen=True)
class Trace:
    """A trace tree as the chat shows it: spans in a flat list, each naming its parent."""

    trace_id: str  # 32 hex digits
    spans: tuple[TraceSpan, ...]
    title: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"trace_id": self.trace_id}
        if self.title is not None:
            data["title"] = self.title
        data["spans"] = [span.as_dict() for span in self.spans]
        return data


@dataclass(frozen=True)
class Criterion:
    """What a good answer contains, recognised by phrases; ``ticks`` names the lab rubric item it ticks."""

    id: str
    text: str
    phrases: tuple[str, ...]
    ticks: str | None = None


@dataclass(frozen=True)
class Correction:
    """A wrong diagnosis or weak design choice, recognised by phrases, and the tutor's specific correction."""

    phrases: tuple[str, ...]
    reply: str  # Markdown


@dataclass(frozen=True)
class Scenario:
    """One Lab 1 trace with a planted fault: what the student is shown and how their diagnosis is judged."""

    id: str
    title: str
    brief: str  # Markdown shown above the tree
    trace: Trace
    criteria: tuple[Criterion, ...]
    need: int  # criteria a diagnosis must meet to count as right
    misconceptions: tuple[Correction, ...]
    explain: str  # Markdown: the evidence in the tree and the lesson's concept behind it


@dataclass(frozen=True)
class WalkStep:
    """One topic of a design lab: the tutor's question, what a good answer contains, and the model answer."""

    topic: str
    ask: str  # Markdown
    criteria: tuple[Criterion, ...]
    need: int  # criteria one message must meet to tick the topic's rubric item
    pitfalls: tuple[Correction, ...]
    explain: str  # Markdown


@dataclass(frozen=True)
class Concept:
    """A glossary entry the tutor answers "what is …?" questions with."""

    id: str
    phrases: tuple[str, ...]
    answer: str  # Markdown
    # The design-lab topic it belongs to: asked for advice about the open topic, the tutor gives its model answer.
    topic: str | None = None


@dataclass(frozen=True)
class Completion:
    rule: CompletionRule
    count: int


@dataclass(frozen=True)
class Lab:
    id: str
    lesson_id: str
    title: str
    goal: str
    chat_title: str
    task: str
    completion_text: str
    starter: str
    opening_message: str
    assistant_role: str
    scenario: str
    completion: Completion
    topics: tuple[Topic, ...] = ()
    rubric: tuple[RubricItem, ...] = ()
    # The offline tutor's script: scenarios (Lab 1) or a walk through the topics (Labs 2–4).
    scenarios: tuple[Scenario, ...] = ()
    walk: tuple[WalkStep, ...] = ()
    concepts: tuple[Concept, ...] = ()
    vocabulary: tuple[str, ...] = ()  # on-topic words beyond the phrases; a message matching none is off-topic
    steer: str = ""  # Markdown: how the tutor brings a drifting conversation back

    def scenario_by_id(self, scenario_id: str) -> Scenario | None:  # `scenario` is the seed's text
        return next((s for s in self.scenarios if s.id == scenario_id), None)

    def step_for(self, topic_id: str) -> WalkStep | None:
        return next((s for s in self.walk if s.topic == topic_id), None)


@dataclass(frozen=True)
class ReviewPolicy:
    """What a student sees of a submitted module-test attempt."""

    show_score: bool
    show_incorrect_questions: bool
    show_correct_answers: ShowCorrectAnswers


@dataclass(frozen=True)
class ModuleSettings:
    pass_percent: int
    test_attempts: int
    review: ReviewPolicy
    shuffle_questions: bool
    shuffle_options: bool

    @property
    def pass_ratio(self) -> Fraction:
        """The pass mark as an exact ratio: 80 % is Fraction(4, 5), never the float 0.8."""
        return Fraction(self.pass_percent, 100)


@dataclass(frozen=True)
class Unit:
    kind: UnitKind
    id: str


@dataclass(frozen=True)
class Module:
    id: str
    number: int
    title: str
    summary: str
    units: tuple[Unit, ...]
    settings: ModuleSettings
    lessons: tuple[Lesson, ...]
    quizzes: tuple[Assessment, ...]
    test: Assessment
    labs: tuple[Lab, ...]
    _by_id: dict[str, Lesson | Assessment | Lab] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items: tuple[Lesson | Assessment | Lab, ...] = (*self.lessons, *self.quizzes, self.test, *self.labs)
        for item in items:
            self._by_id[item.id] = item

    def lesson(self, lesson_id: str) -> Lesson | None:
        found = self._by_id.get(lesson_id)
        return found if isinstance(found, Lesson) else None

    def lab(self, lab_id: str) -> Lab | None:
        found = self._by_id.get(lab_id)
        return found if isinstance(found, Lab) else None

    def assessment(self, assessment_id: str) -> Assessment | None:
        found = self._by_id.get(assessment_id)
        return found if isinstance(found, Assessment) else None

    def quiz_for(self, lesson_id: str) -> Assessment | None:
        return next((q for q in self.quizzes if q.lesson_id == lesson_id), None)

    def lab_for(self, lesson_id: str) -> Lab | None:
        return next((lab for lab in self.labs if lab.lesson_id == lesson_id), None)

    def title_of(self, unit_id: str) -> str:
        return self._by_id[unit_id].title

    @property
    def question_count(self) -> int:
        return sum(len(q.questions) for q in self.quizzes)
