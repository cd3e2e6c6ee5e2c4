"""Everything the tool holds about one learner, for an access request (GDPR Art. 15 and 20; FERPA's right to
inspect education records): a zip of pretty-printed JSON files with a README that says what each one is.

Answers are written out with the question and the chosen option as the learner saw them (from the module's
content), so a person can read the file without the tool. Nothing that lets someone act as the learner or as
the tool goes in: no launch-session ids, no URL tickets, no keys, no LRS or LMS credentials.
"""

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlalchemy.orm import Session

from content import Module
from lms_plugin.config import Settings
from lms_plugin.grades.sender import CHANNEL as AGS
from lms_plugin.models import (
    AnswerRow,
    AttemptGrant,
    AttemptRow,
    Base,
    CertificateRow,
    Course,
    DeliveredStatement,
    InstructorAudit,
    LabAttemptRow,
    LabExchangeRow,
    LabTraceRow,
    LaunchSession,
    Learner,
    LessonView,
    ModuleRecord,
    OutboxMessage,
    Placement,
    RosterMember,
)
from lms_plugin.services.admins import AuditTrail
from lms_plugin.services.certificates import status_of
from lms_plugin.storage import FileStorage
from lms_plugin.xapi.store import CHANNEL as XAPI

# Every table that holds a learner's rows carries learner_id (lms_plugin/models.py): found from the schema, so a
# table added later is exported and erased without anyone remembering to list it. Dependent tables come first.
LEARNER_TABLES: tuple[Table, ...] = tuple(
    table for table in reversed(Base.metadata.sorted_tables) if "learner_id" in table.columns
)


STATEMENT_REMOVED = "statement text removed after the retention period"

# Crockford's base32 without I, L, O, U: a reference read over the phone or typed from a ticket is not misread.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(kind: str) -> str:
    """A random reference for one export or erasure (``ERASE-8F3K2Q``): the audit trail and the request's ticket
    name it instead of the learner."""
    return f"{kind}-{''.join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))}"


class UnknownLearnerError(LookupError):
    def __init__(self) -> None:
        super().__init__(
            "The tool holds nothing about a learner with that issuer and LTI user id (sub). Check both are exactly "
            "as the LMS sends them: the issuer is a URL (the platform's, not the course's), the sub the LMS's "
            "internal user id, not a username or e-mail address."
        )


def find_learner(session: Session, issuer: str, sub: str) -> Learner:
    learner = session.scalar(select(Learner).where(Learner.issuer == issuer.strip(), Learner.sub == sub.strip()))
    if learner is None:
        raise UnknownLearnerError()
    return learner


def roster_entries(learner: Learner) -> ColumnElement[bool]:
    """The learner's copies in course rosters (NRPS): keyed by the LMS's user id, since the roster lists people
    who never launched the tool."""
    return (RosterMember.issuer == learner.issuer) & (RosterMember.user_id == learner.sub)


# What each table holds, as an admin reads a learner's summary.
HOLDING_LABELS = {
    "learners": "the learner (platform id, name, e-mail)",
    "roster_members": "entries in course rosters from the LMS",
    "module_records": "courses the module was opened in",
    "launch_sessions": "launches from the LMS",
    "url_tickets": "short-lived download and stream tickets",
    "lesson_views": "lessons read",
    "attempts": "quiz and test attempts",
    "answers": "answers",
    "attempt_grants": "extra test attempts granted",
    "lab_attempts": "labs started",
    "lab_exchanges": "lab messages and replies",
    "lab_traces": "lab span trees",
    "outbox_messages": "gradebook scores, learning records and PDF jobs in the outbox",
    "delivered_statements": "ids of learning records an LRS received, kept to void them there",
    "certificates": "certificates",
}


@dataclass(frozen=True)
class LearnerSummary:
    issuer: str
    sub: str
    name: str | None
    email: str | None
    first_seen: datetime
    holdings: dict[str, int]  # rows by table

    @property
    def rows(self) -> int:
        return sum(self.holdings.values())


