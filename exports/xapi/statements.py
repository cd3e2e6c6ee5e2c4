"""xAPI 1.0.3 statements for what a learner does in the module, as plain JSON-ready dicts (xAPI 1.0.3 §2.4).

Pure and deterministic: the same call gives the same statement, id included, so a statement rebuilt after a
crash or sent twice is harmless, and a different statement under a known id (a 409 from the LRS) is a bug.

Shape of every statement:
- ``actor``: the LMS account (homePage = the platform's issuer, name = the LTI ``sub``); an ``mbox`` replaces it
  only when an admin allowed e-mail addresses and the caller passes one (§2.4.2.3: exactly one identifier).
- ``context.registration``: the attempt (quiz, test or lab attempt; for lessons the learner's module record).
- ``context.contextActivities``: a question's parent is its assessment and its grouping the module and the LMS
  course; a unit's (lesson, quiz, test, lab) parent is the module and its grouping the course.
- ``context.extensions``: the LTI deployment, context and resource link ids under our own IRIs.
- A lab exchange (the learner's message and the assistant's reply) is one ``interacted`` statement about the lab:
  turn, model and provider in its context, tokens, latency, fallback and the texts' SHA-256 in its result.
- No ``version`` (§2.4.10: set by the LRS), no ``stored`` or ``authority`` (the LRS's), no ``instructor`` (a
  statement is not tied to one).

Built as dicts rather than with the ``tincan`` package: tincan 1.0.0 dates from 2020, and its client has no
timeout and never raises on failure. :mod:`exports.xapi.validation` checks what we build.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from content.model import Assessment, AssessmentKind, Lab, Lesson, Module, Question
from exports.xapi.ids import ActivityIds, ActivityType, Extension, Verb

LANGUAGE = "en-US"  # the language of the module's text

# The namespace of every statement id. Changing it would give every statement ever sent a new id, so resends
# after the change would be stored twice: never change it.
STATEMENT_NAMESPACE = uuid.UUID("5d8c3cd3-87b2-49a3-bb65-95f816c812b3")


def statement_id(*parts: str) -> str:
    """A UUID derived from what the statement records (its kind, the registration, …): the same parts always
    give the same id. The parts are joined as a JSON list so that ("a-b", "c") and ("a", "b-c") differ."""
    return str(uuid.uuid5(STATEMENT_NAMESPACE, json.dumps(parts)))


@dataclass(frozen=True)
class Learner:
    """Who did it. ``email`` is given only when the admin allowed e-mail addresses in the LRS."""

    issuer: str
    sub: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Where:
    """The LTI placement a statement happened in."""

    issuer: str
    platform_name: str | None
    deployment_id: str
    context_id: str | None
    context_scope_id: str  # the context id, or the one derived from the resource link when a launch has none
    context_title: str | None
    resource_link_id: str


def _language_map(text: str) -> dict[str, str]:
    return {LANGUAGE: text}


def _timestamp(at: datetime) -> str:
    # A naive time would be read in the LRS's zone, so refuse it rather than guess. Milliseconds: an LRS keeps
    # at least that precision, so a statement fetched back compares equal to the one we sent.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"the time {at.isoformat()} has no zone: pass an aware datetime")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _duration(duration: timedelta) -> str:
    # §4.6 ISO 8601 durations: an LRS may keep only hundredths of a second, so we send no more than that.
    if duration < timedelta(0):
        raise ValueError(f"a duration cannot be negative: {duration}")
    seconds = Decimal(duration // timedelta(microseconds=1)).scaleb(-6).quantize(Decimal("0.01"))
    return f"PT{seconds.normalize():f}S"


def _registration(registration: str) -> str:
    # The canonical spelling, so an id derived from it does not depend on how the caller wrote the UUID.
    return str(uuid.UUID(registration))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _activity(activity_id: str, definition: dict[str, Any]) -> dict[str, Any]:
    return {"objectType": "Activity", "id": activity_id, "definition": definition}


@dataclass(frozen=True)
class Statements:
    """The statement builders for one module under one id scheme."""

    ids: ActivityIds
    module: Module

    def answered(
        self,
        who: Learner,
        where: Where,
        registration: str,
        assessment_id: str,
        question_id: str,
        option_id: str,
        correct: bool,
        revision: int,
        at: datetime,
    ) -> dict[str, Any]:
        """One answer to a question; ``revision`` counts the learner's answers to it in this attempt, so a changed
        module-test answer is a new statement rather than a conflicting copy of the first."""
        assessment = self._assessment(assessment_id)
        question = assessment.question(question_id)
        if question is None:
            raise LookupError(f"{assessment_id} has no question {question_id!r}")
        option = question.option(option_id)
        if option is None:
            raise LookupError(f"question {question_id} has no option {option_id!r}")
        if option.correct is not correct:
            # The grader and the content disagree: a statement either way would record something false.
            raise ValueError(f"option {option_id} of {question_id} is {'' if option.correct else 'not '}correct")
        if revision < 1:
            raise ValueError(f"answer revisions count from 1, not {revision}")
        registration = _registration(registration)
        points = 1 if correct else 0
        return self._statement(
            statement_id("answered", registration, assessment_id, question_id, str(revision)),
            who,
            Verb.ANSWERED,
            self._question_activity(assessment, question),
            where,
            registration,
            question_of=assessment,
            at=at,
            result={
                "response": option_id,
                "success": correct,
                "score": {"scaled": points, "raw": points, "min": 0, "max": 1},
                "extensions": {self.ids.extension(Extension.ANSWER_REVISION): revision},
            },
        )

    def attempted(
        self, who: Learner, where: Where, registration: str, assessment_id: str, at: datetime
    ) -> dict[str, Any]:
        """The start of a quiz or test attempt."""
        registration = _registration(registration)
        return self._statement(
            statement_id("attempted", registration, assessment_id),
            who,
            Verb.ATTEMPTED,
            self._assessment_activity(self._assessment(assessment_id)),
            where,
            registration,
            at=at,
        )

    def finished(
        self,
        who: Learner,
        where: Where,
        registration: str,
        assessment_id: str,
        correct: int,
        total: int,
        passed: bool | None,
        duration: timedelta,
        at: datetime,
    ) -> list[dict[str, Any]]:
        """A submitted attempt: ``completed`` with the score, and for the module test also ``passed`` or ``failed``.

        ``passed`` is the pass rule's verdict (assessments.scoring), given for the test and None for a quiz,
        which has no pass mark."""
        assessment = self._assessment(assessment_id)
        is_test = assessment.kind is AssessmentKind.TEST
        if is_test and passed is None:
            raise ValueError(f"{assessment_id} is the module test: say whether the attempt passed")
        if not is_test and passed is not None:
            raise ValueError(f"{assessment_id} is a quiz, which has no pass mark: pass None")
        if total < 1 or not 0 <= correct <= total:
            raise ValueError(f"a score of {correct} out of {total} is impossible")
        registration = _registration(registration)

        def build(kind: str, verb: Verb) -> dict[str, Any]:
            result: dict[str, Any] = {
                "score": {"scaled": float(Fraction(correct, total)), "raw": correct, "min": 0, "max": total},
            }
            if passed is not None:
                result["success"] = passed
            result |= {"completion": True, "duration": _duration(duration)}
            return self._statement(
                statement_id(kind, registration, assessment_id),
                who,
                verb,
                self._assessment_activity(assessment),
                where,
                registration,
                at=at,
                result=result,
            )

        statements = [build("completed", Verb.COMPLETED)]
        if passed is not None:
            # One id for either verdict: an attempt reported as passed and later as failed is a conflict to see.
            statements.append(build("verdict", Verb.PASSED if passed else Verb.FAILED))
        return statements

    def experienced(
        self, who: Learner, where: Where, registration: str, lesson_id: str, at: datetime
    ) -> dict[str, Any]:
        """The first read of a lesson within ``registration`` (the learner's module record): reading it again
        rebuilds the same id, which the outbox and the LRS keep once."""
        registration = _registration(registration)
        return self._statement(
            statement_id("experienced", registration, lesson_id),
            who,
            Verb.EXPERIENCED,
            self._lesson_activity(self._lesson(lesson_id)),
            where,
            registration,
            at=at,
        )

    def lab_started(self, who: Learner, where: Where, registration: str, lab_id: str, at: datetime) -> dict[str, Any]:
        registration = _registration(registration)
        return self._statement(
            statement_id("lab-started", registration, lab_id),
            who,
            Verb.ATTEMPTED,
            self._lab_activity(self._lab(lab_id)),
            where,
            registration,
            at=at,
        )

    def lab_exchange(
        self,
        who: Learner,
        where: Where,
        registration: str,
        lab_id: str,
        turn: int,
        message: str,
        reply: str,
        model: str,
        provider: str,
        input_tokens: int | None,
        output_tokens: int | None,
        latency_ms: float,
        fallback: str | None,
        include_text: bool,
        at: datetime,
    ) -> dict[str, Any]:
        """One learner message and the assistant's reply, as ``interacted`` with the lab.

        The texts travel only when ``include_text`` (the admin's privacy setting); their SHA-256 always does, so
        repeated messages can be counted without reading them. Who answered (model, provider) is context; what
        the exchange cost and whether the offline tutor stood in (``fallback``, its reason) is the result."""
        if turn < 1:
            raise ValueError(f"lab turns count from 1, not {turn}")
        registration = _registration(registration)
        ext = self.ids.extension
        measured: dict[str, Any] = {
            ext(Extension.INPUT_TOKENS): input_tokens,
            ext(Extension.OUTPUT_TOKENS): output_tokens,
            ext(Extension.LATENCY_MS): latency_ms,
            ext(Extension.FALLBACK): fallback,
            ext(Extension.MESSAGE_SHA256): _sha256(message),
            ext(Extension.REPLY_SHA256): _sha256(reply),
        }
        if include_text:
            measured |= {ext(Extension.MESSAGE): message, ext(Extension.REPLY): reply}
        return self._statement(
            statement_id("lab-exchange", registration, lab_id, str(turn)),
            who,
            Verb.INTERACTED,
            self._lab_activity(self._lab(lab_id)),
            where,
            registration,
            at=at,
            # An unknown count is left out rather than sent as null, which some LRS reports read as zero.
            result={"extensions": {key: value for key, value in measured.items() if value is not None}},
            extensions={ext(Extension.LAB_TURN): turn, ext(Extension.MODEL): model, ext(Extension.PROVIDER): provider},
        )

    def lab_completed(self, who: Learner, where: Where, registration: str, lab_id: str, at: datetime) -> dict[str, Any]:
        registration = _registration(registration)
        return self._statement(
            statement_id("lab-completed", registration, lab_id),
            who,
            Verb.COMPLETED,
            self._lab_activity(self._lab(lab_id)),
            where,
            registration,
            at=at,
            result={"completion": True},
        )

    def earned(
        self, who: Learner, where: Where, registration: str, certificate_id: str, correct: int, total: int, at: datetime
    ) -> dict[str, Any]:
        """A certificate issued for passing the module (``registration``: the test attempt that earned it). The
        module is the object; each certificate version has its own id, carried as an extension so a report can
        link to its verification page."""
        registration = _registration(registration)
        return self._statement(
            statement_id("earned", certificate_id),
            who,
            Verb.EARNED,
            self._module_activity(),
            where,
            registration,
            at=at,
            result={"score": {"scaled": float(Fraction(correct, total)), "raw": correct, "min": 0, "max": total}},
            extensions={self.ids.extension(Extension.CERTIFICATE_ID): certificate_id},
        )

    def _statement(
        self,
        identifier: str,
        who: Learner,
        verb: Verb,
        activity: dict[str, Any],
        where: Where,
        registration: str,
        *,
        at: datetime,
        question_of: Assessment | None = None,
        result: dict[str, Any] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "id": identifier,
            "actor": _actor(who),
            "verb": {"id": str(verb), "display": _language_map(verb.display)},
            "object": activity,
        }
        if result is not None:
            statement["result"] = result
        statement["context"] = self._context(activity["id"], where, registration, question_of, extensions or {})
        statement["timestamp"] = _timestamp(at)
        return statement

    def _context(
        self,
        activity_id: str,
        where: Where,
        registration: str,
        question_of: Assessment | None,
        extensions: dict[str, Any],
    ) -> dict[str, Any]:
        # A unit sits in the module; a question sits in its assessment, and the module then groups it; the
        # module itself sits in the course.
        course = self._course_activity(where)
        if activity_id == self.ids.module(self.module):
            parent, grouping = course, []
        elif question_of is None:
            parent, grouping = self._module_activity(), [course]
        else:
            parent, grouping = self._assessment_activity(question_of), [self._module_activity(), course]
        ext = self.ids.extension
        lti = {
            ext(Extension.LTI_DEPLOYMENT_ID): where.deployment_id,
            ext(Extension.LTI_CONTEXT_ID): where.context_id,
            ext(Extension.LTI_RESOURCE_LINK_ID): where.resource_link_id,
        }
        context: dict[str, Any] = {
            "registration": registration,
            "contextActivities": {"parent": [parent], "grouping": grouping} if grouping else {"parent": [parent]},
        }
        if where.platform_name:
            context["platform"] = where.platform_name
        context["language"] = LANGUAGE
        context["extensions"] = {key: value for key, value in lti.items() if value is not None} | extensions
        return context

    def _assessment(self, assessment_id: str) -> Assessment:
        found = self.module.assessment(assessment_id)
        if found is None:
            raise LookupError(f"module {self.module.id} has no quiz or test {assessment_id!r}")
        return found

    def _lesson(self, lesson_id: str) -> Lesson:
        found = self.module.lesson(lesson_id)
        if found is None:
            raise LookupError(f"module {self.module.id} has no lesson {lesson_id!r}")
        return found

    def _lab(self, lab_id: str) -> Lab:
        found = self.module.lab(lab_id)
        if found is None:
            raise LookupError(f"module {self.module.id} has no lab {lab_id!r}")
        return found

    def _module_activity(self) -> dict[str, Any]:
        # Only ever context, which travels with every statement: the name is enough to read a report by.
        definition = {"type": str(ActivityType.MODULE), "name": _language_map(self.module.title)}
        return _activity(self.ids.module(self.module), definition)

    def _course_activity(self, where: Where) -> dict[str, Any]:
        definition: dict[str, Any] = {"type": str(ActivityType.COURSE)}
        if where.context_title:
            definition["name"] = _language_map(where.context_title)
        return _activity(self.ids.course(where.issuer, where.deployment_id, where.context_scope_id), definition)

    def _lesson_activity(self, lesson: Lesson) -> dict[str, Any]:
        definition = {
            "type": str(ActivityType.LESSON),
            "name": _language_map(lesson.title),
            "description": _language_map(lesson.tagline),
        }
        return _activity(self.ids.lesson(self.module, lesson.id), definition)

    def _assessment_activity(self, assessment: Assessment) -> dict[str, Any]:
        definition = {"type": str(ActivityType.ASSESSMENT), "name": _language_map(assessment.title)}
        if assessment.subtitle:
            definition["description"] = _language_map(assessment.subtitle)
        return _activity(self.ids.assessment(self.module, assessment.id), definition)

    def _question_activity(self, assessment: Assessment, question: Question) -> dict[str, Any]:
        # §2.4.4.1 interaction activities: the choices in the file's order (students see them shuffled, but the
        # definition must be the same for every statement about the question).
        definition = {
            "type": str(ActivityType.QUESTION),
            "name": _language_map(question.stem),
            "description": _language_map(question.stem),
            "interactionType": "choice",
            "choices": [{"id": option.id, "description": _language_map(option.text)} for option in question.options],
            "correctResponsesPattern": [question.correct_option.id],
        }
        return _activity(self.ids.question(self.module, assessment.id, question.id), definition)

    def _lab_activity(self, lab: Lab) -> dict[str, Any]:
        definition = {
            "type": str(ActivityType.LAB),
            "name": _language_map(lab.title),
            "description": _language_map(lab.goal),
        }
        return _activity(self.ids.lab(self.module, lab.id), definition)


def _actor(who: Learner) -> dict[str, Any]:
    actor: dict[str, Any] = {"objectType": "Agent"}
    if who.name:
        actor["name"] = who.name
    if who.email:
        actor["mbox"] = f"mailto:{who.email}"
    else:
        actor["account"] = {"homePage": who.issuer, "name": who.sub}
    return actor
