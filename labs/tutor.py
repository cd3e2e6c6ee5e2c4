"""The offline scenario tutor: a deterministic ``ChatModel`` that teaches from the lab's script in content/.

Lab 1 presents trace scenarios one at a time and judges the learner's diagnosis against the scenario's
criteria (which span, which attribute, why); Labs 2–4 walk the design scenario through its topics, asking,
checking and explaining. The tutor is a pure function of the lab and the transcript: its position is carried
in ``Verdict.state`` ("<scenario>:<tries>" for Lab 1, "<topic>:<tries>" or "wrap-up" for Labs 2–4), read back
from the previous exchange, and an unknown state (for example after a reply from the LLM model) means nothing
is on screen. No clock, no randomness: the only variation, the order of Lab 1's scenarios, is a hash of the
conversation id.

Token counts are an estimate — one token per four characters, rounded up, of the learner's message (input) and
of the reply (output) — so that the lab's token budget applies the same way to both models.
"""

import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from content.model import CompletionRule, Concept, Correction, Criterion, Scenario, WalkStep
from labs.chat import ChatRecord, ChatRequest, Verdict
from labs.phrases import (
    GAP,
    KEYWORD_SEGMENT_WORDS,
    MIN_WORDS,
    PASTED_SHARE,
    Match,
    Message,
    coverage,
    covered,
    find,
    find_all,
    find_any,
    has_clause,
    has_sentence,
    is_repeat,
    segments,
    share_of_triples_in,
    words,
)

PROVIDER = "tracebook"
MODEL = "scenario-tutor"
CHARS_PER_TOKEN = 4
GIVE_UP_AFTER = 2  # substantive tries without a right answer before the tutor explains and moves on
KEYWORD_COVERAGE = 0.75  # a message this much made of matched phrases, with few function words, is a list
WRAP_UP = "wrap-up"


class Intent(Enum):
    NEXT = "next"
    HINT = "hint"
    REVEAL = "reveal"


# Requests about the lab itself rather than answers; only recognised in short messages, so that a diagnosis
# that happens to say "next" is still judged.
_INTENTS: tuple[tuple[Intent, tuple[str, ...]], ...] = (
    (
        Intent.REVEAL,
        ("i don't know", "i dont know", "i do not know", "not sure", "no idea", "i give up", "give up",
         "tell me the answer", "show the answer", "what's the answer", "what is the answer", "just tell me", "no clue"),
    ),
    (
        Intent.NEXT,
        ("show me a trace", "show me another", "give me a trace", "another trace", "another one", "next trace",
         "next one", "next topic", "next question", "different trace", "new trace", "skip", "next", "another",
         "move on", "let's start", "let's go", "show me", "first trace"),
    ),
    (Intent.HINT, ("hint", "help me", "help", "i'm stuck", "im stuck", "stuck", "where should i look", "clue")),
)  # fmt: skip
_INTENT_MAX_WORDS = 12
_AFFIRMATIVE = frozenset(words("yes yep yeah sure ok okay ready go start please"))
# What may surround a request and still leave the message a request: "can you show me another one, please".
_COMMAND_WORDS = frozenset(
    words(
        "please ok okay yes sure thanks thank you can could would will i me we us let let's lets a an the one now "
        "then just to like want go another next new different trace topic question with problem and it this that on "
        "some more help diagnose understand give show move skip start first so hi hello again"
    )
)
_QUESTION_OPENERS = frozenset(
    words(
        "what whats how why explain define which describe meaning tell difference walk compare help can could should "
        "is are does do"
    )
)
# A question asking for the tutor's own recommendation rather than what a term means.
_ADVICE = (
    "what would you", "what should", "how would you", "how should", "what do you recommend", "what do you suggest",
    "would you recommend", "would you suggest", "your recommendation", "your advice", "what is the best",
    "what's the best", "whats the best", "best practice", "best way", "what would a good", "how do i", "how do we",
)  # fmt: skip


@dataclass(frozen=True)
class Command:
    intent: Intent
    essential: bool  # the message is the request and nothing more ("next", "show me another trace, please")


