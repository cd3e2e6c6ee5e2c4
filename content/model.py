"""The module's content model: plain frozen dataclasses, no I/O.

Ids are stable: they become xAPI activity ids, gradebook resource ids and SCORM identifiers, so every
object carries the id its file gave it rather than one derived from its text.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction


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
