"""What the student pages show of an attempt and of a lab reply's trace. Correctness appears only where the
rules allow it: a quiz question once answered (its answer is then final), a test question once submitted and
only as the review policy says. A question the student has not finished carries no key at all."""

from dataclasses import dataclass
from typing import Any

from assessments.attempt import Attempt
from assessments.review import Review
from content import Assessment
from lms_plugin.chat_rendering import duration_text
from lms_plugin.models import LabExchangeRow


@dataclass(frozen=True)
class OptionView:
    id: str
    text: str
    chosen: bool
    correct: bool | None  # None: not to be shown


@dataclass(frozen=True)
class QuestionView:
    number: int
    id: str
    stem: str
    options: tuple[OptionView, ...]
    answered: bool
    correct: bool | None = None
    feedback: str | None = None


def _question_views(
    attempt: Attempt, assessment: Assessment, reveal: set[str], feedback: bool, marks: set[str]
) -> list[QuestionView]:
    answers = attempt.current_answers()
    views = []
    for number, question_id in enumerate(attempt.question_order, 1):
        question = assessment.question(question_id)
        if question is None:
            continue  # a question removed from the content since this attempt began
        answer = answers.get(question_id)
        by_id = {o.id: o for o in question.options}
        options = tuple(
            OptionView(
                id=option_id,
                text=by_id[option_id].text,
                chosen=answer is not None and answer.option_id == option_id,
                correct=by_id[option_id].correct if question_id in reveal else None,
            )
            for option_id in attempt.options_for(question_id)
            if option_id in by_id
        )
        # In a marked question an unanswered one counts as wrong, as the score does.
        correct = (answer is not None and answer.correct) if question_id in marks else None
        text = None
        if feedback and answer is not None:
            text = question.feedback.correct if answer.correct else question.feedback.incorrect
        views.append(
            QuestionView(
                number=number,
                id=question_id,
                stem=question.stem,
                options=options,
                answered=answer is not None,
                correct=correct,
                feedback=text,
            )
        )
    return views


def quiz_questions(attempt: Attempt, quiz: Assessment) -> list[QuestionView]:
    """Answered quiz questions show their feedback and key; unanswered ones show nothing."""
    answered = set(attempt.current_answers())
    return _question_views(attempt, quiz, reveal=answered, feedback=True, marks=answered)


def test_questions(attempt: Attempt, test: Assessment) -> list[QuestionView]:
    """An unsubmitted test shows only the student's own choices."""
    return _question_views(attempt, test, reveal=set(), feedback=False, marks=set())


def review_questions(attempt: Attempt, test: Assessment, review: Review) -> list[QuestionView]:
    """A submitted test, as the review policy allows: which were wrong, and the keys once revealed."""
    marks = set(attempt.question_order) if review.incorrect_question_ids is not None else set()
    reveal = set(review.correct_options or {})
    return _question_views(attempt, test, reveal=reveal, feedback=bool(reveal), marks=marks)


# Where the tool's span names differ from the lessons', said next to the student's own trace.
TRACE_NAME_NOTES = (
    "The lessons call the provider attribute gen_ai.system; the current GenAI conventions renamed it "
    "gen_ai.provider.name, which is what these spans carry.",
    "Lesson 3 marks the first token with a span event named first_token_received; the conventions define no such "
    "event, so ours is tracebook.gen_ai.first_chunk, and the span also carries the conventions' "
    "gen_ai.response.time_to_first_chunk (seconds).",
    "Lesson 3's example puts cost in gen_ai.usage.cost_usd; the conventions define no cost attribute, so ours is "
    "tracebook.gen_ai.cost (USD), in our own namespace.",
)


def _ms(value: float | None) -> str | None:
    return None if value is None else duration_text(value)


def lab_trace_summary(row: LabExchangeRow, tree: dict[str, Any] | None) -> dict[str, str | None]:
    """One line per figure of the reply's model call, for the "Your trace" panel."""
    if row.assistant_reply is None:
        return {}
    if row.cost is not None:
        cost = "free (offline tutor)" if row.cost == 0 else f"${row.cost:.6f}"
    else:
        cost = "not priced (model not in the price table)"
    tokens = (
        f"{row.input_tokens} in / {row.output_tokens} out"
        if row.input_tokens is not None and row.output_tokens is not None
        else "not reported by the provider"
    )
    return {
        "Model": f"{row.response_model} ({row.provider})",
        "Duration": _ms(row.latency_ms),
        "Time to first token": _ms(row.first_chunk_ms),
        "Tokens": tokens,
        "Finish reason": row.finish_reason,
        "Cost": cost,
        "Fallback": row.fallback_reason,
        "Trace": tree["trace_id"] if tree else "not kept (past the retention period)",
    }
