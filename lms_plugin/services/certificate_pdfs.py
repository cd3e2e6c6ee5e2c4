"""The worker's side of certificates (outbox channel ``certificate``): render each new certificate's PDF and keep
it in storage, so a download never waits for weasyprint and a crash mid-render only means rendering again."""

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from exports.certificates import credential_id
from lms_plugin.clock import Clock
from lms_plugin.config import Settings
from lms_plugin.db import Database
from lms_plugin.models import CertificateRow
from lms_plugin.outbox.delivery import Delivered, Message, Outcome, Retry
from lms_plugin.services.certificates import facts_of
from lms_plugin.storage import FileStorage

if TYPE_CHECKING:
    from exports.certificates.pdf import CertificateRenderer

log = logging.getLogger(__name__)


def weasyprint_renderer() -> "CertificateRenderer":
    # Imported here: weasyprint takes about 0.3 s to import, which web processes and CLI commands need not pay.
    from exports.certificates.pdf import CertificateRenderer

    return CertificateRenderer()


def pdf_name(certificate_id: str) -> str:
    return f"certificates/{certificate_id}.pdf"


class CertificatePdfSender:
    def __init__(
        self,
        db: Database,
        storage: FileStorage,
        settings: Settings,
        clock: Clock,
        renderer: Callable[[], "CertificateRenderer"] = weasyprint_renderer,
    ) -> None:
        self.db = db
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self._make_renderer = renderer
        self._renderer: CertificateRenderer | None = None  # built on first use: loading fonts takes a while

    def _render(self, certificate_id: str) -> Outcome:
        name = pdf_name(certificate_id)
        with self.db.transaction() as session:
            row = session.get(CertificateRow, certificate_id)
            if row is None or row.credential_jwt is None or row.credential_sha256 is None:
                self.storage.delete(name)  # erased: nothing to print, and no copy left from an earlier try
                return Delivered()
            supersedes = session.scalar(select(CertificateRow.id).where(CertificateRow.superseded_by == row.id))
            facts = facts_of(row, self.settings, supersedes)
            jwt, sha256 = row.credential_jwt, row.credential_sha256
        if self._renderer is None:
            self._renderer = self._make_renderer()
        pdf = self._renderer.render(facts, credential_id(jwt), sha256, self.settings.certificates.page_size)
        self.storage.write(name, pdf)
        with self.db.transaction() as session:
            # One statement, so an erasure committed meanwhile (it clears the credential) is seen, not overwritten.
            stored = session.execute(
                update(CertificateRow)
                .where(CertificateRow.id == certificate_id, CertificateRow.credential_jwt.is_not(None))
                .values(pdf_path=name, pdf_rendered_at=self.clock.now())
            )
            if not stored.rowcount:  # type: ignore[attr-defined]
                self.storage.delete(name)  # erased while it rendered
        return Delivered()

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for message in messages:
            certificate_id = str(message.payload["certificate_id"])
            try:
                outcomes.append(self._render(certificate_id))
            except Exception as error:  # a font or disk problem: keep the job, try again later
                log.exception("rendering certificate %s failed", certificate_id)
                outcomes.append(Retry(f"rendering failed: {type(error).__name__}: {error}"))
        return outcomes
