"""Certificates for passing the module test (issue 8).

A certificate is issued in the transaction that records the passing attempt: the row, its Open Badges 3.0
credential signed as a VC-JWT (exports.certificates), the job that renders its PDF (outbox channel
``certificate``: the worker renders, never a web request) and the ``earned`` xAPI statement. A later, better
score issues a new version; the earlier one stays verifiable and points to it. Anyone can check one at
``/c/<id>``; the course's instructors and tool admins can revoke one with a reason."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.attempt import Attempt, RecordedAnswer
from assessments.scoring import Result
from content import AssessmentKind, Module
from exports.certificates import (
    CertificateFacts,
    Issuer,
    Verification,
    build_credential,
    credential_sha256,
    sign_credential,
    verify_credential,
)
from lms_plugin.clock import Clock
from lms_plugin.config import Settings
from lms_plugin.models import AttemptRow, CertificateRow, Course, Learner, ModuleRecord, Platform
from lms_plugin.outbox.store import Outbox
from lms_plugin.services.credential_keys import CredentialKeys

CHANNEL = "certificate"  # the outbox channel of PDF rendering jobs
MAX_NAME_LENGTH = 120
# Crockford's base32 without I, L, O, U: an id read aloud or typed from paper cannot be misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class CertificateError(Exception):
    """A certificate request that cannot be honoured; the message says why, for the person who asked."""


class CertificateStatus(StrEnum):
    VALID = "valid"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"


def new_certificate_id() -> str:
    """12 random characters (60 bits) in three groups, e.g. ``K7M2-9QXD-4TJA``: short enough for a printed URL."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def verification_url(settings: Settings, certificate_id: str) -> str:
    return f"{settings.base_url}/c/{certificate_id}"


def issuer_profile(settings: Settings) -> Issuer:
    base = settings.base_url
    return Issuer(
        id=f"{base}/certificates/issuer",
        name=settings.certificates.issuer_name,
        url=base,
        key_set_url=f"{base}/certificates/keys.json",
    )


def achievement_id(settings: Settings, module: Module) -> str:
    return f"{settings.base_url}/certificates/achievements/{module.id}"


def status_of(row: CertificateRow) -> CertificateStatus:
    if row.revoked_at is not None:
        return CertificateStatus.REVOKED
    return CertificateStatus.SUPERSEDED if row.superseded_by else CertificateStatus.VALID


def facts_of(row: CertificateRow, settings: Settings, supersedes: str | None) -> CertificateFacts:
    assert row.holder_name is not None, "an erased certificate has no facts to print"
    return CertificateFacts(
        certificate_id=row.id,
        version=row.version,
        holder_name=row.holder_name,
        module_id=row.module_id,
        module_title=row.module_title,
        score_correct=row.score_correct,
        score_total=row.score_total,
        issued_at=row.issued_at,
        issuer_name=row.issuer_name,
        verification_url=verification_url(settings, row.id),
        supersedes=supersedes,
    )


@dataclass(frozen=True)
class IssuedCertificate:
    id: str
    version: int
    attempt_id: str
    score_correct: int
    score_total: int
    issued_at: datetime


class CertificateEvents(Protocol):
    """Who else hears of a certificate, in the same transaction (the xAPI statements)."""

    def certificate_issued(self, certificate: IssuedCertificate) -> None: ...


@dataclass(frozen=True)
class CertificateView:
    """A certificate as pages show it. ``holder_name`` is None once its holder's data was erased."""

    id: str
    version: int
    holder_name: str | None
    module_title: str
    issuer_name: str
    score_correct: int
    score_total: int
    issued_at: datetime
    status: CertificateStatus
    superseded_by: str | None
    supersedes: str | None
    revoked_at: datetime | None
    revoked_reason: str | None
    pdf_ready: bool
    has_credential: bool
    signature: Verification | None  # None when there is no credential left to check
    course_id: int | None

    @property
    def percent(self) -> int:
        return self.score_correct * 100 // self.score_total


