"""Erasing one learner at their request (GDPR Art. 17, "right to erasure").

One transaction: the learner's outbox rows (every channel) are locked first, so a worker delivering one finishes
before anything else is touched; then every row of the learner in every tool table is deleted by an explicit
``DELETE`` (the tables are found from the schema: lms_plugin.services.learner_export.LEARNER_TABLES; cascades are
not relied on), their entries in course rosters go, course audit entries lose them (an entry about them keeps
what was done; one they made as an instructor keeps it without their name), and so do certificates they revoked
as an instructor; their own certificates are revoked ("erased at the holder's request") and stripped of the
name, the credential and the PDF, so the verification page still answers, with no personal data; statements an
LRS may have are voided (xAPI 1.0.3 Data §2.3.2, exports.xapi.voiding) — those in the outbox and those whose
outbox rows the retention period removed (``delivered_statements``) — and those it cannot have are dropped; the
audit trail records the admin, the counts and a random reference, never the learner. The PDFs are deleted once
the transaction has committed.

What the tool cannot recall is said in the report (``OUTSIDE_THE_TOOL``): statements stay in the LRS (voided,
they drop out of queries; deleting them is the LRS operator's task), grades stay in the LMS gradebook, spans
already exported over OTLP stay in the tracing backend.
"""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.orm import Session

