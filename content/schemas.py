"""marshmallow schemas for the content files: strict (``unknown=RAISE``), loading into frozen dataclasses."""

from collections import Counter
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from content.model import (
    Assessment,
    AssessmentKind,
    Completion,
    CompletionRule,
    Feedback,
    FeedbackOrigin,
    Lab,
    ModuleSettings,
    Option,
    Question,
    ReviewPolicy,
    ShowCorrectAnswers,
    Topic,
    Unit,
    UnitKind,
)

ID_PATTERN = r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$"
OPTIONS_PER_QUESTION = 4

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

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Lab:
        lesson_id = data.pop("lesson")
        topics = tuple(data.pop("topics"))
        return Lab(lesson_id=lesson_id, topics=topics, **data)


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