class CertificateIssuer:
    """Issues a learner's certificates in one course: as the attempt service's listener when the module test is
    passed, or when the learner confirms the name to print (the LMS sent none)."""

    def __init__(
        self,
        session: Session,
        module: Module,
        clock: Clock,
        settings: Settings,
        record_id: int,
        *,
        eligible: bool,
        events: Sequence[CertificateEvents] = (),
    ) -> None:
        self.session = session
        # Only the course's students earn certificates: an instructor or Canvas's test student trying the test
        # does not (as their scores do not go to the gradebook).
        self.eligible = eligible
        self.module = module
        self.clock = clock
        self.settings = settings
        self.record_id = record_id
        self.events = events

    # AttemptEvents
    def started(self, attempt: Attempt) -> None:
        """Starting an attempt changes no certificate."""

    def answered(self, attempt: Attempt, answer: RecordedAnswer) -> None:
        """An answer changes no certificate: a submitted attempt may."""

    def submitted(self, attempt: Attempt, outcome: Result) -> None:
        if self.eligible and attempt.kind is AssessmentKind.TEST and outcome.passed:
            name = self._learner().name
            if name and name.strip():
                self._issue(attempt.id, outcome.score.correct, outcome.score.total, name.strip())

    def needs_name(self) -> bool:
        """True when a passing attempt waits for its certificate because the LMS sent no name to print."""
        if not self.eligible or (self._learner().name or "").strip():
            return False
        return self._best_uncertified() is not None

    def confirm_name(self, name: str) -> IssuedCertificate | None:
        """Issue the certificate of the best passing attempt with the name the learner confirmed; None when no
        passing attempt waits for one (the form sent twice)."""
        name = " ".join(name.split())
        if not self.eligible:
            raise CertificateError("Certificates are for the course's students.")
        if not name:
            raise CertificateError("Enter the name to print on your certificate.")
        if len(name) > MAX_NAME_LENGTH:
            raise CertificateError(f"A name on a certificate can be at most {MAX_NAME_LENGTH} characters.")
        best = self._best_uncertified()
        if best is None:  # already issued (a second click): nothing to do
            return None
        return self._issue(best.id, best.score_correct or 0, best.score_total or 0, name)

    def _record(self) -> ModuleRecord:
        record = self.session.get(ModuleRecord, self.record_id)
        assert record is not None
        return record

    def _learner(self) -> Learner:
        learner = self.session.get(Learner, self._record().learner_id)
        assert learner is not None
        return learner

    def _latest(self, *, standing: bool) -> CertificateRow | None:
        """The newest certificate (``standing``: the newest not revoked, which a better score must beat)."""
        record = self._record()
        query = select(CertificateRow).where(
            CertificateRow.learner_id == record.learner_id,
            CertificateRow.course_id == record.course_id,
            CertificateRow.module_id == record.module_id,
        )
        if standing:
            query = query.where(CertificateRow.revoked_at.is_(None))
        return self.session.scalar(query.order_by(CertificateRow.version.desc()).limit(1))

    def _best_uncertified(self) -> AttemptRow | None:
        """The best passing test attempt, if it beats every certificate issued so far."""
        best = self.session.scalar(
            select(AttemptRow)
            .where(
                AttemptRow.record_id == self.record_id,
                AttemptRow.kind == str(AssessmentKind.TEST),
                AttemptRow.passed.is_(True),
            )
            .order_by(AttemptRow.score_correct.desc(), AttemptRow.number)
            .limit(1)
        )
        standing = self._latest(standing=True)
        if best is None or (standing is not None and (best.score_correct or 0) <= standing.score_correct):
            return None
        return best

    def _issuer_name(self, record: ModuleRecord) -> str:
        course = self.session.get(Course, record.course_id)
        platform = self.session.get(Platform, course.platform_id) if course and course.platform_id else None
        name = self.settings.certificates.issuer_name
        return f"{name} · {platform.name}" if platform is not None and platform.name != name else name

    def _issue(self, attempt_id: str, correct: int, total: int, holder_name: str) -> IssuedCertificate | None:
        standing, newest = self._latest(standing=True), self._latest(standing=False)
        if standing is not None and correct <= standing.score_correct:
            return None  # only a better score earns a new version
        record = self._record()
        now = self.clock.now()
        row = CertificateRow(
            id=new_certificate_id(),
            learner_id=record.learner_id,
            course_id=record.course_id,
            module_id=record.module_id,
            attempt_id=attempt_id,
            version=newest.version + 1 if newest is not None else 1,
            holder_name=holder_name,
            module_title=self.module.title,
            issuer_name=self._issuer_name(record),
            score_correct=correct,
            score_total=total,
            issued_at=now,
        )
        key = CredentialKeys(self.session, now).current()
        facts = facts_of(row, self.settings, standing.id if standing is not None else None)
        credential = build_credential(
            facts,
            issuer_profile(self.settings),
            achievement_id(self.settings, self.module),
            pass_ratio=self.module.settings.pass_ratio,
        )
        row.credential_jwt = sign_credential(credential, key)
        row.credential_sha256 = credential_sha256(row.credential_jwt)
        row.kid = key.kid
        self.session.add(row)
        if standing is not None:
            standing.superseded_by = row.id
        self.session.flush()
        Outbox(self.session, now).enqueue(
            key=f"certificate-pdf:{row.id}",
            channel=CHANNEL,
            ordering_key=f"certificate-pdf:{row.id}",
            destination={},
            payload={"certificate_id": row.id},
            learner_id=record.learner_id,
        )
        issued = IssuedCertificate(row.id, row.version, attempt_id, correct, total, now)
        for listener in self.events:
            listener.certificate_issued(issued)
        return issued


