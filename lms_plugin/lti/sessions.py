"""The tool's session after a launch: a signed, expiring token instead of a cookie, because LMS iframes
often block third-party cookies. Pages carry it in forms and links, fetch calls in a header; URLs a page
cannot add a header to (server-sent events, downloads) use a short-lived single-use ticket instead."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from lms_plugin.lti.context import LaunchContext
from lms_plugin.lti.errors import SessionExpiredError
from lms_plugin.models import LaunchSession, UrlTicket

TICKET_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True)
class ToolSession:
    id: str
    learner_id: int
    course_id: int
    placement_id: int
    record_id: int
    context: LaunchContext
    expires_at: datetime


def _to_session(row: LaunchSession) -> ToolSession:
    return ToolSession(
        id=row.id,
        learner_id=row.learner_id,
        course_id=row.course_id,
        placement_id=row.placement_id,
        record_id=row.record_id,
        context=LaunchContext.from_json(row.context),
        expires_at=row.expires_at,
    )


class SessionService:
    def __init__(self, session: Session, secret_key: str, now: datetime) -> None:
        self.session = session
        # The expiry lives in the row (and so follows the injectable clock); the signature stops forgery.
        self.signer = URLSafeSerializer(secret_key, salt="tracebook-session")
        self.now = now

    def open(
        self,
        context: LaunchContext,
        *,
        learner_id: int,
        course_id: int,
        placement_id: int,
        record_id: int,
        lifetime: timedelta,
    ) -> str:
        row = LaunchSession(
            id=str(uuid.uuid4()),
            learner_id=learner_id,
            course_id=course_id,
            placement_id=placement_id,
            record_id=record_id,
            context=context.to_json(),
            created_at=self.now,
            expires_at=self.now + lifetime,
        )
        self.session.add(row)
        self.session.flush()
        return self.signer.dumps(row.id)

    def resolve(self, token: str | None) -> ToolSession:
        if not token:
            raise SessionExpiredError("no session token")
        try:
            session_id = self.signer.loads(token)
        except BadSignature as error:
            raise SessionExpiredError("the session token is not ours") from error
        row = self.session.get(LaunchSession, session_id)
        if row is None or row.expires_at <= self.now:
            raise SessionExpiredError("the session has expired")
        return _to_session(row)

    def issue_ticket(self, tool_session: ToolSession, purpose: str) -> str:
        token = secrets.token_urlsafe(32)
        self.session.add(
            UrlTicket(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                learner_id=tool_session.learner_id,
                session_id=tool_session.id,
                purpose=purpose,
                expires_at=self.now + TICKET_LIFETIME,
            )
        )
        self.session.flush()
        return token

    def redeem_ticket(self, token: str | None, purpose: str) -> ToolSession:
        """The session a ticket was issued for; the ticket is spent by this call."""
        if not token:
            raise SessionExpiredError("no ticket")
        ticket = self.session.get(UrlTicket, hashlib.sha256(token.encode()).hexdigest(), with_for_update=True)
        if ticket is None or ticket.purpose != purpose or ticket.used_at is not None or ticket.expires_at <= self.now:
            raise SessionExpiredError("the link has expired or was already used")
        ticket.used_at = self.now
        row = self.session.get(LaunchSession, ticket.session_id)
        if row is None or row.expires_at <= self.now:
            raise SessionExpiredError("the session has expired")
        return _to_session(row)
