"""Which Learning Record Store a platform's statements go to, and how admins choose it.

A platform may name its own LRS (its columns ``lrs_*``); otherwise the tool's ``TRACEBOOK_LRS_*`` settings apply;
with neither, statements wait in the outbox. The LRS is looked up when a statement is sent, not when it is
queued, so configuring one later sends everything that waited. The endpoint is the LRS's xAPI base URL (xAPI
1.0.3 Communication §2: the Statement Resource is ``{endpoint}/statements``).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.config import XapiSettings
from lms_plugin.models import Platform
from lms_plugin.xapi.errors import LrsSettingsError
from lms_plugin.xapi.store import XapiStatements


@dataclass(frozen=True)
class Lrs:
    endpoint: str  # no trailing slash
    username: str | None
    password: str | None = field(repr=False)

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.username is None:
            return None
        return (self.username, self.password or "")


@dataclass(frozen=True)
class PlatformLrs:
    """What an admin chose for one platform (the password itself is never shown)."""

    issuer: str
    client_id: str
    name: str
    endpoint: str | None
    username: str | None
    has_password: bool
    actor_email: bool | None  # None: the tool's TRACEBOOK_XAPI_ACTOR_EMAIL applies


class LrsDirectory:
    """Resolves the LRS and the e-mail choice for statements of a platform (None: sent from no platform)."""

    def __init__(self, settings: XapiSettings) -> None:
        self.settings = settings

    @property
    def default(self) -> Lrs | None:
        if self.settings.lrs_endpoint is None:
            return None
        return Lrs(self.settings.lrs_endpoint, self.settings.lrs_username, self.settings.lrs_password)

    def resolve(self, session: Session, platform_ids: Iterable[int | None]) -> dict[int | None, Lrs | None]:
        wanted = set(platform_ids)
        found: dict[int | None, Lrs | None] = dict.fromkeys(wanted, self.default)
        known = {i for i in wanted if i is not None}
        if known:
            rows = session.execute(
                select(Platform.id, Platform.lrs_endpoint, Platform.lrs_username, Platform.lrs_password).where(
                    Platform.id.in_(known), Platform.lrs_endpoint.is_not(None)
                )
            )
            for platform_id, endpoint, username, password in rows:
                found[platform_id] = Lrs(str(endpoint), username, password)
        return found

    def actor_email(self, session: Session, platform_id: int | None) -> bool:
        """Whether statements from this platform may identify learners by e-mail (never unless an admin says so)."""
        chosen = (
            None
            if platform_id is None
            else session.scalar(select(Platform.xapi_actor_email).where(Platform.id == platform_id))
        )
        return self.settings.actor_email if chosen is None else chosen


def _endpoint(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise LrsSettingsError(
            f"{value!r} is not an LRS endpoint: give its xAPI base URL, e.g. https://lrs.example.org/xAPI"
        )
    return value.strip().rstrip("/")


class PlatformLrsSettings:
    """Read and change each platform's LRS and e-mail choice; a change releases the statements that waited."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def list(self) -> list[PlatformLrs]:
        rows = self.session.scalars(select(Platform).order_by(Platform.name, Platform.id))
        return [_summary(row) for row in rows]

    def get(self, issuer: str, client_id: str) -> PlatformLrs:
        return _summary(self._platform(issuer, client_id))

    def _platform(self, issuer: str, client_id: str) -> Platform:
        row = self.session.scalar(select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id))
        if row is None:
            raise LrsSettingsError(
                f"No platform {issuer} with client id {client_id} is registered (see `tracebook platform list`)."
            )
        return row

    def set_lrs(
        self, issuer: str, client_id: str, *, endpoint: str | None, username: str | None, password: str | None
    ) -> PlatformLrs:
        """Name the platform's own LRS (``endpoint`` None: the tool's settings apply again). ``password`` None
        keeps the stored one for the same user; no ``username``: the LRS takes statements without credentials."""
        row = self._platform(issuer, client_id)
        if endpoint is None or not endpoint.strip():
            row.lrs_endpoint = row.lrs_username = row.lrs_password = None
            XapiStatements(self.session, self.now).release_waiting()
            return _summary(row)
        username = (username or "").strip() or None
        if username is None:
            password = None
        elif password is None or password == "":
            if username != row.lrs_username or not row.lrs_password:
                raise LrsSettingsError(f"Give the password of the LRS user {username} as well.")
            password = row.lrs_password
        row.lrs_endpoint, row.lrs_username, row.lrs_password = _endpoint(endpoint), username, password
        XapiStatements(self.session, self.now).release_waiting()
        return _summary(row)

    def set_actor_email(self, issuer: str, client_id: str, actor_email: bool | None) -> PlatformLrs:
        row = self._platform(issuer, client_id)
        row.xapi_actor_email = actor_email
        return _summary(row)


def _summary(row: Platform) -> PlatformLrs:
    return PlatformLrs(
        issuer=row.issuer,
        client_id=row.client_id,
        name=row.name,
        endpoint=row.lrs_endpoint,
        username=row.lrs_username,
        has_password=bool(row.lrs_password),
        actor_email=row.xapi_actor_email,
    )
