"""The one identifier scheme for everything Tracebook reports: activity ids, extension IRIs, verbs and activity
types (xAPI 1.0.3 §2.4.3 Verb, §2.4.4.1 Activity, §4.1 Extensions).

The xAPI statements, and later the SCORM and cmi5 packages (issue 7), name the course, the module and its units
with these IRIs, so records from every channel join in one Learning Record Store. An activity id is built from
content ids only: content/README.md promises they never change when text is reworded, so neither do these.
"""

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from content.model import Module


class Verb(StrEnum):
    """Verb IRIs from the ADL vocabulary (https://adlnet.gov/expapi/verbs/), which every LRS report knows."""

    ANSWERED = "http://adlnet.gov/expapi/verbs/answered"
    ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
    COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
    PASSED = "http://adlnet.gov/expapi/verbs/passed"
    FAILED = "http://adlnet.gov/expapi/verbs/failed"
    EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"
    INTERACTED = "http://adlnet.gov/expapi/verbs/interacted"
    INITIALIZED = "http://adlnet.gov/expapi/verbs/initialized"
    TERMINATED = "http://adlnet.gov/expapi/verbs/terminated"
    # ADL has no verb for receiving a credential; the TinCan registry's "earned" is the one LRS reports list.
    EARNED = "http://id.tincanapi.com/verb/earned"
    # xAPI 1.0.3 §2.3.2 "Voided": the one verb the specification itself defines, for retracting a statement.
    VOIDED = "http://adlnet.gov/expapi/verbs/voided"

    @property
    def display(self) -> str:
        """The English display name: the IRI's last segment, as the vocabularies define it."""
        return self.value.rsplit("/", 1)[1]


class ActivityType(StrEnum):
    """Activity types from the ADL vocabulary (https://adlnet.gov/expapi/activities/)."""

    COURSE = "http://adlnet.gov/expapi/activities/course"
    MODULE = "http://adlnet.gov/expapi/activities/module"
    LESSON = "http://adlnet.gov/expapi/activities/lesson"
    ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
    QUESTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
    # A lab is practice against a scenario the AI tutor plays, which is what ADL's "simulation" describes.
    LAB = "http://adlnet.gov/expapi/activities/simulation"


class Extension(StrEnum):
    """The names of our own extensions; :meth:`ActivityIds.extension` turns one into its IRI."""

    LTI_DEPLOYMENT_ID = "lti-deployment-id"
    LTI_CONTEXT_ID = "lti-context-id"
    LTI_RESOURCE_LINK_ID = "lti-resource-link-id"
    ANSWER_REVISION = "answer-revision"
    LAB_TURN = "lab-turn"
    MODEL = "model"
    PROVIDER = "provider"
    INPUT_TOKENS = "input-tokens"
    OUTPUT_TOKENS = "output-tokens"
    LATENCY_MS = "latency-ms"
    FALLBACK = "fallback"
    MESSAGE = "message"
    REPLY = "reply"
    MESSAGE_SHA256 = "message-sha256"
    REPLY_SHA256 = "reply-sha256"
    CERTIFICATE_ID = "certificate-id"


def _segment(value: str) -> str:
    # LMS ids are opaque strings (an issuer is a whole URL): quoting everything but unreserved characters keeps
    # each one a single path segment, so two different (issuer, deployment, context) triples never collide.
    return quote(value, safe="")


@dataclass(frozen=True)
class ActivityIds:
    """Activity and extension IRIs under one prefix, the tool's ``TRACEBOOK_XAPI_ACTIVITY_BASE``.

    The prefix is part of every id an LRS has stored, so it must stay the same for the life of a deployment.
    """

    base: str

    def __post_init__(self) -> None:
        # A trailing slash would give the same deployment two spellings of every id.
        object.__setattr__(self, "base", self.base.rstrip("/"))

    def module(self, module: Module) -> str:
        return f"{self.base}/modules/{module.id}"

    def lesson(self, module: Module, lesson_id: str) -> str:
        return f"{self.module(module)}/lessons/{lesson_id}"

    def assessment(self, module: Module, assessment_id: str) -> str:
        """A lesson quiz or the module test: one family, since both are attempted, scored and completed alike."""
        return f"{self.module(module)}/assessments/{assessment_id}"

    def question(self, module: Module, assessment_id: str, question_id: str) -> str:
        return f"{self.assessment(module, assessment_id)}/questions/{question_id}"

    def lab(self, module: Module, lab_id: str) -> str:
        return f"{self.module(module)}/labs/{lab_id}"

    def course(self, issuer: str, deployment_id: str, context_scope_id: str) -> str:
        """The LMS course the module is placed in, as ARCHITECTURE.md defines a course: issuer, deployment and
        context (or the id derived from the resource link when a launch has no context)."""
        return f"{self.base}/courses/{_segment(issuer)}/{_segment(deployment_id)}/{_segment(context_scope_id)}"

    def extension(self, name: Extension) -> str:
        return f"{self.base}/extensions/{name}"
