"""Erasing one learner at their request (GDPR Art. 17, "right to erasure").

One transaction: every row of the learner in every tool table is deleted by an explicit ``DELETE`` (the tables
are found from the schema: lms_plugin.services.learner_export.LEARNER_TABLES; cascades are not relied on), their
entries in course rosters go, course audit entries that name them are rewritten without the name; their
certificates are revoked ("erased at the holder's request") and stripped of the name, the credential and the PDF,
so the verification page still answers, with no personal data; statements already delivered to an LRS are voided
(xAPI 1.0.3 §2.4.2, exports.xapi.voiding), those not yet sent are dropped; the audit trail records the admin, the
counts and a random reference, never the learner. The PDFs are deleted once the transaction has committed.

What the tool cannot recall is said in the report (``OUTSIDE_THE_TOOL``): statements stay in the LRS (voided,
they drop out of queries; deleting them is the LRS operator's task), grades stay in the LMS gradebook, spans
already exported over OTLP stay in the tracing backend.
"""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from exports.xapi.voiding import voiding_statement
from lms_plugin.clock import Clock
from lms_plugin.config import Settings
from lms_plugin.db import Database
from lms_plugin.models import CertificateRow, InstructorAudit, Learner, OutboxMessage, RosterMember
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.services.admins import AuditTrail
from lms_plugin.services.learner_export import (
    LEARNER_TABLES,
    find_learner,
    instructor_entries,
    new_reference,
    roster_entries,
    student_labels,
)
from lms_plugin.storage import FileStorage
from lms_plugin.xapi.store import CHANNEL as XAPI
from lms_plugin.xapi.store import queue_statement

log = logging.getLogger(__name__)

CERTIFICATE_REASON = "erased at the holder's request"
ERASED_NAME = "(an erased learner)"
OUTSIDE_THE_TOOL = (
    "Learning records already in a Learning Record Store were voided: they no longer count in its queries, but "
    "the LRS keeps them. Deleting them is the LRS operator's task; give them the identifiers listed here. Records "
    "whose outbox entries the retention period had already removed could not be voided by id: the operator finds "
    "them by the same identifiers.",
    "Grades already in the LMS gradebook belong to the LMS: ask its administrator.",
    "Spans already exported to a tracing backend (OTEL_EXPORTER_OTLP_ENDPOINT) stay there until its own retention "
    "removes them; they carry the lab attempt's id, and message text only if content capture was on.",
    "Backups of the database and the storage folder keep the data until they expire.",
)


@dataclass(frozen=True)
class ErasureReport:
    reference: str
    rows: dict[str, int]  # rows deleted, by table
    anonymised: dict[str, int]  # rows kept without the learner's identity (certificates, course audit entries)
    statements_voided: int
    statements_dropped: int  # never reached an LRS: deleted instead of voided
    certificates_revoked: int
    files_removed: int
    files_left: tuple[str, ...]  # could not be deleted (relative to the storage folder): delete them by hand
    # How the learner appears in LRSs (an xAPI account or mbox), for the LRS operator: shown once, never stored.
    lrs_identifiers: tuple[str, ...]

    @property
    def rows_deleted(self) -> int:
        return sum(self.rows.values())

    @property
    def audit_detail(self) -> str:
        return (
            f"erased learner data: {self.rows_deleted} rows, {self.certificates_revoked} certificate(s) revoked, "
            f"{self.statements_voided} statement(s) voided, {self.statements_dropped} unsent dropped; "
            f"reference {self.reference}"
        )


def _identifier(actor: dict[str, Any]) -> str:
    if "mbox" in actor:
        return f"mbox {actor['mbox']}"
    account = actor.get("account", {})
    return f"account homePage={account.get('homePage')} name={account.get('name')}"