@dataclass(frozen=True)
class Reply:
    text: str
    verdict: Verdict


class ScenarioTutor:
    """The default lab model: needs no network, gives the same reply to the same transcript."""

    provider = PROVIDER
    model = MODEL

    def stream(self, request: ChatRequest) -> Iterator[str | ChatRecord]:
        reply = respond(request)
        yield from pieces(reply.text)
        yield ChatRecord(
            response_id=response_id(request),
            response_model=MODEL,
            finish_reason="stop",
            input_tokens=estimate_tokens(request.message),
            output_tokens=estimate_tokens(reply.text),
            verdict=reply.verdict,
            provider=PROVIDER,
        )

    def judge(self, request: ChatRequest) -> Verdict:
        """The verdict the tutor's reply would end with: reusable by a model that writes its own reply."""
        return respond(request).verdict


def pieces(text: str) -> Iterator[str]:
    """The reply as it streams: each word with the whitespace after it."""
    yield from re.findall(r"\s+|\S+\s*", text)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def response_id(request: ChatRequest) -> str:
    exchange = len(request.session.exchanges) + 1
    return "tutor-" + hashlib.sha256(f"{request.conversation_id}:{exchange}".encode()).hexdigest()[:32]


def respond(request: ChatRequest) -> Reply:
    if request.lab.completion.rule is CompletionRule.DISTINCT_SCENARIOS:
        return _ScenarioLab(request).respond()
    return _WalkLab(request).respond()


# --- reading a message ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    criterion: Criterion
    match: Match
    said: str  # the learner's own words for it


def _hits(read: Message, criteria: Iterable[Criterion], blocked: frozenset[int] = frozenset()) -> list[Hit]:
    """The criteria the message meets, not counting words that ``blocked`` sets aside (a weak choice's own)."""
    found = ((c, find_any(read.words, c.phrases, blocked)) for c in criteria)
    return [Hit(c, m, read.quote(m)) for c, m in found if m is not None]


def _corrections(message: Sequence[str], corrections: Iterable[Correction]) -> list[tuple[Correction, Match]]:
    found = ((c, find_any(message, c.phrases)) for c in corrections)
    return [(c, m) for c, m in found if m is not None]


def _intent(message: Sequence[str]) -> Command | None:
    """A request about the lab itself, and whether the message is only that request. A request word inside a
    longer message ("is the next step redis_get?") is acted on only when nothing else in it can be answered."""
    if not message or len(message) > _INTENT_MAX_WORDS:
        return None
    if len(message) <= 3 and all(w in _AFFIRMATIVE for w in message):
        return Command(Intent.NEXT, essential=True)
    for intent, phrases in _INTENTS:
        match = find_any(message, phrases)
        if match is not None:
            rest = [w for i, w in enumerate(message) if not match.start <= i < match.end]
            return Command(intent, essential=all(w in _COMMAND_WORDS for w in rest))
    return None


def _is_advice(message: Sequence[str]) -> bool:
    return find_any(message, _ADVICE) is not None


def _is_question(text: str, message: Sequence[str]) -> bool:
    return "?" in text or bool(message and message[0] in _QUESTION_OPENERS)


def _concept(message: Sequence[str], concepts: Iterable[Concept]) -> Concept | None:
    found = [(c, m) for c, m in ((c, find_any(message, c.phrases)) for c in concepts) if m is not None]
    best = max(found, key=lambda cm: cm[1].end - cm[1].start, default=None)
    return best[0] if best else None


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