from exports.xapi.voiding import voiding_statement
from lms_plugin.clock import Clock
from lms_plugin.config import Settings
from lms_plugin.db import Database
from lms_plugin.models import (
    CertificateRow,
    DeliveredStatement,
    InstructorAudit,
    Learner,
    OutboxMessage,
    RosterMember,
)
from lms_plugin.outbox.store import Outbox, Status
from lms_plugin.services.admins import AuditTrail
from lms_plugin.services.course_settings import ERASED_NAME
from lms_plugin.services.learner_export import (
    LEARNER_TABLES,
    courses_of,
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
OUTSIDE_THE_TOOL = (
    "Learning records already in a Learning Record Store were voided: they no longer count in its queries, but "
    "the LRS keeps them. Deleting them is the LRS operator's task; give them the identifiers listed here.",
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
    # of those voided, statements not known to have reached the LRS (it may have them: LearnerErasure._statements)
    statements_unconfirmed: int
    statements_dropped: int  # cannot have reached an LRS: deleted instead of voided
    certificates_revoked: int
    files_removed: int
    files_left: tuple[str, ...]  # could not be deleted (relative to the storage folder): delete them by hand
    # How the learner appears in LRSs (an xAPI account or mbox), for the LRS operator: shown once, never stored.
    lrs_identifiers: tuple[str, ...]

    @property
    def rows_deleted(self) -> int:
        return sum(self.rows.values())

    @property
    def voided(self) -> str:
        return f"{self.statements_voided} (of which {self.statements_unconfirmed} may never have reached the LRS)"

    @property
    def audit_detail(self) -> str:
        return (
            f"erased learner data: {self.rows_deleted} rows, {self.certificates_revoked} certificate(s) revoked, "
            f"{self.statements_voided} statement(s) voided (of which {self.statements_unconfirmed} may never have "
            f"reached the LRS), {self.statements_dropped} unsent dropped; reference {self.reference}"
        )


@dataclass(frozen=True)
class _Statements:
    voided: int
    unconfirmed: int
    dropped: int


def _identifier(actor: dict[str, Any]) -> str:
    if "mbox" in actor:
        return f"mbox {actor['mbox']}"
    account = actor.get("account", {})
    return f"account homePage={account.get('homePage')} name={account.get('name')}"


def checkpoint(connection: Connection) -> bool:
    """Copy the write-ahead log into the SQLite file and empty it; False (and a warning) when a reader or writer
    kept it from finishing. Until it finishes, the log and the file's old pages still hold the erased rows."""
    busy, logged, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy or logged != copied:
        log.warning(
            "SQLite checkpoint after an erasure did not finish (busy=%d, %d of %d log pages copied): the "
            "write-ahead log may still hold the erased rows until the next checkpoint empties it; run `sqlite3 "
            "DATABASE_FILE 'PRAGMA wal_checkpoint(TRUNCATE)'` when the tool is idle",
            busy,
            copied,
            logged,
        )
        return False
    return True


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
            # First, before any other row: a worker holds the lock of a row it is delivering while its sender
            # writes the certificate in another transaction (PDFs), so taking the certificate first could leave
            # each side waiting for the other (PostgreSQL; SQLite has one writer at a time).
            outbox = list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.learner_id == learner.id)
                    .order_by(OutboxMessage.id)
                    .with_for_update()
                )
            )
            identifiers = {_identifier({"account": {"homePage": learner.issuer, "name": learner.sub}})}
            statements = self._statements(session, learner, outbox, now, identifiers, sqlite)
            renamed = self._revocations(session, learner)
            revoked, files = self._certificates(session, learner, actor, now)
            audited = self._course_audit(session, learner)
            rows = self._delete(session, learner)
            if sqlite:
                session.execute(text("PRAGMA secure_delete=OFF"))  # the connection goes back to the pool
            report = ErasureReport(
                reference=new_reference("ERASE"),
                rows=rows,
                anonymised={CertificateRow.__tablename__: revoked + renamed, InstructorAudit.__tablename__: audited},
                statements_voided=statements.voided,
                statements_unconfirmed=statements.unconfirmed,
                statements_dropped=statements.dropped,
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
                checkpoint(connection)
        log.info(
            "learner data erased: %d rows, %d certificate(s) revoked, %d statement(s) voided; reference %s",
            report.rows_deleted,
            revoked,
            statements.voided,
            report.reference,
        )
        return dataclasses.replace(report, files_removed=removed, files_left=tuple(left))

    def _statements(
        self,
        session: Session,
        learner: Learner,
        outbox: list[OutboxMessage],
        now: datetime,
        identifiers: set[str],
        sqlite: bool,
    ) -> _Statements:
        """Void every statement of the learner an LRS may have: those it accepted (in the outbox, or only in the
        ledger once retention removed the row), and those it may have without the tool knowing:
        - tried before and to be tried again: a timeout or a 5xx can come after the LRS stored the batch;
        - on SQLite, every pending one: the worker sends outside a transaction (so that a slow LRS blocks no
          request), and a batch the LRS has accepted looks pending until the worker records it. On PostgreSQL
          the worker's rows stay locked while it sends, and we locked them after it: what is pending was not sent.
        Voiding one the LRS never got is harmless: "Upon receiving a Statement that voids another, the LRS SHOULD
        NOT* reject the request on the grounds of the Object of that voiding Statement not being present."
        (xAPI 1.0.3 Data §2.3.2, requirement 2.3.2.s2.b5). The rest (refused by the LRS, or never tried) are
        dropped with the learner's outbox rows."""
        targets: dict[str, int | None] = {}  # statement id -> the platform whose LRS has it (None: the tool's)
        unconfirmed = dropped = 0
        for row in outbox:
            if row.channel != XAPI:
                continue
            delivered = row.status == Status.DELIVERED
            maybe = row.status == Status.PENDING and (sqlite or row.attempts > 0)
            if not delivered and not maybe:
                dropped += 1
                continue
            identifiers.add(_identifier(row.payload.get("actor", {})))
            targets[row.key] = row.destination.get("platform_id")
            unconfirmed += maybe
        ledger = session.scalars(
            select(DeliveredStatement)
            .where(DeliveredStatement.learner_id == learner.id)
            .order_by(DeliveredStatement.delivered_at, DeliveredStatement.statement_id)
        ).all()
        for entry in ledger:
            targets.setdefault(entry.statement_id, entry.platform_id)
        if ledger and learner.email:
            # The ledger keeps no statement: whether those used the e-mail address as the actor is not known.
            identifiers.add(f"mbox mailto:{learner.email}")
        queue = Outbox(session, now)
        voided = 0
        for statement_id, platform_id in targets.items():
            statement = voiding_statement(statement_id, self.settings.base_url, now)
            # To the LRS that has the statement; learner_id None, so the voiding statement outlives the learner.
            voided += queue_statement(queue, statement, platform_id, None)
        return _Statements(voided, unconfirmed, dropped)

    def _revocations(self, session: Session, learner: Learner) -> int:
        """Certificates the learner revoked as an instructor, in their courses, keep the revocation, not the name."""
        renamed = session.execute(
            update(CertificateRow)
            .where(
                CertificateRow.revoked_by.in_(student_labels(learner)),
                CertificateRow.course_id.in_(courses_of(learner)),
            )
            .values(revoked_by=ERASED_NAME)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        return int(renamed or 0)

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
        """Entries about the learner lose their id (the trail then says "an erased learner"); entries they made as
        an instructor keep what was done, not who; older entries that name them as the student in their text are
        rewritten without the name."""
        labels = student_labels(learner)
        entries = instructor_entries(session, learner)
        for entry in entries:
            if entry.subject_learner_id == learner.id:
                entry.subject_learner_id = None
            elif entry.subject_learner_id is None:
                for label in labels:
                    if entry.detail.endswith(f" for {label}"):
                        entry.detail = entry.detail.removesuffix(label) + ERASED_NAME
                    if entry.detail.startswith(f"{label}'s attempt "):
                        entry.detail = ERASED_NAME + entry.detail.removeprefix(label)
            if entry.actor in labels:
                entry.actor = ERASED_NAME
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