def summarise(session: Session, issuer: str, sub: str) -> LearnerSummary:
    learner = find_learner(session, issuer, sub)
    return LearnerSummary(
        learner.issuer, learner.sub, learner.name, learner.email, learner.created_at, holdings(session, learner)
    )


def holdings(session: Session, learner: Learner) -> dict[str, int]:
    """How many rows of each table hold this learner's data (tables with none left out)."""
    counts = {
        table.name: int(
            session.scalar(select(func.count()).select_from(table).where(table.c.learner_id == learner.id)) or 0
        )
        for table in LEARNER_TABLES
    }
    counts[RosterMember.__tablename__] = int(
        session.scalar(select(func.count()).select_from(RosterMember).where(roster_entries(learner))) or 0
    )
    counts[Learner.__tablename__] = 1
    return {name: n for name, n in sorted(counts.items()) if n}


def student_labels(learner: Learner) -> list[str]:
    """How the tool writes the learner down where it keeps a name rather than an id: their name, or the sub when
    the LMS sent no name — an instructor's audit entries and certificate revocations name the instructor so
    (lms_plugin/blueprints/instructor.py), and entries written before they kept the student's id named the
    student so too."""
    return [label for label in (learner.name, learner.sub) if label]


def courses_of(learner: Learner) -> Select[int]:
    """The courses the learner opened the tool in (every launch makes a module record): the only courses where
    they can have acted as an instructor, so where a name that is theirs can mean them."""
    return select(ModuleRecord.course_id).where(ModuleRecord.learner_id == learner.id)


def names_the_student(labels: list[str]) -> ColumnElement[bool]:
    """An entry written before entries kept the student's id, whose text names one of ``labels`` as its student,
    by the exact phrases the course services wrote: a sub such as Moodle's "3" must not match every "3"."""
    return and_(
        InstructorAudit.subject_learner_id.is_(None),
        or_(
            *(InstructorAudit.detail.endswith(f" for {label}", autoescape=True) for label in labels),
            *(InstructorAudit.detail.startswith(f"{label}'s attempt ", autoescape=True) for label in labels),
        ),
    )


def instructor_entries(session: Session, learner: Learner) -> list[InstructorAudit]:
    """Course audit entries about the learner (an extra attempt granted, an attempt reset: by their id) and
    those they made as an instructor (the actor is kept as a name: found in their own courses), and older
    entries whose text names them as the student."""
    labels = student_labels(learner)
    named = or_(InstructorAudit.actor.in_(labels), names_the_student(labels))
    return list(
        session.scalars(
            select(InstructorAudit)
            .where(
                or_(
                    InstructorAudit.subject_learner_id == learner.id,
                    and_(InstructorAudit.course_id.in_(courses_of(learner)), named),
                )
            )
            .order_by(InstructorAudit.id)
        )
    )


README = """\
Your data in Tracebook
======================

Tracebook is a course tool your institution runs inside its learning platform (LMS). This archive holds
everything Tracebook kept about you on {produced} (UTC), for the learner the platform {issuer}
identifies as "{sub}". It was produced at your request (or your institution's) under reference {reference}.

Files (JSON, dates and times in UTC, ISO 8601):

  learner.json                 who you are to the tool: the platform's id for you, the name and e-mail it
                               sent, and your entries in course rosters the platform shared with the tool.
  courses_and_launches.json    the courses you opened the module in, each time you opened it from the
                               platform (what the platform told the tool about you and the course then), and
                               the changes instructors made that name you (an extra attempt, a reset).
  attempts.json                every quiz and module-test attempt: when, the score, and each answer with the
                               question and the option you chose, as you saw them.
  lessons.json                 the lessons you read, and when you first opened each one.
  labs.json                    your AI lab conversations: each message you wrote, the reply, which model or
                               tutor answered, its token counts, and the trace (spans) of the reply while it
                               is kept. Lab text and traces are deleted after a retention period, so older
                               ones may be missing.
  grades.json                  the scores the tool sent to your platform's gradebook, and whether each was
                               delivered ("delivered"), is waiting ("pending"), was replaced by a newer score
                               before it went ("superseded") or failed ("dead", "not-gradable", with the
                               platform's reason). Scores delivered longer ago than the tool keeps them are
                               not listed; attempts.json holds the attempts they came from. The gradebook itself
                               belongs to your platform.
  certificates.json            certificates issued to you, with their status and the signed credential
                               (a VC-JWT); the PDF of each is in certificates/ when it was rendered.
  xapi_statements.json         the learning records (xAPI statements) the tool produced about you, and whether
                               each was sent to your institution's Learning Record Store. For records sent
                               longer ago than the tool keeps them, only the id and when it was sent are left:
                               the Learning Record Store has the record itself.

Not included: the tool's session tokens and keys (they would let someone act as you or as the tool), and data
held by your platform or by your institution's Learning Record Store, which you can ask them for.
"""