class LearnerErasure:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def erase(self, issuer: str, sub: str, actor: str, remote_addr: str | None = None) -> ErasureReport:
        """Erase the learner, or raise UnknownLearnerError (and change nothing)."""
        now = self.clock.now()
        sqlite = self.db.engine.dialect.name == "sqlite"
        with self.db.transaction() as session:
            learner = find_learner(session, issuer, sub)
            if sqlite:
                # Deleted rows otherwise stay readable in the database file's free space until it is reused.
                session.execute(text("PRAGMA secure_delete=ON"))
            identifiers = {_identifier({"account": {"homePage": learner.issuer, "name": learner.sub}})}
            voided, dropped = self._statements(session, learner, now, identifiers)
            revoked, files = self._certificates(session, learner, actor, now)
            rewritten = self._course_audit(session, learner)
            rows = self._delete(session, learner)
            if sqlite:
                session.execute(text("PRAGMA secure_delete=OFF"))  # the connection goes back to the pool
            report = ErasureReport(
                reference=new_reference("ERASE"),
                rows=rows,
                anonymised={CertificateRow.__tablename__: revoked, InstructorAudit.__tablename__: rewritten},
                statements_voided=voided,
                statements_dropped=dropped,
                certificates_revoked=revoked,
                files_removed=0,
                files_left=(),
                lrs_identifiers=tuple(sorted(identifiers)),
            )
            AuditTrail(session, now).record(actor, "learner.erase", report.audit_detail, remote_addr)
        removed, left = self._remove(files)
        if sqlite:
            # Until a checkpoint, the main file keeps the pages as they were, and older frames of the write-ahead
            # log hold the rows too: copy the zeroed pages over and empty the log.
            with self.db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        log.info(
            "learner data erased: %d rows, %d certificate(s) revoked, %d statement(s) voided; reference %s",
            report.rows_deleted,
            revoked,
            voided,
            report.reference,
        )
        return dataclasses.replace(report, files_removed=removed, files_left=tuple(left))

    def _statements(self, session: Session, learner: Learner, now: datetime, identifiers: set[str]) -> tuple[int, int]:
        """Void the learner's statements an LRS has; the others are dropped with the learner's outbox rows. The
        rows are locked first (PostgreSQL): a worker delivering one right now finishes before we decide."""
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.learner_id == learner.id, OutboxMessage.channel == XAPI)
            .order_by(OutboxMessage.id)
            .with_for_update()
        ).all()
        outbox = Outbox(session, now)
        voided = 0
        for row in rows:
            if row.status != Status.DELIVERED:
                continue
            identifiers.add(_identifier(row.payload.get("actor", {})))
            statement = voiding_statement(str(row.payload["id"]), self.settings.base_url, now)
            # To the LRS that has the statement; learner_id None, so the voiding statement outlives the learner.
            voided += queue_statement(outbox, statement, row.destination.get("platform_id"), None)
        return voided, sum(1 for row in rows if row.status != Status.DELIVERED)

    def _certificates(self, session: Session, learner: Learner, actor: str, now: datetime) -> tuple[int, list[str]]:
        rows = session.scalars(select(CertificateRow).where(CertificateRow.learner_id == learner.id)).all()
        files = [row.pdf_path for row in rows if row.pdf_path is not None]
        for row in rows:
            # An earlier revocation's reason gives way: the page must not say more than that the holder left.
            row.revoked_at, row.revoked_reason, row.revoked_by = now, CERTIFICATE_REASON, actor
            row.holder_name = row.credential_jwt = row.attempt_id = row.pdf_path = None
            row.learner_id = None
        session.flush()
        return len(rows), files

    def _course_audit(self, session: Session, learner: Learner) -> int:
        """Instructors' audit entries name a student (or the instructor) in text: keep what was done, not who."""
        entries = instructor_entries(session, learner)
        for entry in entries:
            for label in student_labels(learner):
                if entry.actor == label:
                    entry.actor = ERASED_NAME
                if entry.detail.endswith(f" for {label}"):
                    entry.detail = entry.detail.removesuffix(label) + ERASED_NAME
                if entry.detail.startswith(f"{label}'s attempt "):
                    entry.detail = ERASED_NAME + entry.detail.removeprefix(label)
        session.flush()
        return len(entries)

    def _delete(self, session: Session, learner: Learner) -> dict[str, int]:
        rows: dict[str, int] = {}
        for table in LEARNER_TABLES:
            if table.name == CertificateRow.__tablename__:
                continue  # anonymised above: a certificate outlives its holder's data
            deleted = session.execute(delete(table).where(table.c.learner_id == learner.id)).rowcount  # type: ignore[attr-defined]
            rows[table.name] = int(deleted or 0)
        roster = session.execute(delete(RosterMember).where(roster_entries(learner))).rowcount  # type: ignore[attr-defined]
        rows[RosterMember.__tablename__] = int(roster or 0)
        learners = session.execute(delete(Learner).where(Learner.id == learner.id)).rowcount  # type: ignore[attr-defined]
        rows[Learner.__tablename__] = int(learners or 0)
        return {name: n for name, n in rows.items() if n}

    def _remove(self, files: list[str]) -> tuple[int, list[str]]:
        storage = FileStorage(self.settings.certificates.storage_dir)
        removed, left = 0, []
        for name in files:
            try:
                storage.delete(name)
            except (OSError, ValueError):
                left.append(name)
            else:
                removed += 1
        return removed, left