class CertificateRegistry:
    """Reading, checking and revoking certificates: the verification page, the student's and the staff's lists,
    the CLI."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def _supersedes(self, certificate_id: str) -> str | None:
        return self.session.scalar(select(CertificateRow.id).where(CertificateRow.superseded_by == certificate_id))

    def _view(self, row: CertificateRow, keys: dict[str, dict[str, object]] | None = None) -> CertificateView:
        signature = None
        if row.credential_jwt is not None:
            keys = keys or CredentialKeys(self.session, self.now).key_set()
            signature = verify_credential(row.credential_jwt, keys, now=self.now)
        return CertificateView(
            id=row.id,
            version=row.version,
            holder_name=row.holder_name,
            module_title=row.module_title,
            issuer_name=row.issuer_name,
            score_correct=row.score_correct,
            score_total=row.score_total,
            issued_at=row.issued_at,
            status=status_of(row),
            superseded_by=row.superseded_by,
            supersedes=self._supersedes(row.id),
            revoked_at=row.revoked_at,
            revoked_reason=row.revoked_reason,
            pdf_ready=row.pdf_path is not None,
            has_credential=row.credential_jwt is not None,
            signature=signature,
            course_id=row.course_id,
        )

    def get(self, certificate_id: str) -> CertificateView | None:
        row = self.session.get(CertificateRow, certificate_id.strip().upper())
        return self._view(row) if row is not None else None

    def row(self, certificate_id: str) -> CertificateRow | None:
        return self.session.get(CertificateRow, certificate_id.strip().upper())

    def _list(self, *conditions: object, limit: int | None = None) -> list[CertificateView]:
        query = select(CertificateRow).where(*conditions).order_by(CertificateRow.issued_at.desc(), CertificateRow.id)
        rows = list(self.session.scalars(query.limit(limit) if limit else query))
        keys = CredentialKeys(self.session, self.now).key_set()
        return [self._view(row, keys) for row in rows]

    def of_learner(self, learner_id: int, course_id: int) -> list[CertificateView]:
        """A learner's certificates in a course, newest first."""
        return self._list(CertificateRow.learner_id == learner_id, CertificateRow.course_id == course_id)

    def of_course(self, course_id: int) -> list[CertificateView]:
        return self._list(CertificateRow.course_id == course_id)

    def all(self, limit: int | None = None) -> list[CertificateView]:
        return self._list(limit=limit)

    def revoke(self, certificate_id: str, reason: str, by: str, course_id: int | None = None) -> CertificateView:
        """Revoke with a reason; ``course_id`` limits an instructor to the certificates of their course."""
        reason = " ".join(reason.split())
        if not reason:
            raise CertificateError("Give a reason: it is shown on the certificate's verification page.")
        row = self.row(certificate_id)
        if row is None or (course_id is not None and row.course_id != course_id):
            raise CertificateError(f"There is no certificate {certificate_id!r} in this course.")
        if row.revoked_at is not None:
            raise CertificateError(f"Certificate {row.id} was already revoked on {row.revoked_at:%d %B %Y}.")
        row.revoked_at, row.revoked_reason, row.revoked_by = self.now, reason, by
        self.session.flush()
        return self._view(row)

    def revoke_attempt(self, attempt_id: str, reason: str, by: str) -> list[str]:
        """The certificates an attempt earned, revoked when the attempt is removed (an instructor's reset). The
        certificate it had superseded stands again: the attempt that earned that one still counts."""
        standing = CertificateRow.attempt_id == attempt_id, CertificateRow.revoked_at.is_(None)
        revoked = list(self.session.scalars(select(CertificateRow).where(*standing)))
        for row in revoked:
            row.revoked_at, row.revoked_reason, row.revoked_by = self.now, reason, by
            earlier = self.session.scalar(select(CertificateRow).where(CertificateRow.superseded_by == row.id))
            if earlier is not None and earlier.revoked_at is None:
                earlier.superseded_by = None
        self.session.flush()
        return [row.id for row in revoked]

    def verify(self, presented: bytes | str) -> tuple[Verification, CertificateView | None]:
        """Check a credential someone holds (a file or pasted text) against the issuer's key set, and find the
        certificate it names: the signature may hold while the certificate was revoked or superseded since."""
        verification = verify_credential(presented, CredentialKeys(self.session, self.now).key_set(), now=self.now)
        certificate = self.get(verification.certificate_id) if verification.certificate_id else None
        return verification, certificate
