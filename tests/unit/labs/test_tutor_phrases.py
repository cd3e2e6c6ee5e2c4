"""How the tutor reads a message: the normalisation and matching rules of the lab tutor format."""

import pytest

from labs.phrases import Message, find, find_any, has_clause, is_repeat, share_of_triples_in, words


def test_words_are_lower_case_split_on_punctuation_with_attribute_names_and_numbers_kept_whole() -> None:
    assert words("The redis_get span: 1,842 ms total; finish_reasons=[length].") == (
        "the", "redis_get", "span", "1842", "ms", "total", "finish_reason", "length",
    )  # fmt: skip
    assert words("gen_ai.usage.input_tokens is MISSING!") == ("gen_ai.usage.input_token", "is", "missing")
    assert words("408ms spans process") == ("408ms", "span", "process")  # plural s only, and not on numbers


@pytest.mark.parametrize(
    ("message", "phrase", "found"),
    [
        ("The cache lookup is slow", "cache lookup", True),
        ("the caches are slow", "cache", True),
        ("It's not the cache", "cache", False),
        ("It isn't really redis at all", "redis", False),
        ("I'm not going to use head sampling", "use head sampling", False),
        ("There is no gen_ai.usage on the span", "gen_ai.usage", False),
        ("There is no gen_ai.usage on the span", "no gen_ai.usage", True),  # a phrase that states an absence
        ("Not the LLM: redis_get is slow", "redis_get", True),  # the negation is of something else
        ("cachelookup", "cache lookup", False),
    ],
)
def test_a_phrase_matches_contiguous_words_unless_negated_right_before(message: str, phrase: str, found: bool) -> None:
    assert (find(words(message), phrase) is not None) is found


def test_the_longest_phrase_wins_and_is_quoted_in_the_learners_own_spelling() -> None:
    message = Message.read("I'd say FINISH_REASONS=length, so it was cut off.")
    match = find_any(message.words, ["length", "finish_reasons", "finish_reasons length", "cut off"])
    assert match is not None
    assert match.phrase == "finish_reasons length"
    assert message.quote(match) == "FINISH_REASONS=length"


def test_repeats_and_pasted_text_are_recognised_by_their_words() -> None:
    earlier = ["The redis_get span takes 408 ms before the LLM call."]
    assert is_repeat(words("The redis_get span takes 408 ms before the LLM call!"), earlier)
    assert is_repeat(words("So the redis_get span takes 408 ms before the LLM call."), earlier)
    rubric = ["Found the span that makes a request slow from its own duration"]
    assert share_of_triples_in(words("found the span that makes a request slow"), rubric) == 1.0
    assert share_of_triples_in(words("redis_get is slow because of its pool"), rubric) == 0.0


@pytest.mark.parametrize(
    ("message", "phrase", "found"),
    [
        ("I would route the calls through Helicone as a proxy", "route ... helicone", True),
        ("route through helicone", "route ... through helicone", True),  # a gap may be empty
        ("route one two three four five helicone", "route ... helicone", False),  # at most four words between
        ("I would not route the calls through Helicone", "route ... helicone", False),
        ("We use tail sampling instead of head sampling", "head sampling", False),
        ("Redaction in the collector rather than logging the full prompt", "log the full prompt", False),
        ("I'd rather use head sampling", "use head sampling", True),  # "rather" alone negates nothing
    ],
)
def test_a_gap_phrase_allows_a_few_words_between_its_parts_and_two_word_negators(
    message: str, phrase: str, found: bool
) -> None:
    assert (find(words(message), phrase) is not None) is found


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("redis_get 408 ms slow cache before llm_completion root cause", False),  # "root cause" is not a verb
        ("vector_search DEADLINE_EXCEEDED status error", False),
        ("The POST /search spans sit in a separate trace", True),
        ("We’d keep Datadog for infrastructure", True),
        ("sample 10% of traces with head sampling", True),  # an instruction
        ("retrieve_user_context swallowed the error", True),
        ("What is PII?", True),
        ("Cost = input tokens × input price + output tokens × output price", True),
        ("llm_completion finish_reasons=length max_tokens 256", False),
    ],
)
def test_a_clause_needs_a_verb_a_modal_a_subject_or_a_clause_opener(text: str, clause: bool) -> None:
    assert has_clause(text) is clause