class _Lesson:
    """What both kinds of lab share: the lab's phrases, junk detection and off-topic steering."""

    def __init__(self, request: ChatRequest) -> None:
        self.request = request
        self.lab = request.lab
        self.text = request.message
        self.read = Message.read(request.message)
        self.message = self.read.words
        exchanges = request.session.exchanges
        self.previous_state = exchanges[-1].state if exchanges else None

    def lab_phrases(self) -> Iterator[str]:
        lab = self.lab
        for scenario in lab.scenarios:
            yield from (p for c in scenario.criteria for p in c.phrases)
            yield from (p for c in scenario.misconceptions for p in c.phrases)
            yield from (span.name for span in scenario.trace.spans)
            yield from (key for span in scenario.trace.spans for key, _ in span.attributes)
        for step in lab.walk:
            yield from (p for c in step.criteria for p in c.phrases)
            yield from (p for c in step.pitfalls for p in c.phrases)
        yield from (p for c in lab.concepts for p in c.phrases)
        yield from lab.vocabulary

    def on_topic(self) -> bool:
        return any(find(self.message, phrase) is not None for phrase in self.lab_phrases())

    def shown_texts(self) -> Iterator[str]:
        """Text the learner could copy: the checklist, the criteria, and what the tutor has said so far (not the
        explanations still to come, which a learner may well echo in their own words)."""
        lab = self.lab
        yield from (r.text for r in lab.rubric)
        yield from (c.text for s in lab.scenarios for c in s.criteria)
        yield from (c.text for s in lab.walk for c in s.criteria)
        yield from (e.assistant_reply for e in self.request.session.exchanges)

    def junk(self, criteria: Sequence[Criterion], answer_needs: str) -> str | None:
        """Why the message is not a real answer, said so that the learner knows what would be; or None."""
        message = self.message
        if not message:
            return f"There is nothing in that message to go on yet. {answer_needs}"
        earlier = [e.learner_message for e in self.request.session.exchanges]
        if is_repeat(message, earlier):
            number = next(
                (e.number for e in reversed(self.request.session.exchanges) if is_repeat(message, [e.learner_message])),
                len(earlier),
            )
            return (
                f"You sent that already (message {number}), and my reply to it is above. Saying it again does not "
                f"add anything I can check. {answer_needs} — and tell me something new: a number from the tree, "
                "an attribute, or why it explains what happened."
            )
        if len(message) >= MIN_WORDS + 1 and share_of_triples_in(message, self.shown_texts()) >= PASTED_SHARE:
            return (
                "That is mostly the checklist's or my own wording pasted back, so it does not tell me what *you* "
                f"see. {answer_needs}, in your own words."
            )
        if len(message) < MIN_WORDS:
            return (
                f"That is too short for me to judge ({len(message)} word{'s' * (len(message) != 1)}). {answer_needs}."
            )
        matches = [m for m in (find_any(message, c.phrases) for c in criteria) if m is not None]
        parts = segments(self.text)
        listed = len(parts) >= 3 and all(len(words(p)) <= KEYWORD_SEGMENT_WORDS for p in parts)
        function_share = sum(1 for w in message if has_sentence((w,))) / len(message)
        stuffed = len(matches) >= 3 and coverage(message, matches) >= KEYWORD_COVERAGE and function_share < 0.2
        if not has_sentence(message) or not has_clause(self.text) or listed or stuffed:
            terms = ", ".join(f"“{p}”" for p in parts[:4])
            return (
                f"That reads as a list of keywords ({terms}) rather than an answer. Keywords alone do not show "
                f"that you can read the evidence: {answer_needs[0].lower() + answer_needs[1:]}, as a sentence."
            )
        return None

    def quote(self, match: Match) -> str:
        return f"“{self.read.quote(match)}”"

    def got(self, hits: Iterable[Hit]) -> str:
        return _bullets(f"{h.criterion.text} — you said “{h.said}”." for h in hits)

    def asked_concept(self) -> Concept | None:
        """The glossary entry a question asks about; statements are judged, not looked up."""
        return _concept(self.message, self.lab.concepts) if _is_question(self.text, self.message) else None

    def steer(self, back_to: str) -> str:
        return f"{self.lab.steer.strip()}\n\n{back_to}"


def _junk_verdict(state: str | None) -> Verdict:
    return Verdict(substantive=False, state=state)


# --- Lab 1: trace scenarios ------------------------------------------------------------------------------------

_DIAGNOSIS_NEEDS = "Tell me which span is at fault, which attribute or number in the tree shows it, and why"
_SCENARIO_QUESTION = (
    "**What do you see?** Name the span at fault, the attribute, duration or status that shows it, and why it "
    "explains what the user saw."
)


