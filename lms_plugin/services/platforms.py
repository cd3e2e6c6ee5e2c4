"""Platform registrations and their deployments, as an admin manages them."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.models import Deployment, Platform


class PlatformError(Exception):
    """An admin request about platforms that cannot be done, with the reason."""


@dataclass(frozen=True)
class PlatformRegistration:
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    name: str | None = None


@dataclass(frozen=True)
class DeploymentSummary:
    deployment_id: str
    active: bool


@dataclass(frozen=True)
class PlatformSummary:
    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployments: tuple[DeploymentSummary, ...]


class PlatformService:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def _find(self, issuer: str, client_id: str) -> Platform | None:
        return self.session.scalar(select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id))

    def _get(self, issuer: str, client_id: str) -> Platform:
        platform = self._find(issuer, client_id)
        if platform is None:
            raise PlatformError(f"No platform is registered with issuer {issuer} and client id {client_id}.")
        return platform

    def add(self, registration: PlatformRegistration, deployment_id: str | None) -> Platform:
        """Register (or update) a platform; a deployment named here is trusted, so it starts active."""
        platform = self._find(registration.issuer, registration.client_id)
        if platform is None:
            platform = Platform(issuer=registration.issuer, client_id=registration.client_id, created_at=self.now)
            self.session.add(platform)
        platform.name = registration.name or platform.name or registration.issuer
        platform.auth_login_url = registration.auth_login_url
        platform.auth_token_url = registration.auth_token_url
        if platform.key_set_url != registration.key_set_url:
            platform.jwks = None  # keys from another URL are not this platform's
            platform.jwks_expires_at = None
        platform.key_set_url = registration.key_set_url
        self.session.flush()
        if deployment_id:
            self.set_active(registration.issuer, registration.client_id, deployment_id, active=True)
        return platform

    def set_active(self, issuer: str, client_id: str, deployment_id: str, *, active: bool) -> None:
        platform = self._get(issuer, client_id)
        deployment = self.session.scalar(
            select(Deployment).where(Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id)
        )
        if deployment is None:
            deployment = Deployment(platform_id=platform.id, deployment_id=deployment_id, created_at=self.now)
            self.session.add(deployment)
        deployment.active = active
        self.session.flush()

    def remove(self, issuer: str, client_id: str) -> None:
        self.session.delete(self._get(issuer, client_id))
        self.session.flush()

    def list(self) -> list[PlatformSummary]:
        platforms = self.session.scalars(select(Platform).order_by(Platform.name, Platform.client_id)).all()
        deployments = self.session.scalars(select(Deployment).order_by(Deployment.deployment_id)).all()
        return [
            PlatformSummary(
                name=p.name,
                issuer=p.issuer,
                client_id=p.client_id,
                auth_login_url=p.auth_login_url,
                auth_token_url=p.auth_token_url,
                key_set_url=p.key_set_url,
                deployments=tuple(
                    DeploymentSummary(d.deployment_id, d.active) for d in deployments if d.platform_id == p.id
                ),
            )
            for p in platforms
        ]
