"""Tool admins: local accounts (separate from LTI roles), their logins with a rate limit, the audit trail of
what they did, and the read-only views the admin pages show (keys, failed outbox messages).

Passwords are hashed with scrypt (werkzeug's default, salted, memory-hard). The rate limit counts failures
in the database, so it holds across every web process behind a load balancer.
"""

import functools
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from lms_plugin.models import AdminAccount, AdminAudit, AdminLoginFailure, OutboxMessage, ToolKey
from lms_plugin.outbox.store import Status

MIN_PASSWORD_LENGTH = 12
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
# A failed login is remembered this long; within it, an account tried from one address gets a few attempts,
# and one address gets a few more across all the names it tries (password spraying).
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5
MAX_FAILURES_PER_ADDRESS = 20
COMMAND_LINE = "(command line)"  # the audit trail's name for whoever ran `tracebook admin …`


class AdminError(Exception):
    """An admin request that cannot be done, with the reason for a human."""


class LoginRefusedError(AdminError):
    def __init__(self) -> None:
        super().__init__("The username or password is wrong.")


class TooManyAttemptsError(AdminError):
    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        minutes = max(1, -(-int(retry_after.total_seconds()) // 60))
        super().__init__(
            f"Too many failed logins from this address. Try again in {minutes} minute{'s' if minutes > 1 else ''}, "
            "or reset the password with `tracebook admin password`."
        )


@dataclass(frozen=True)
class AdminSummary:
    id: int
    username: str
    session_key: str
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    admin_username: str
    action: str
    detail: str
    remote_addr: str | None
    at: datetime


@dataclass(frozen=True)
class PublishedKey:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    published_until: datetime | None

    @property
    def current(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    channel: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so a wrong name costs as much time as a wrong password and
    response times do not tell which names exist."""
    return generate_password_hash(secrets.token_urlsafe(16))


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _summary(account: AdminAccount) -> AdminSummary:
    return AdminSummary(account.id, account.username, account.session_key, account.created_at, account.last_login_at)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")


class AdminAccounts:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def _find(self, username: str) -> AdminAccount | None:
        return self.session.scalar(select(AdminAccount).where(AdminAccount.username == normalise_username(username)))

    def create(self, username: str, password: str) -> AdminSummary:
        name = normalise_username(username)
        if not USERNAME_PATTERN.match(name):
            raise AdminError(
                "A username is 1 to 64 characters: lowercase letters, digits and . _ @ - (starting with a letter "
                "or digit)."
            )
        _check_password(password)
        if self._find(name) is not None:
            raise AdminError(f"There is already an admin named {name}.")
        account = AdminAccount(
            username=name,
            password_hash=generate_password_hash(password),
            session_key=secrets.token_urlsafe(24),
            created_at=self.now,
        )
        self.session.add(account)
        self.session.flush()
        return _summary(account)

    def set_password(self, username: str, password: str) -> AdminSummary:
        """A new password; every session of the account ends, and its failed logins are forgotten (whoever runs
        this has the server, which is more than any password proves)."""
        account = self._find(username)
        if account is None:
            raise AdminError(f"There is no admin named {normalise_username(username)}.")
        _check_password(password)
        account.password_hash = generate_password_hash(password)
        account.session_key = secrets.token_urlsafe(24)
        self.session.execute(delete(AdminLoginFailure).where(AdminLoginFailure.username == account.username))
        self.session.flush()
        return _summary(account)

    def list(self) -> list[AdminSummary]:
        return [_summary(a) for a in self.session.scalars(select(AdminAccount).order_by(AdminAccount.username))]

    def log_in(self, username: str, password: str, remote_addr: str) -> AdminSummary:
        """The account, if the password is right and neither this account from this address nor this address
        has failed too often lately. A failure is recorded here: the caller must commit even when this raises."""
        name = normalise_username(username)[:255]
        self.session.execute(delete(AdminLoginFailure).where(AdminLoginFailure.at <= self.now - FAILURE_WINDOW))
        self._refuse_if_limited(name, remote_addr)
        account = self._find(name) if USERNAME_PATTERN.match(name) else None
        right = check_password_hash(account.password_hash if account else _dummy_hash(), password)
        if account is None or not right:
            self.session.add(AdminLoginFailure(username=name, remote_addr=remote_addr, at=self.now))
            self.session.flush()
            raise LoginRefusedError()
        self.session.execute(
            delete(AdminLoginFailure).where(
                AdminLoginFailure.username == name, AdminLoginFailure.remote_addr == remote_addr
            )
        )
        account.last_login_at = self.now
        self.session.flush()
        return _summary(account)

    def _refuse_if_limited(self, name: str, remote_addr: str) -> None:
        since = self.now - FAILURE_WINDOW
        recent = AdminLoginFailure.remote_addr == remote_addr, AdminLoginFailure.at > since
        for limit, query in (
            (
                MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS,
                select(AdminLoginFailure.at).where(*recent).where(AdminLoginFailure.username == name),
            ),
            (MAX_FAILURES_PER_ADDRESS, select(AdminLoginFailure.at).where(*recent)),
        ):
            times = sorted(self.session.scalars(query.order_by(AdminLoginFailure.at.desc()).limit(limit)))
            if len(times) >= limit:
                # Open again when the oldest of the last ``limit`` failures leaves the window.
                raise TooManyAttemptsError(times[0] + FAILURE_WINDOW - self.now)

    def active(self, admin_id: object, session_key: object) -> AdminSummary | None:
        """The account a session cookie names, unless it was deleted or logged out since."""
        if not isinstance(admin_id, int) or not isinstance(session_key, str):
            return None
        account = self.session.get(AdminAccount, admin_id)
        if account is None or not hmac.compare_digest(account.session_key, session_key):
            return None
        return _summary(account)

    def log_out(self, admin_id: int) -> None:
        """End every session of the account: its cookies may have been copied, and they are signed, not stored."""
        account = self.session.get(AdminAccount, admin_id)
        if account is not None:
            account.session_key = secrets.token_urlsafe(24)
            self.session.flush()


class AuditTrail:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def record(self, admin_username: str, action: str, detail: str, remote_addr: str | None = None) -> None:
        self.session.add(
            AdminAudit(
                admin_username=admin_username, action=action, detail=detail, remote_addr=remote_addr, at=self.now
            )
        )
        self.session.flush()

    def recent(self, limit: int = 100) -> list[AuditEntry]:
        rows = self.session.scalars(
            select(AdminAudit).order_by(AdminAudit.at.desc(), AdminAudit.id.desc()).limit(limit)
        )
        return [AuditEntry(r.admin_username, r.action, r.detail, r.remote_addr, r.at) for r in rows]


def published_keys(session: Session, now: datetime) -> list[PublishedKey]:
    """The tool's keys that are in its JWKS now: the current one and retired ones not yet expired."""
    rows = session.scalars(
        select(ToolKey)
        .where((ToolKey.published_until.is_(None)) | (ToolKey.published_until > now))
        .order_by(ToolKey.created_at.desc())
    )
    return [PublishedKey(k.kid, k.created_at, k.retired_at, k.published_until) for k in rows]


FAILED_STATUSES = (Status.DEAD, Status.NOT_GRADABLE)


def _entries(session: Session, statuses: tuple[str, ...], limit: int) -> list[OutboxEntry]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.status.in_(statuses)).order_by(OutboxMessage.id).limit(limit)
    )
    return [
        OutboxEntry(r.id, r.channel, r.status, r.attempts, r.last_error, r.created_at, r.next_attempt_at) for r in rows
    ]


def failed_messages(session: Session, limit: int = 200) -> list[OutboxEntry]:
    """Dead-lettered and not-gradable messages, oldest first: what an admin may resend."""
    return _entries(session, FAILED_STATUSES, limit)


def waiting_messages(session: Session, limit: int = 50) -> list[OutboxEntry]:
    """Pending messages, oldest first, with the error of their last try if they have failed before."""
    return _entries(session, (Status.PENDING,), limit)


def failed_message_ids(session: Session) -> list[int]:
    return list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.status.in_(FAILED_STATUSES))))