class _ScenarioLab(_Lesson):
    def __init__(self, request: ChatRequest) -> None:
        super().__init__(request)
        self.order = _rotated(self.lab.scenarios, request.conversation_id)
        self.on_screen, self.tries = self._parse(self.previous_state)
        shown = (self._parse(e.state)[0] for e in request.session.exchanges)
        self.presented = {s.id for s in shown if s is not None}
        self.discussed = set(request.session.scenarios_discussed)

    def _parse(self, state: str | None) -> tuple[Scenario | None, int]:
        scenario_id, _, tries = (state or "").partition(":")
        scenario = self.lab.scenario_by_id(scenario_id)
        if scenario is None or not tries.isdigit():
            return None, 0
        return scenario, int(tries)

    def respond(self) -> Reply:
        scenario = self.on_screen
        command = _intent(self.message)
        if scenario is None:
            return self._nothing_on_screen(command)
        hits = _hits(self.read, scenario.criteria)
        wrong = _corrections(self.message, scenario.misconceptions)
        concept = self.asked_concept()
        if command is not None and (command.essential or not (hits or wrong or concept)):
            return self._command(command.intent, scenario)
        if concept is not None and not hits:
            back = f"Back to the trace on screen, **{scenario.title}**: {_SCENARIO_QUESTION}"
            return Reply(f"{concept.answer.strip()}\n\n{back}", Verdict(substantive=False, state=self.previous_state))
        junk = self.junk(scenario.criteria, _DIAGNOSIS_NEEDS)
        if junk is not None:
            return Reply(f"{junk}\n\nThe trace on screen is **{scenario.title}**.", _junk_verdict(self.previous_state))
        elsewhere = self._about_another(scenario, hits)
        if elsewhere is not None:
            text = (
                f"That reads as a diagnosis of **{elsewhere.title}**, not of the trace on screen — the spans and "
                f"numbers you name are that trace's. This one is **{scenario.title}**: {_SCENARIO_QUESTION}"
            )
            return Reply(text, _junk_verdict(self.previous_state))
        if not hits and not wrong and not self.on_topic():
            back = f"The trace on screen is **{scenario.title}**. {_SCENARIO_QUESTION}"
            return Reply(self.steer(back), _junk_verdict(self.previous_state))
        return self._judge(scenario, hits, wrong)

    def _command(self, intent: Intent, scenario: Scenario) -> Reply:
        if intent is Intent.NEXT:
            return self._present(self._next(), f"Leaving **{scenario.title}** for later — you can come back to it.")
        if intent is Intent.REVEAL:
            return self._present(self._next(), f"Here is what that trace shows.\n\n{scenario.explain.strip()}")
        return Reply(self._hint(scenario), Verdict(substantive=False, state=self.previous_state))

    def _earlier_hits(self, scenario: Scenario) -> list[Hit]:
        """What the learner's earlier tries at the trace on screen got right: a diagnosis may be completed over
        two messages, the second giving what the tutor said was missing."""
        found: list[Hit] = []
        for exchange in reversed(self.request.session.exchanges):
            on_screen, tries = self._parse(exchange.state)
            if on_screen is not scenario or tries < 1:
                break
            if exchange.substantive:
                found += _hits(Message.read(exchange.learner_message), scenario.criteria)
        return found

    def _about_another(self, scenario: Scenario, hits: Sequence[Hit]) -> Scenario | None:
        """A scenario presented earlier that the message diagnoses better than the one on screen: a learner
        answering an old trace again must not be credited with discussing the new one."""
        best = None
        for other in self.order:
            if other is scenario or other.id not in self.presented:
                continue
            theirs = len(_hits(self.read, other.criteria))
            if theirs >= other.need and theirs > len(hits) and (best is None or theirs > best[1]):
                best = (other, theirs)
        return best[0] if best else None

    def _nothing_on_screen(self, command: Command | None) -> Reply:
        concept = self.asked_concept()
        if command is not None and (command.essential or concept is None):
            return self._present(self._next(), "Here is your first trace." if not self.presented else "")
        if concept is not None:
            offer = "When you want to practise it on a real tree, say **show me a trace**."
            return Reply(f"{concept.answer.strip()}\n\n{offer}", Verdict(substantive=False))
        junk = self.junk((), _DIAGNOSIS_NEEDS)
        if junk is not None or not self.on_topic():
            offer = "Say **show me a trace** and I will put one on screen."
            return Reply(f"{junk or self.lab.steer.strip()}\n\n{offer}", _junk_verdict(None))
        return self._present(self._closest(), "Let's look at that on a real tree.", substantive=True)

    def _closest(self) -> Scenario:
        """The scenario whose faults the learner's own words point to; otherwise the next one in order."""

        def score(scenario: Scenario) -> int:
            phrases = [p for c in scenario.criteria for p in c.phrases]
            phrases += [p for c in scenario.misconceptions for p in c.phrases]
            return sum(1 for p in phrases if find(self.message, p) is not None)

        best = max(self.order, key=score)
        return best if score(best) > 0 else self._next()

    def _next(self, discussed: Iterable[str] = ()) -> Scenario:
        done = self.discussed | set(discussed)
        current = self.on_screen
        start = self.order.index(current) + 1 if current is not None else 0
        ring = [s for s in self.order[start:] + self.order[:start] if s is not current]
        fresh = [s for s in ring if s.id not in done and s.id not in self.presented]
        undiscussed = [s for s in ring if s.id not in done]
        return (fresh or undiscussed or ring or list(self.order))[0]

    def _present(
        self,
        scenario: Scenario,
        lead: str,
        *,
        verdict: Verdict | None = None,
        substantive: bool = False,
    ) -> Reply:
        tree = json.dumps(scenario.trace.as_dict(), ensure_ascii=False)
        text = f"**{scenario.title}**\n\n{scenario.brief.strip()}\n\n```trace\n{tree}\n```\n\n{_SCENARIO_QUESTION}"
        if lead:
            text = f"{lead}\n\n{text}"
        state = f"{scenario.id}:0"
        if verdict is None:
            return Reply(text, Verdict(substantive=substantive, state=state))
        return Reply(text, Verdict(verdict.rubric_hits, verdict.scenario_id, verdict.substantive, state))

    def _hint(self, scenario: Scenario) -> str:
        return (
            f"A good diagnosis of **{scenario.title}** covers these points:\n\n"
            f"{_bullets(c.text for c in scenario.criteria)}\n\n"
            "Start from the root span's duration, then compare each child's own duration and status, and read "
            "the attributes of the span that stands out."
        )

    def _span_facts(self, scenario: Scenario, hits: Sequence[Hit]) -> str:
        """Facts from the tree about spans the learner named, so a wrong guess is answered with evidence."""
        credited = {w for h in hits for w in words(h.match.phrase)}
        facts = []
        for span in scenario.trace.spans:
            if find(self.message, span.name) is None or span.name in credited:
                continue
            status = f"status {span.status}" + (f" ({span.status_message})" if span.status_message else "")
            facts.append(f"`{span.name}` took {span.duration_ms} ms, {status}.")
        return "From the tree, about the spans you named:\n\n" + _bullets(facts) if facts else ""

    def _judge(self, scenario: Scenario, hits: list[Hit], wrong: list[tuple[Correction, Match]]) -> Reply:
        hits = _first_per_criterion([*hits, *self._earlier_hits(scenario)])
        ticks = frozenset(h.criterion.ticks for h in hits if h.criterion.ticks)
        # Only a right diagnosis discusses the scenario: naming a span, or one partial answer per trace while
        # skipping through them, must not complete the lab.
        right = len(hits) >= scenario.need
        verdict = Verdict(rubric_hits=ticks, scenario_id=scenario.id if right else None, substantive=True)
        got = self.got(hits)
        missing = [c for c in scenario.criteria if c not in {h.criterion for h in hits}]

        if right:
            count = len(self.discussed | {scenario.id})
            wanted = self.lab.completion.count
            progress = f"Traces diagnosed so far: {count} (the lab asks for {wanted} different ones)."
            parts = [f"**Right — that is the fault in {scenario.title}.** What you got:\n\n{got}"]
            if missing:
                parts.append("To make it a complete diagnosis, also say:\n\n" + _bullets(c.text for c in missing))
            parts += [scenario.explain.strip(), progress, "---"]
            lead = "\n\n".join(parts) + "\n\nHere is a different kind of fault."
            return self._present(self._next([scenario.id]), lead, verdict=verdict)

        parts = [reply.strip() for reply, _ in ((c.reply, m) for c, m in wrong)]
        if hits:
            parts.append(f"What you have right:\n\n{got}")
            parts.append("Still missing:\n\n" + _bullets(c.text for c in missing))
        elif not wrong:
            parts.append("That does not pin down the fault yet.")
            facts = self._span_facts(scenario, hits)
            if facts:
                parts.append(facts)
        tries = self.tries + 1
        if tries >= GIVE_UP_AFTER:
            parts += ["Let's go through it together.", scenario.explain.strip()]
            lead = "\n\n".join([*parts, "---"]) + "\n\nHere is a different kind of fault."
            return self._present(self._next([scenario.id]), lead, verdict=verdict)
        if not hits:
            parts.append("Look again — a good diagnosis covers:\n\n" + _bullets(c.text for c in scenario.criteria))
        text = "\n\n".join(parts)
        return Reply(text, Verdict(ticks, None, True, f"{scenario.id}:{tries}"))


