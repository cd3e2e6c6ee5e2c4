"""marshmallow schemas for the content files: strict (``unknown=RAISE``), loading into frozen dataclasses."""

from collections import Counter
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from content.model import (
    Assessment,
    AssessmentKind,
    AttributeValue,
    Completion,
    CompletionRule,
    Concept,
    Correction,
    Criterion,
    Feedback,
    FeedbackOrigin,
    Lab,
    ModuleSettings,
    Option,
    Question,
    ReviewPolicy,
    RubricItem,
    Scenario,
    ShowCorrectAnswers,
    SpanEvent,
    SpanKind,
    SpanStatus,
    Topic,
    Trace,
    TraceSpan,
    Unit,
    UnitKind,
    WalkStep,
)

ID_PATTERN = r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$"
OPTIONS_PER_QUESTION = 4
MIN_SCENARIOS = 6  # issue 5: Lab 1 has at least six trace scenarios, one per kind of fault

_id = validate.Regexp(
    ID_PATTERN,
    error="'{input}' is not a valid id: use lower-case letters, digits and hyphens, starting with a letter",
)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be empty")


def Id() -> fields.String:  # noqa: N802 - reads as a field type in the schemas below
    return fields.String(required=True, validate=_id)


def Text(**kwargs: Any) -> fields.String:  # noqa: N802
    return fields.String(required=True, validate=_not_blank, **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class OptionSchema(StrictSchema):
    id = Id()
    text = Text()
    correct = fields.Boolean(load_default=False)
    source = fields.String(load_default=None, validate=_not_blank)

    @validates_schema
    def _source_only_on_distractors(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("correct") and data.get("source"):
            raise ValidationError("the correct option takes no source", "source")
        if not data.get("correct") and not data.get("source"):
            raise ValidationError("a wrong option needs the course-text sentence it comes from", "source")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Option:
        return Option(**data)


class FeedbackSchema(StrictSchema):
    correct = Text()
    incorrect = Text()
    incorrect_origin = fields.Enum(FeedbackOrigin, by_value=True, load_default=FeedbackOrigin.SEED)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Feedback:
        return Feedback(**data)


class QuestionSchema(StrictSchema):
    id = Id()
    stem = Text()
    options = fields.List(fields.Nested(OptionSchema), required=True)
    feedback = fields.Nested(FeedbackSchema, required=True)

    @validates_schema(skip_on_field_errors=True)
    def _four_options_one_correct(self, data: dict[str, Any], **_: Any) -> None:
        options: list[Option] = data["options"]
        if len(options) != OPTIONS_PER_QUESTION:
            raise ValidationError(
                f"a question needs exactly {OPTIONS_PER_QUESTION} options (found {len(options)})", "options"
            )
        correct = sum(o.correct for o in options)
        if correct != 1:
            raise ValidationError(f"exactly one option must be correct (found {correct})", "options")
        for what, values in (("id", [o.id for o in options]), ("text", [o.text for o in options])):
            twice = sorted(v for v, n in Counter(values).items() if n > 1)
            if twice:
                raise ValidationError(f"option {what}s must differ: {', '.join(twice)} repeated", "options")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Question:
        return Question(id=data["id"], stem=data["stem"], options=tuple(data["options"]), feedback=data["feedback"])


def _unique_question_ids(questions: list[Question]) -> None:
    twice = sorted(i for i, n in Counter(q.id for q in questions).items() if n > 1)
    if twice:
        raise ValidationError(f"question ids must be unique: {', '.join(twice)} repeated", "questions")


class QuizSchema(StrictSchema):
    id = Id()
    title = Text()
    subtitle = Text()
    lesson = Id()
    questions = fields.List(fields.Nested(QuestionSchema), required=True, validate=validate.Length(min=1))

    @validates_schema(skip_on_field_errors=True)
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        _unique_question_ids(data["questions"])

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Assessment:
        return Assessment(
            id=data["id"],
            kind=AssessmentKind.QUIZ,
            title=data["title"],
            subtitle=data["subtitle"],
            lesson_id=data["lesson"],
            questions=tuple(data["questions"]),
        )


class TestSchema(StrictSchema):
    id = Id()
    title = Text()
    questions = fields.List(fields.Nested(QuestionSchema), required=True, validate=validate.Length(min=1))

    @validates_schema(skip_on_field_errors=True)
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        _unique_question_ids(data["questions"])

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Assessment:
        return Assessment(
            id=data["id"], kind=AssessmentKind.TEST, title=data["title"], questions=tuple(data["questions"])
        )


class LessonHeaderSchema(StrictSchema):
    id = Id()
    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    title = Text()
    tagline = Text()
    question = Text()


class TopicSchema(StrictSchema):
    id = Id()
    title = Text()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Topic:
        return Topic(**data)


class CompletionSchema(StrictSchema):
    rule = fields.Enum(CompletionRule, by_value=True, required=True)
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Completion:
        return Completion(**data)


def _phrase(value: str) -> None:
    # The tutor lower-cases learners' messages before matching; an upper-case phrase could never match.
    if value != value.lower() or not value.strip():
        raise ValidationError(f"'{value}' is not a phrase: write it in lower case, and not empty")
    if not any(c.isalnum() for c in value):
        raise ValidationError(f"'{value}' is not a phrase: it needs a letter or digit to match")


def Phrases() -> fields.List[str]:  # noqa: N802
    return fields.List(PhraseField(), required=True, data_key="any", validate=validate.Length(min=1))


def PhraseField() -> fields.String:  # noqa: N802
    return fields.String(
        validate=_phrase, error_messages={"invalid": "a phrase is text: quote numbers and phrases containing ': '"}
    )


def _unique(values: list[str], what: str, field: str) -> None:
    twice = sorted(v for v, n in Counter(values).items() if n > 1)
    if twice:
        raise ValidationError(f"{what} must be unique: {', '.join(twice)} repeated", field)


def _need_within(data: dict[str, Any]) -> None:
    if data["need"] > len(data["criteria"]):
        raise ValidationError(
            f"need is {data['need']} but there are only {len(data['criteria'])} criteria: it could never be met",
            "need",
        )


class RubricItemSchema(StrictSchema):
    id = Id()
    text = Text()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> RubricItem:
        return RubricItem(**data)


class CriterionSchema(StrictSchema):
    id = Id()
    text = Text()
    phrases = Phrases()
    ticks = fields.String(load_default=None, validate=_id)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Criterion:
        return Criterion(id=data["id"], text=data["text"], phrases=tuple(data["phrases"]), ticks=data["ticks"])


class CorrectionSchema(StrictSchema):
    phrases = Phrases()
    reply = Text()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Correction:
        return Correction(phrases=tuple(data["phrases"]), reply=data["reply"])


SPAN_ID = validate.Regexp(r"^[0-9a-f]{16}$", error="'{input}' is not a span id: 16 lower-case hex digits")
TRACE_ID = validate.Regexp(r"^[0-9a-f]{32}$", error="'{input}' is not a trace id: 32 lower-case hex digits")


class _AttributeValue(fields.Field[AttributeValue]):
    """A string, number, boolean or a list of them: what an OpenTelemetry attribute can hold."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> AttributeValue:
        scalars = (str, int, float, bool)
        if isinstance(value, scalars):
            return value
        if isinstance(value, list) and value and all(isinstance(v, scalars) for v in value):
            return tuple(value)
        raise ValidationError("an attribute value is a string, a number, a boolean or a non-empty list of them")


class SpanEventSchema(StrictSchema):
    name = Text()
    at_ms = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> SpanEvent:
        return SpanEvent(**data)


class TraceSpanSchema(StrictSchema):
    span_id = fields.String(required=True, validate=SPAN_ID)
    parent_span_id = fields.String(required=True, allow_none=True, validate=SPAN_ID)
    trace_id = fields.String(load_default=None, validate=TRACE_ID)
    name = Text()
    kind = fields.Enum(SpanKind, by_value=True, required=True)
    start_ms = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    duration_ms = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    status = fields.Enum(SpanStatus, by_value=True, load_default=SpanStatus.UNSET)
    status_message = fields.String(load_default=None, validate=_not_blank)
    attributes = fields.Dict(keys=fields.String(validate=_not_blank), values=_AttributeValue(), load_default=dict)
    events = fields.List(fields.Nested(SpanEventSchema), load_default=list)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> TraceSpan:
        return TraceSpan(
            **{k: v for k, v in data.items() if k not in ("attributes", "events")},
            attributes=tuple(data["attributes"].items()),
            events=tuple(data["events"]),
        )


class TraceSchema(StrictSchema):
    trace_id = fields.String(required=True, validate=TRACE_ID)
    title = fields.String(load_default=None, validate=_not_blank)
    spans = fields.List(fields.Nested(TraceSpanSchema), required=True, validate=validate.Length(min=1))

    @validates_schema(skip_on_field_errors=True)
    def _tree(self, data: dict[str, Any], **_: Any) -> None:
        spans: list[TraceSpan] = data["spans"]
        _unique([s.span_id for s in spans], "span ids", "spans")
        ids = {s.span_id for s in spans}
        own = [s for s in spans if s.trace_id in (None, data["trace_id"])]
        if not any(s.parent_span_id is None for s in own):
            raise ValidationError("the trace has no root span (a span of this trace with parent_span_id: null)")
        for index, span in enumerate(spans):
            # A span of another trace (a broken traceparent) may name a parent the viewer never received.
            if span.parent_span_id is not None and span.parent_span_id not in ids and span in own:
                raise ValidationError(
                    f"parent '{span.parent_span_id}' of '{span.name}' is not a span of this trace", f"spans[{index}]"
                )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Trace:
        return Trace(trace_id=data["trace_id"], title=data["title"], spans=tuple(data["spans"]))


class _JudgedSchema(StrictSchema):
    """What the tutor judges a message against: criteria, how many make it right, and the explanation."""

    criteria = fields.List(fields.Nested(CriterionSchema), required=True, validate=validate.Length(min=1))
    need = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    explain = Text()

    @validates_schema(skip_on_field_errors=True)
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        _unique([c.id for c in data["criteria"]], "criterion ids", "criteria")
        _need_within(data)


class ScenarioSchema(_JudgedSchema):
    id = Id()
    title = Text()
    brief = Text()
    trace = fields.Nested(TraceSchema, required=True)
    misconceptions = fields.List(fields.Nested(CorrectionSchema), load_default=list)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Scenario:
        return Scenario(
            **{k: v for k, v in data.items() if k not in ("criteria", "misconceptions")},
            criteria=tuple(data["criteria"]),
            misconceptions=tuple(data["misconceptions"]),
        )


class WalkStepSchema(_JudgedSchema):
    topic = Id()
    ask = Text()
    pitfalls = fields.List(fields.Nested(CorrectionSchema), load_default=list)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> WalkStep:
        return WalkStep(
            **{k: v for k, v in data.items() if k not in ("criteria", "pitfalls")},
            criteria=tuple(data["criteria"]),
            pitfalls=tuple(data["pitfalls"]),
        )


class ConceptSchema(StrictSchema):
    id = Id()
    phrases = Phrases()
    answer = Text()
    topic = fields.String(load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Concept:
        return Concept(id=data["id"], phrases=tuple(data["phrases"]), answer=data["answer"], topic=data["topic"])


class LabSchema(StrictSchema):
    id = Id()
    lesson = Id()
    title = Text()
    goal = Text()
    chat_title = Text()
    task = Text()
    completion_text = Text()
    starter = Text()
    opening_message = Text()
    assistant_role = Text()
    scenario = Text()
    completion = fields.Nested(CompletionSchema, required=True)
    topics = fields.List(fields.Nested(TopicSchema), load_default=list)
    rubric = fields.List(fields.Nested(RubricItemSchema), required=True, validate=validate.Length(min=1))
    scenarios = fields.List(fields.Nested(ScenarioSchema), load_default=list)
    walk = fields.List(fields.Nested(WalkStepSchema), load_default=list)
    concepts = fields.List(fields.Nested(ConceptSchema), load_default=list)
    vocabulary = fields.List(PhraseField(), load_default=list)
    steer = Text()

    @validates_schema(skip_on_field_errors=True)
    def _tutor_script(self, data: dict[str, Any], **_: Any) -> None:
        """The offline tutor must be able to run every lab: the script matches the rule and the rubric."""
        rubric_ids = [r.id for r in data["rubric"]]
        _unique(rubric_ids, "rubric ids", "rubric")
        topic_ids = [t.id for t in data["topics"]]
        _unique(topic_ids, "topic ids", "topics")
        _unique([c.id for c in data["concepts"]], "concept ids", "concepts")
        if data["completion"].rule is CompletionRule.DISTINCT_SCENARIOS:
            self._scenarios(data, rubric_ids)
        else:
            self._walk(data, rubric_ids, topic_ids)

    @staticmethod
    def _scenarios(data: dict[str, Any], rubric_ids: list[str]) -> None:
        scenarios: list[Scenario] = data["scenarios"]
        wanted = max(MIN_SCENARIOS, data["completion"].count)
        if len(scenarios) < wanted:
            raise ValidationError(
                f"a distinct-scenarios lab needs at least {wanted} scenarios (found {len(scenarios)})", "scenarios"
            )
        if data["walk"]:
            raise ValidationError("a distinct-scenarios lab is taught with scenarios, not a walk", "walk")
        _unique([s.id for s in scenarios], "scenario ids", "scenarios")
        for index, scenario in enumerate(scenarios):
            for number, criterion in enumerate(scenario.criteria):
                if criterion.ticks is not None and criterion.ticks not in rubric_ids:
                    raise ValidationError(
                        f"'{criterion.ticks}' is not a rubric item of this lab",
                        f"scenarios[{index}].criteria[{number}].ticks",
                    )

    @staticmethod
    def _walk(data: dict[str, Any], rubric_ids: list[str], topic_ids: list[str]) -> None:
        if data["scenarios"]:
            raise ValidationError(
                "an exchanges lab is taught with a walk through its topics, not scenarios", "scenarios"
            )
        if rubric_ids != topic_ids:
            raise ValidationError(
                f"the rubric must have one item per topic, in the topics' order: {', '.join(topic_ids)} "
                f"(found {', '.join(rubric_ids)})",
                "rubric",
            )
        walked = [step.topic for step in data["walk"]]
        if walked != topic_ids:
            raise ValidationError(
                f"the walk must have one step per topic, in the topics' order: {', '.join(topic_ids)} "
                f"(found {', '.join(walked) or 'none'})",
                "walk",
            )
        concepts: list[Concept] = data["concepts"]
        for index, concept in enumerate(concepts):
            if concept.topic is not None and concept.topic not in topic_ids:
                raise ValidationError(f"'{concept.topic}' is not a topic of this lab", f"concepts[{index}].topic")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Lab:
        lesson_id = data.pop("lesson")
        return Lab(
            lesson_id=lesson_id,
            topics=tuple(data.pop("topics")),
            rubric=tuple(data.pop("rubric")),
            scenarios=tuple(data.pop("scenarios")),
            walk=tuple(data.pop("walk")),
            concepts=tuple(data.pop("concepts")),
            vocabulary=tuple(data.pop("vocabulary")),
            **data,
        )


class ReviewSchema(StrictSchema):
    show_score = fields.Boolean(required=True)
    show_incorrect_questions = fields.Boolean(required=True)
    show_correct_answers = fields.Enum(ShowCorrectAnswers, by_value=True, required=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ReviewPolicy:
        return ReviewPolicy(**data)


class SettingsSchema(StrictSchema):
    pass_percent = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    test_attempts = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    review = fields.Nested(ReviewSchema, required=True)
    shuffle_questions = fields.Boolean(required=True)
    shuffle_options = fields.Boolean(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ModuleSettings:
        return ModuleSettings(**data)


class UnitSchema(StrictSchema):
    kind = fields.Enum(UnitKind, by_value=True, required=True)
    id = Id()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Unit:
        return Unit(**data)


class ModuleFileSchema(StrictSchema):
    id = Id()
    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    title = Text()
    summary = Text()
    units = fields.List(fields.Nested(UnitSchema), required=True, validate=validate.Length(min=1))
    settings = fields.Nested(SettingsSchema, required=True)