@dataclass(frozen=True)
class LearnerExport:
    """The archive and the numbers an admin sees about it."""

    archive: bytes
    reference: str
    files: tuple[str, ...]


def export_learner(
    session: Session,
    module: Module,
    settings: Settings,
    now: datetime,
    who: tuple[str, str],
    actor: str,
    remote_addr: str | None = None,
) -> LearnerExport:
    """The archive of the learner ``who`` (issuer, sub), recorded in the audit trail under a reference that names
    the export, not the learner (the trail outlives an erasure)."""
    learner = find_learner(session, *who)
    export = LearnerArchive(session, module, settings, now).build(learner, new_reference("EXPORT"))
    detail = f"exported learner data ({len(export.files)} files); reference {export.reference}"
    AuditTrail(session, now).record(actor, "learner.export", detail, remote_addr)
    return export


def _json(value: Any) -> bytes:
    def default(item: object) -> str:
        if isinstance(item, datetime):
            return item.isoformat()
        raise TypeError(f"{type(item).__name__} is not JSON")

    return (json.dumps(value, indent=2, ensure_ascii=False, default=default) + "\n").encode("utf-8")


class LearnerArchive:
    """Reads one learner's rows and writes them as the archive's files."""

    def __init__(self, session: Session, module: Module, settings: Settings, now: datetime) -> None:
        self.session = session
        self.module = module
        self.settings = settings
        self.now = now

    def build(self, learner: Learner, reference: str) -> LearnerExport:
        storage = FileStorage(self.settings.certificates.storage_dir)
        certificates = self._rows(CertificateRow, learner, CertificateRow.issued_at)
        pdfs = {c.id: storage.read(c.pdf_path) for c in certificates if c.pdf_path is not None}
        files: dict[str, bytes] = {
            "README.txt": README.format(
                produced=f"{self.now:%Y-%m-%d %H:%M}", issuer=learner.issuer, sub=learner.sub, reference=reference
            ).encode("utf-8"),
            "learner.json": _json(self._learner(learner)),
            "courses_and_launches.json": _json(self._courses(learner)),
            "attempts.json": _json(self._attempts(learner)),
            "lessons.json": _json(self._lessons(learner)),
            "labs.json": _json(self._labs(learner)),
            "grades.json": _json(self._outbox(learner, AGS, "score")),
            "certificates.json": _json(
                [self._certificate(c, c.id in pdfs and pdfs[c.id] is not None) for c in certificates]
            ),
            "xapi_statements.json": _json(self._statements(learner)),
        }
        files |= {_pdf_name(cid): pdf for cid, pdf in pdfs.items() if pdf is not None}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(zipfile.ZipInfo(name, self.now.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)
        return LearnerExport(buffer.getvalue(), reference, tuple(files))

    def _rows(self, model: Any, learner: Learner, *order: Any) -> list[Any]:
        return list(self.session.scalars(select(model).where(model.learner_id == learner.id).order_by(*order)))

    def _learner(self, learner: Learner) -> dict[str, Any]:
        rosters = self.session.execute(
            select(RosterMember, Course)
            .join(Course, Course.id == RosterMember.course_id)
            .where(roster_entries(learner))
        ).all()
        return {
            "platform": learner.issuer,
            "user_id": learner.sub,
            "name": learner.name,
            "email": learner.email,
            "first_seen": learner.created_at,
            "course_rosters": [
                {
                    "course": _course(course),
                    "name": member.name,
                    "email": member.email,
                    "roles": member.roles,
                    "status": member.status,
                }
                for member, course in rosters
            ],
        }

    def _courses(self, learner: Learner) -> dict[str, Any]:
        records = self.session.execute(
            select(ModuleRecord, Course)
            .join(Course, Course.id == ModuleRecord.course_id)
            .where(ModuleRecord.learner_id == learner.id)
            .order_by(ModuleRecord.created_at)
        ).all()
        launches = self.session.execute(
            select(LaunchSession, Placement)
            .join(Placement, Placement.id == LaunchSession.placement_id)
            .where(LaunchSession.learner_id == learner.id)
            .order_by(LaunchSession.created_at)
        ).all()
        return {
            "courses": [
                {**_course(course), "module": record.module_id, "first_opened": record.created_at}
                for record, course in records
            ],
            "launches": [
                {
                    "at": launch.created_at,
                    "session_expires": launch.expires_at,
                    "course_id": launch.course_id,
                    "placement": {
                        "resource_link_id": placement.resource_link_id,
                        "unit": placement.unit,
                        "title": placement.title,
                    },
                    "as_the_platform_sent_it": launch.context,
                }
                for launch, placement in launches
            ],
            # Who made a change about the learner is left out: the instructor's identity is theirs, not the
            # learner's; and a change the learner made as an instructor does not name the student.
            "instructor_changes": [
                {
                    "course_id": entry.course_id,
                    "at": entry.at,
                    "action": entry.action,
                    "detail": entry.detail,
                    "you": "made the change" if entry.actor in student_labels(learner) else "are the student",
                }
                for entry in instructor_entries(self.session, learner)
            ],
        }

    def _attempts(self, learner: Learner) -> dict[str, Any]:
        answers: dict[str, list[AnswerRow]] = {}
        for answer in self._rows(AnswerRow, learner, AnswerRow.id):
            answers.setdefault(answer.attempt_id, []).append(answer)
        attempts = []
        for attempt in self._rows(AttemptRow, learner, AttemptRow.started_at, AttemptRow.number):
            assessment = self.module.assessment(attempt.assessment_id)
            attempts.append(
                {
                    "attempt_id": attempt.id,
                    "assessment": attempt.assessment_id,
                    "title": assessment.title if assessment else None,
                    "kind": attempt.kind,
                    "number": attempt.number,
                    "started": attempt.started_at,
                    "submitted": attempt.submitted_at,
                    "score": {"correct": attempt.score_correct, "out_of": attempt.score_total}
                    if attempt.submitted_at
                    else None,
                    "passed": attempt.passed,
                    "answers": [self._answer(attempt.assessment_id, a) for a in answers.get(attempt.id, [])],
                }
            )
        grants = self._rows(AttemptGrant, learner, AttemptGrant.granted_at)
        return {
            "attempts": attempts,
            "extra_test_attempts_granted": [{"at": g.granted_at, "extra": g.extra} for g in grants],
        }

    def _answer(self, assessment_id: str, answer: AnswerRow) -> dict[str, Any]:
        assessment = self.module.assessment(assessment_id)
        question = assessment.question(answer.question_id) if assessment else None
        option = question.option(answer.option_id) if question else None
        return {
            "question_id": answer.question_id,
            "question": question.stem if question else None,
            "chosen_option_id": answer.option_id,
            "chosen": option.text if option else None,
            "correct": answer.correct,
            "revision": answer.revision,
            "at": answer.recorded_at,
        }

    def _lessons(self, learner: Learner) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(LessonView, ModuleRecord.course_id)
            .join(ModuleRecord, ModuleRecord.id == LessonView.record_id)
            .where(LessonView.learner_id == learner.id)
            .order_by(LessonView.first_viewed_at)
        ).all()
        found = []
        for view, course_id in rows:
            lesson = self.module.lesson(view.lesson_id)
            found.append(
                {
                    "course_id": course_id,
                    "lesson": view.lesson_id,
                    "title": lesson.title if lesson else None,
                    "first_opened": view.first_viewed_at,
                }
            )
        return found

    def _labs(self, learner: Learner) -> list[dict[str, Any]]:
        exchanges: dict[str, list[LabExchangeRow]] = {}
        for row in self._rows(LabExchangeRow, learner, LabExchangeRow.attempt_id, LabExchangeRow.number):
            exchanges.setdefault(row.attempt_id, []).append(row)
        traces = {row.exchange_id: row.tree for row in self._rows(LabTraceRow, learner, LabTraceRow.id)}
        labs = []
        for attempt in self._rows(LabAttemptRow, learner, LabAttemptRow.started_at):
            lab = self.module.lab(attempt.lab_id)
            labs.append(
                {
                    "lab": attempt.lab_id,
                    "title": lab.title if lab else None,
                    "started": attempt.started_at,
                    "completed": attempt.completed_at,
                    "exchanges": [_exchange(row, traces.get(row.id)) for row in exchanges.get(attempt.id, [])],
                }
            )
        return labs

    def _outbox(self, learner: Learner, channel: str, content: str) -> list[dict[str, Any]]:
        rows = self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.learner_id == learner.id, OutboxMessage.channel == channel)
            .order_by(OutboxMessage.id)
        )
        found = []
        for row in rows:
            entry: dict[str, Any] = {"state": row.status}
            if channel == AGS:
                entry |= {
                    "gradebook_column": row.destination.get("label"),
                    "resource_link_id": row.destination.get("resource_link_id"),
                }
            entry |= {
                content: row.payload,
                "queued": row.created_at,
                "delivered": row.delivered_at,
                "tries": row.attempts,
                "last_error": row.last_error,
            }
            found.append(entry)
        return found

    def _statements(self, learner: Learner) -> list[dict[str, Any]]:
        """The outbox's statements, then those whose outbox rows the retention period removed (an id is listed
        once: a statement queued again after its row went is in the outbox)."""
        found = self._outbox(learner, XAPI, "statement")
        listed = {str(entry["statement"].get("id")) for entry in found}
        ledger = self.session.scalars(
            select(DeliveredStatement)
            .where(DeliveredStatement.learner_id == learner.id)
            .order_by(DeliveredStatement.delivered_at, DeliveredStatement.statement_id)
        )
        return found + [
            {"state": "delivered", "id": entry.statement_id, "statement": STATEMENT_REMOVED,
             "delivered": entry.delivered_at}
            for entry in ledger
            if entry.statement_id not in listed
        ]  # fmt: skip

    def _certificate(self, row: CertificateRow, with_pdf: bool) -> dict[str, Any]:
        return {
            "id": row.id,
            "version": row.version,
            "module": row.module_title,
            "holder_name": row.holder_name,
            "issued_by": row.issuer_name,
            "score": {"correct": row.score_correct, "out_of": row.score_total},
            "issued": row.issued_at,
            "status": str(status_of(row)),
            "superseded_by": row.superseded_by,
            "revoked": row.revoked_at,
            "revoked_reason": row.revoked_reason,
            "credential_jwt": row.credential_jwt,
            "credential_sha256": row.credential_sha256,
            "pdf": _pdf_name(row.id) if with_pdf else None,
        }


def _pdf_name(certificate_id: str) -> str:
    return f"certificates/{certificate_id}.pdf"


def _course(course: Course) -> dict[str, Any]:
    return {
        "course_id": course.id,
        "platform": course.issuer,
        "deployment_id": course.deployment_id,
        "context_id": course.context_id,
        "title": course.title,
    }


def _exchange(row: LabExchangeRow, trace: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "number": row.number,
        "status": row.status,
        "sent": row.sent_at,
        "your_message": row.learner_message,
        "replied": row.replied_at,
        "reply": row.assistant_reply,
        "answered_by": {"provider": row.provider, "model": row.response_model},
        "fallback_reason": row.fallback_reason,
        "tokens": {"input": row.input_tokens, "output": row.output_tokens},
        "cost_usd": row.cost,
        "latency_ms": row.latency_ms,
        "trace": trace,
    }