def _first_per_criterion(hits: Iterable[Hit]) -> list[Hit]:
    first: dict[str, Hit] = {}
    for hit in hits:
        first.setdefault(hit.criterion.id, hit)
    return list(first.values())


def _rotated(scenarios: Sequence[Scenario], conversation_id: str) -> list[Scenario]:
    """The scenarios in the lab's order, started at a place fixed by the conversation, so that neighbours in a
    classroom do not all see the same trace first."""
    if not scenarios:
        return []
    start = int(hashlib.sha256(conversation_id.encode()).hexdigest(), 16) % len(scenarios)
    return [*scenarios[start:], *scenarios[:start]]


# --- Labs 2–4: a walk through the topics ------------------------------------------------------------------------


class _WalkLab(_Lesson):
    def __init__(self, request: ChatRequest) -> None:
        super().__init__(request)
        self.ticked_before = set(request.session.rubric_ticked)
        step, tries = self._parse(self.previous_state)
        self.asked = step is not None  # the current topic's question is on screen
        self.tries = tries
        self.current = step if step is not None else self._first_open(after=None)

    def _parse(self, state: str | None) -> tuple[WalkStep | None, int]:
        topic, _, tries = (state or "").partition(":")
        step = self.lab.step_for(topic)
        if step is None or not tries.isdigit():
            return None, 0
        return step, int(tries)

    def _first_open(self, after: WalkStep | None, ticked: Iterable[str] = ()) -> WalkStep | None:
        done = self.ticked_before | set(ticked)
        walk = list(self.lab.walk)
        start = walk.index(after) + 1 if after is not None else 0
        ring = walk[start:] + walk[:start]
        return next((s for s in ring if s.topic not in done and s is not after), None)

    def _title(self, step: WalkStep) -> str:
        return next((t.title for t in self.lab.topics if t.id == step.topic), step.topic)

    def _needs(self) -> str:
        if self.current is None:
            return "Tell me what you would choose for one part of the design and why"
        return f"Tell me what you would do for {self._title(self.current).lower()}, and why"

    def _ask(self, step: WalkStep) -> str:
        return f"**{self._title(step)}.** {step.ask.strip()}"

    def respond(self) -> Reply:
        command = _intent(self.message)
        step = self.current
        blocked, pitfalls = self._pitfalls()
        results = [(s, _hits(self.read, s.criteria, blocked)) for s in self.lab.walk]
        concept = self.asked_concept()
        matched = any(hits for _, hits in results) or pitfalls or concept
        if command is not None and step is not None and (command.essential or not matched):
            return self._command(command.intent, step)
        # A question is answered; it counts as one of the lab's exchanges only when it also ticks a topic.
        question = _is_question(self.text, self.message)
        counts = not question or any(len(hits) >= s.need for s, hits in results)
        if not counts:
            others = [(s, hits) for s, hits in results if s is not step and hits]
            elsewhere = max(others, key=lambda sh: len(sh[1]))[0] if others else None
            answer = self._answer(concept, elsewhere) if concept is not None or _is_advice(self.message) else None
            if answer is not None:
                return answer
        criteria = [c for s in self.lab.walk for c in s.criteria]
        junk = self.junk(criteria, self._needs())
        back = f"Back to {self._ask(step)}" if step is not None else ""
        # The reply repeats the open topic's question, so that question is now on screen.
        state = f"{step.topic}:{self.tries}" if step is not None else self.previous_state
        if junk is not None:
            return Reply(f"{junk}\n\n{back}".strip(), _junk_verdict(state))
        if not self.on_topic():
            return Reply(self.steer(back).strip(), _junk_verdict(state))
        return self._judge(results, pitfalls, counts=counts)

    def _pitfalls(self) -> tuple[frozenset[int], list[tuple[Correction, Match]]]:
        """The weak choices the message proposes, each set of words corrected once — by the most specific pitfall,
        the open topic's first — and the words they take up, which then earn no credit ("route everything
        through Helicone" does not add an LLM tool)."""
        current = [self.current] if self.current is not None else []
        steps = current + [s for s in self.lab.walk if s is not self.current]
        found: list[tuple[Correction, Match, frozenset[int]]] = []
        for correction in (c for step in steps for c in step.pitfalls):
            matches = [m for phrase in correction.phrases for m in find_all(self.message, phrase)]
            if matches:
                best = max(matches, key=lambda m: (m.end - m.start, -m.start))
                found.append((correction, best, covered(matches)))
        taken: set[int] = set()
        corrections: list[tuple[Correction, Match]] = []
        # Longest match first, then an exact wording before one with a gap; the sort is stable, so the open topic's
        # pitfall wins a tie.
        for correction, best, words_used in sorted(found, key=lambda f: (f[1].start - f[1].end, GAP in f[1].phrase)):
            if not words_used & taken:
                corrections.append((correction, best))
            taken |= words_used
        return frozenset(taken), corrections

    def _answer(self, concept: Concept | None, elsewhere: WalkStep | None) -> Reply | None:
        """A question that ticks nothing: the glossary's answer, or the open topic's model answer when the learner
        asks what to do about it (``elsewhere``: another topic whose points the question names). It is not a try
        at the topic."""
        step = self.current
        about = self.lab.step_for(concept.topic) if concept is not None and concept.topic else elsewhere
        advice = _is_advice(self.message)
        plain = concept is None and elsewhere is None and self.asked and self.on_topic()
        if step is not None and advice and (about is step or plain):
            return self._command(Intent.REVEAL, step)
        if concept is None:
            if step is None or not advice or about is None or about.topic in self.ticked_before:
                return None
            text = f"That is part of **{self._title(about)}** — let's take that topic now."
            return Reply(f"{text}\n\n{self._ask(about)}", Verdict(substantive=False, state=f"{about.topic}:0"))
        text = concept.answer.strip()
        if step is None:
            return Reply(text, Verdict(substantive=False, state=self.previous_state))
        if advice and about is not None and about.topic not in self.ticked_before:
            # The learner wants to work on that topic now: its question follows the answer.
            return Reply(f"{text}\n\n{self._ask(about)}", Verdict(substantive=False, state=f"{about.topic}:0"))
        back = f"Back to {self._ask(step)}"
        return Reply(f"{text}\n\n{back}", Verdict(substantive=False, state=f"{step.topic}:{self.tries}"))

    def _command(self, intent: Intent, step: WalkStep) -> Reply:
        if intent is Intent.HINT:
            text = f"For **{self._title(step)}**, a strong answer covers:\n\n" + _bullets(c.text for c in step.criteria)
            return Reply(text, Verdict(substantive=False, state=self.previous_state))
        parts = [step.explain.strip()] if intent is Intent.REVEAL else []
        following = self._first_open(after=step)
        if following is None:
            parts.append(self._wrap_up() if intent is Intent.REVEAL else self._ask(step))
            state = f"{step.topic}:{self.tries}" if intent is Intent.NEXT else WRAP_UP
        else:
            parts.append(self._ask(following))
            state = f"{following.topic}:0"
        return Reply("\n\n".join(parts), Verdict(substantive=False, state=state))

    def _judge(
        self, results: list[tuple[WalkStep, list[Hit]]], pitfalls: list[tuple[Correction, Match]], *, counts: bool
    ) -> Reply:
        """Feedback on every topic the message touches. ``counts`` is false for a question that ticks nothing: it
        gets the same feedback but is not a try at the open topic nor one of the lab's exchanges."""
        current = self.current
        ticked = [(step, hits) for step, hits in results if len(hits) >= step.need]
        ticked_ids = {step.topic for step, _ in ticked}
        parts: list[str] = []
        for step, hits in ticked:
            got = self.got(hits)
            if step.topic in self.ticked_before:
                parts.append(f"**{self._title(step)}** — more good points:\n\n{got}")
                continue
            parts.append(f"**{self._title(step)} ✓** — you covered:\n\n{got}")
            missing = [c.text for c in step.criteria if c not in {h.criterion for h in hits}]
            if missing:
                parts.append("You could add:\n\n" + _bullets(missing))
            parts.append(step.explain.strip())
        parts += [f"About {self.quote(match)}: {correction.reply.strip()}" for correction, match in pitfalls]

        if current is None:  # every topic is ticked: feedback only
            if not ticked and not pitfalls:
                parts.append(
                    "Your checklist is already complete, and this message does not add a point I can check against "
                    "it. Pick one decision — " + ", ".join(self._title(s).lower() for s in self.lab.walk) + " — and "
                    "tell me how you would change it and why."
                )
            return Reply("\n\n".join(parts), Verdict(frozenset(ticked_ids), None, counts, WRAP_UP))

        state_tries = self.tries
        if current.topic not in ticked_ids:
            hits = dict(results)[current]
            if hits:
                got = self.got(hits)
                still = _bullets(c.text for c in current.criteria if c not in {h.criterion for h in hits})
                parts.append(f"On **{self._title(current)}** you have:\n\n{got}\n\nStill missing:\n\n{still}")
            elif not ticked and not pitfalls and counts:
                parts.append(
                    f"That does not yet answer **{self._title(current)}**. A strong answer covers:\n\n"
                    + _bullets(c.text for c in current.criteria)
                )
            elif not ticked and not pitfalls:
                parts.append(self._no_answer())
            if not counts:
                parts.append(f"Back to {self._ask(current)}" if self.asked else self._ask(current))
                return Reply("\n\n".join(parts), Verdict(substantive=False, state=f"{current.topic}:{self.tries}"))
            if self.asked and not ticked:
                state_tries += 1
            if state_tries < GIVE_UP_AFTER:
                if not self.asked:
                    parts.append(self._ask(current))
                return Reply(
                    "\n\n".join(parts), Verdict(frozenset(ticked_ids), None, True, f"{current.topic}:{state_tries}")
                )
            parts += ["Here is how I would answer it.", current.explain.strip()]

        following = self._first_open(after=current, ticked=ticked_ids)
        if following is None:
            parts.append(self._wrap_up(ticked_ids))
            state = WRAP_UP
        else:
            parts.append("Next: " + self._ask(following))
            state = f"{following.topic}:0"
        return Reply("\n\n".join(parts), Verdict(frozenset(ticked_ids), None, True, state))

    def _no_answer(self) -> str:
        terms = ", ".join(f"**{c.phrases[0]}**" for c in self.lab.concepts)
        known = f" I can explain these terms from the lesson: {terms}." if terms else ""
        return f"I have no ready answer to that question in this lab's notes.{known}"

    def _wrap_up(self, ticked: Iterable[str] = ()) -> str:
        done = self.ticked_before | set(ticked)
        lines = [f"{'✓' if r.id in done else '○'} {r.text}" for r in self.lab.rubric]
        return (
            "**That completes the walk through the design.** Where the checklist stands:\n\n"
            + _bullets(lines)
            + "\n\nKeep going if you want to test another decision against the lesson — I will check every "
            "message against the same checklist."
        )
