"""How the offline tutor reads a learner's message: normalised words, phrase matching with negation, and the
signs of junk (a keyword list, text pasted back, a repeat). The rules are those of the lab tutor format in
content/README.md; they are deliberately simple so that a course author can predict what will match."""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# Everything but letters, digits and the characters of attribute names (gen_ai.usage.input_tokens, redis_get,
# finish-reason) separates words.
# "1,842 ms" is the number 1842.
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|[\w.\-]+")
_EDGE = ".-_"


def _word(token: str) -> str:
    token = token.strip(_EDGE)
    # Simple plural: "spans" matches "span", "finish_reasons" matches "finish_reason".
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss") and not any(c.isdigit() for c in token):
        token = token[:-1]
    return token


def _normalised(vocabulary: Iterable[str]) -> frozenset[str]:
    return frozenset(_word(w) for w in vocabulary)


# Words that negate the phrase right after them; "isn't" arrives as "isn" "t".
NEGATORS = _normalised(
    {"not", "no", "never", "t", "isnt", "wasnt", "arent", "werent", "doesnt", "dont", "didnt", "cannot", "cant"}
)
# Words that may stand between a negator and what it negates: "not the cache", "isn't really redis".
_NEGATION_FILLER = _normalised(
    {"the", "a", "an", "its", "it", "is", "s", "was", "be", "that", "this", "really", "actually", "just", "even",
     "any", "very", "so", "because", "of", "due", "to", "in", "on", "from", "about", "caused", "by", "i", "m",
     "we", "going", "gonna", "want", "would", "will", "should", "use", "using", "choose", "choosing", "pick",
     "recommend", "do", "need", "rely", "relying", "go", "with", "for", "blame", "blaming"}
)  # fmt: skip
NEGATION_WINDOW = 5

# Words that make a sentence of a list of terms: verbs, articles, pronouns, prepositions, conjunctions.
_FUNCTION_WORDS = """
a about after all also am an and are as at be because been before being but by can could did do does doing
during for from had has have he her his how i if in into is it its just let may me might more most my no not
of on only or our out over shows show so should since some such than that the their them then there these they
this those through to too under until up very was we were what when where which while who why will with
without would you your takes took take taking spent spends caused causes cause means mean see saw looks look
seems seem got get gets need needs use using used keep keeps kept set sets put would t s d ll ve re m"""
FUNCTION_WORDS = _normalised(_FUNCTION_WORDS.split())
MIN_WORDS = 4
KEYWORD_SEGMENT_WORDS = 3  # a comma-separated part this short is a keyword, not a clause
PASTED_SHARE = 0.6  # share of a message's word triples found in text the learner was shown: pasted back
REPEAT_SHARE = 0.7


def _tokens(text: str) -> Iterator[tuple[str, int, int]]:
    for found in _TOKEN.finditer(text.lower()):
        raw = found.group()
        word = _word(raw.replace(",", ""))
        if word:
            # Where the word itself is, without the sentence's full stop or a dash around it.
            lead, trail = len(raw) - len(raw.lstrip(_EDGE)), len(raw) - len(raw.rstrip(_EDGE))
            yield word, found.start() + lead, found.end() - trail


def words(text: str) -> tuple[str, ...]:
    """The text as lower-case words; runs of characters other than letters, digits, ``.``, ``_`` and ``-`` split
    words, and a simple plural ``s`` is dropped."""
    return tuple(word for word, _, _ in _tokens(text))


@dataclass(frozen=True)
class Message:
    """A learner's message as words, remembering where each word came from so that it can be quoted back."""

    text: str
    words: tuple[str, ...]
    places: tuple[tuple[int, int], ...]

    @classmethod
    def read(cls, text: str) -> "Message":
        tokens = list(_tokens(text))
        return cls(text, tuple(w for w, _, _ in tokens), tuple((start, end) for _, start, end in tokens))

    def quote(self, match: "Match") -> str:
        """The learner's own words for what matched."""
        return self.text[self.places[match.start][0] : self.places[match.end - 1][1]]


@dataclass(frozen=True)
class Match:
    phrase: str  # as the author wrote it, for quoting back to the learner
    start: int  # word positions in the message
    end: int


def _negated(message: Sequence[str], start: int) -> bool:
    for position in range(start - 1, max(start - 1 - NEGATION_WINDOW, -1), -1):
        word = message[position]
        if word in NEGATORS:
            return True
        if word not in _NEGATION_FILLER:
            return False
    return False


def find(message: Sequence[str], phrase: str) -> Match | None:
    """The first occurrence of ``phrase`` in the message's words that is not negated right before it."""
    wanted = words(phrase)
    if not wanted:
        return None
    # A phrase that states an absence itself ("no usage attribute") is not negated by its own first word.
    own_negation = wanted[0] in NEGATORS
    for start in range(len(message) - len(wanted) + 1):
        if tuple(message[start : start + len(wanted)]) == wanted and (own_negation or not _negated(message, start)):
            return Match(phrase, start, start + len(wanted))
    return None


def find_any(message: Sequence[str], phrases: Iterable[str]) -> Match | None:
    """The longest of ``phrases`` found in the message: the most specific evidence of what the learner meant."""
    found = [m for m in (find(message, p) for p in phrases) if m is not None]
    return max(found, key=lambda m: (m.end - m.start, -m.start), default=None)


def coverage(message: Sequence[str], matches: Iterable[Match]) -> float:
    """Share of the message's words that belong to a matched phrase."""
    covered = {i for m in matches for i in range(m.start, m.end)}
    return len(covered) / len(message) if message else 0.0


def _triples(message: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(message[i : i + 3]) for i in range(len(message) - 2)}


def share_of_triples_in(message: Sequence[str], sources: Iterable[str]) -> float:
    """How much of the message is word-for-word in ``sources``: the share of its word triples found there."""
    mine = _triples(message)
    if not mine:
        return 0.0
    theirs = set().union(*(_triples(words(source)) for source in sources))
    return len(mine & theirs) / len(mine)


def is_repeat(message: Sequence[str], earlier: Iterable[str]) -> bool:
    """The message is an earlier one again, give or take punctuation, case or a word."""
    for text in earlier:
        before = words(text)
        if tuple(message) == before:
            return True
        if len(message) >= MIN_WORDS and share_of_triples_in(message, [text]) >= REPEAT_SHARE:
            return True
    return False


def segments(text: str) -> list[str]:
    """The parts of the message between commas, semicolons, slashes, bullets and line breaks."""
    parts = (p.strip() for p in re.split(r"[,;/|\n•]+|(?:^|\s)[-*]\s", text))
    return [p for p in parts if words(p)]


def has_sentence(message: Sequence[str]) -> bool:
    return any(w in FUNCTION_WORDS for w in message)
