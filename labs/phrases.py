"""How the offline tutor reads a learner's message: normalised words, phrase matching with negation, and the
signs of junk (a keyword list, text pasted back, a repeat). The rules are those of the lab tutor format in
content/README.md; they are deliberately simple so that a course author can predict what will match."""

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
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
# Two-word negators: "tail sampling instead of head sampling", "redaction rather than logging the prompt".
_NEGATOR_PAIRS = frozenset({("instead", "of"), ("rather", "than")})
# Words that may stand between a negator and what it negates: "not the cache", "isn't really redis", "never
# put the prompt on the span".
_NEGATION_FILLER = _normalised(
    {"the", "a", "an", "its", "it", "is", "s", "was", "be", "that", "this", "really", "actually", "just", "even",
     "any", "very", "so", "because", "of", "due", "to", "in", "on", "from", "about", "caused", "by", "i", "m",
     "we", "going", "gonna", "want", "would", "will", "should", "use", "using", "choose", "choosing", "pick",
     "recommend", "do", "need", "rely", "relying", "go", "with", "for", "blame", "blaming", "put", "putting",
     "store", "storing", "log", "logging", "send", "sending", "keep", "keeping", "record", "recording", "capture",
     "capturing", "export", "exporting", "route", "routing", "add", "adding", "our", "their", "all", "every",
     "anything", "everything", "call", "request", "traffic", "data"}
)  # fmt: skip
NEGATION_WINDOW = 5
# In a phrase, " ... " stands for up to this many words of the learner's own between its parts: "route ...
# helicone" matches "route the calls through Helicone".
GAP = "..."
GAP_WORDS = 4

# Words that make a sentence of a list of terms: verbs, articles, pronouns, prepositions, conjunctions.
_FUNCTION_WORDS = """
a about after all also am an and are as at be because been before being but by can could did do does doing
during for from had has have he her his how i if in into is it its just let may me might more most my no not
of on only or our out over shows show so should since some such than that the their them then there these they
this those through to too under until up very was we were what when where which while who why will with
without would you your takes took take taking spent spends caused causes cause means mean see saw looks look
seems seem got get gets need needs use using used keep keeps kept set sets put would t s d ll ve re m"""
FUNCTION_WORDS = _normalised(_FUNCTION_WORDS.split())
# A message with none of these is a list of terms, not a statement: verbs (as written, so that the noun "root
# cause" is not the verb "causes"), modals, and the words that open a clause.
_CLAUSE_TEXT = """
am is are was were be been being has have had do does did can could should would will shall may might must
's 're 've 'd 'll 'm takes took taking take causes caused causing shows showed shown means meant mean seems
seemed looks looked makes made make gets got get keeps kept keep uses used using use sends sent send needs
needed need waits waited fails failed stops stopped spends spent goes went go comes came happens happened
explains explained lacks lacked misses missed breaks broke ended started delayed add adds added put puts
stored recorded redact redacts redacted stripped route routes routed compute computes computed counted
measured emit emits emitted install installed instrument instruments instrumented wrap wraps wrapped close
closes closed marked delete deletes deleted encrypt encrypts encrypted pick picks picked choose chooses chose
chosen prefer prefers think thought guess believe see saw seen read reads say says said know knew want wants
going sit sits sat live lives lived belong belongs contain contains carry carries appear appears arrive arrives
become becomes became give gives gave tell tells told let lets work works stay stays remain remains hold holds
held leave leaves left covers cover covered covering supports support supported handles handle handled provides
provide provided follows follow followed fits suits allows allow allowed requires require required depends matters
includes include included avoids avoid avoided prevents prevent prevented reduces reduce reduced catches catch caught
tracks track tracked keeping sending storing putting adding dropping routing running computing recording redacting
stripping masking capturing exporting counting deleting encrypting tagging waiting retrying calling blocking failing
starting ending returning making getting giving holding leaving staying pointing grouping summing multiplying
multiplied multiplies times equals costs becomes reads writes writing wrote written lands land landed reaches reach
reached passes pass passed receives receive received decides decide decided buffers drops splits breaks misses
because since so which that who whose whom when whenever while
whereas although though if unless therefore hence thus i we you it they he she"""
_CLAUSE_WORDS = frozenset(_CLAUSE_TEXT.split())
# Verbs that are nouns too ("a sample", "the log"), so they make a clause only where the message starts:
# "sample 10% of traces with head sampling", "log the full prompt".
_IMPERATIVE_TEXT = """
sample log store capture export record drop strip hash mask tag trace buffer count run turn switch enable disable
configure deploy host self-host retry cache skip split"""
_IMPERATIVES = frozenset(_IMPERATIVE_TEXT.split())
_RAW_WORD = re.compile(r"[\w.'\-]+")
_FORMULA = re.compile(r"\s[=×]\s")
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
        if word in NEGATORS or (position > 0 and (message[position - 1], word) in _NEGATOR_PAIRS):
            return True
        if word not in _NEGATION_FILLER:
            return False
    return False


