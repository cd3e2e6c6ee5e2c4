"""Registered platforms and active deployments, as every launch looks them up: read from the database and
kept per process for a short while, because registrations change rarely and launches are many.

Only positive answers are kept (an unknown issuer or a deployment that is not active is asked of the
database every time), so a new registration or an activation works at once; a change to a registration or
a deactivation reaches every process within ``TTL``.
"""

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.models import Deployment, Platform

TTL = timedelta(seconds=30)


@dataclass(frozen=True)
class PlatformInfo:
    id: int
    issuer: str
    client_id: str
    name: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str


def _info(row: Platform) -> PlatformInfo:
    return PlatformInfo(
        row.id, row.issuer, row.client_id, row.name, row.auth_login_url, row.auth_token_url, row.key_set_url
    )


class PlatformDirectory:
    def __init__(self, ttl: timedelta = TTL) -> None:
        self.ttl = ttl
        self._platforms: dict[tuple[str, str], tuple[PlatformInfo, datetime]] = {}
        self._deployments: dict[tuple[int, str], datetime] = {}
        self._lock = threading.Lock()

    def find(self, session: Session, issuer: str, client_id: str, now: datetime) -> PlatformInfo | None:
        with self._lock:
            cached = self._platforms.get((issuer, client_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        row = session.scalar(select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id))
        if row is None:
            return None
        info = _info(row)
        with self._lock:
            self._platforms[issuer, client_id] = (info, now + self.ttl)
        return info

    def for_issuer(self, session: Session, issuer: str) -> list[PlatformInfo]:
        """Every registration of an issuer (a login that names no client id); not cached, it is rare."""
        return [_info(row) for row in session.scalars(select(Platform).where(Platform.issuer == issuer))]

    def is_active(self, session: Session, platform_id: int, deployment_id: str, now: datetime) -> bool:
        with self._lock:
            until = self._deployments.get((platform_id, deployment_id))
        if until is not None and until > now:
            return True
        active = session.scalar(
            select(Deployment.active).where(
                Deployment.platform_id == platform_id, Deployment.deployment_id == deployment_id
            )
        )
        if active:
            with self._lock:
                self._deployments[platform_id, deployment_id] = now + self.ttl
        return bool(active)