def _parts(phrase: str) -> list[tuple[str, ...]]:
    return [part for part in (words(p) for p in phrase.split(GAP)) if part]


def _at(message: Sequence[str], part: tuple[str, ...], start: int) -> bool:
    return tuple(message[start : start + len(part)]) == part


def _rest(message: Sequence[str], parts: Sequence[tuple[str, ...]], after: int) -> int | None:
    """Where the phrase's remaining parts end, each starting at most GAP_WORDS words after the one before."""
    if not parts:
        return after
    part, *rest = parts
    for start in range(after, min(after + GAP_WORDS, len(message) - len(part)) + 1):
        if _at(message, part, start):
            end = _rest(message, rest, start + len(part))
            if end is not None:
                return end
    return None


def find_all(message: Sequence[str], phrase: str, blocked: Collection[int] = ()) -> Iterator[Match]:
    """Every occurrence of ``phrase`` in the message's words that is not negated right before it and uses no
    word in ``blocked``."""
    parts = _parts(phrase)
    if not parts:
        return
    first, *rest = parts
    # A phrase that states an absence itself ("no usage attribute") is not negated by its own first word.
    own_negation = first[0] in NEGATORS
    for start in range(len(message) - len(first) + 1):
        if not _at(message, first, start) or not (own_negation or not _negated(message, start)):
            continue
        end = _rest(message, rest, start + len(first))
        if end is not None and not any(start <= i < end for i in blocked):
            yield Match(phrase, start, end)


def find(message: Sequence[str], phrase: str, blocked: Collection[int] = ()) -> Match | None:
    """The first occurrence of ``phrase`` in the message's words that is not negated right before it."""
    return next(find_all(message, phrase, blocked), None)


def find_any(message: Sequence[str], phrases: Iterable[str], blocked: Collection[int] = ()) -> Match | None:
    """The longest of ``phrases`` found in the message: the most specific evidence of what the learner meant."""
    found = [m for m in (find(message, p, blocked) for p in phrases) if m is not None]
    return max(found, key=lambda m: (m.end - m.start, -m.start), default=None)


def covered(matches: Iterable[Match]) -> frozenset[int]:
    """The word positions the matches take up."""
    return frozenset(i for m in matches for i in range(m.start, m.end))


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


def has_clause(text: str) -> bool:
    """The text says something about its terms: it has a verb, a modal, a subject pronoun, a clause opener or an
    equation, or starts with an instruction."""
    raw = [w.strip(_EDGE + "'") for w in _RAW_WORD.findall(text.lower().replace("\u2019", "'"))]
    if not raw:
        return False
    # A formula states something too: "cost = input tokens × input price + …" (not "finish_reasons=length").
    return raw[0] in _IMPERATIVES or _FORMULA.search(text) is not None or any(_is_clause_word(w) for w in raw)


def _is_clause_word(word: str) -> bool:
    if word in _CLAUSE_WORDS:
        return True
    if "'" in word:  # we'd, it's, isn't
        return word[word.index("'") :] in (*_CLAUSE_WORDS, "'t")
    # A past tense or participle: "swallowed", "propagated" (not "speed", nor a status such as deadline_exceeded).
    return word.isalpha() and len(word) > 4 and word.endswith("ed") and not word.endswith("eed")
