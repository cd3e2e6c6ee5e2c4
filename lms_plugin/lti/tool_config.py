"""pylti1p3's view of our platform registrations, read from the database."""

from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.models import Deployment, Platform


def registration_for(platform: Platform) -> Registration:
    registration = Registration()
    registration.set_issuer(platform.issuer).set_client_id(platform.client_id)
    registration.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
    registration.set_key_set_url(platform.key_set_url)
    return registration


class DatabaseToolConf(ToolConfAbstract[Any]):
    """Every issuer may have many client ids (hosted Canvas does), so lookups are always by issuer + client id."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.platform: Platform | None = None

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_platform(self, iss: str, client_id: str | None) -> Platform | None:
        if client_id is None:
            return None
        return self.session.scalar(select(Platform).where(Platform.issuer == iss, Platform.client_id == client_id))

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any, **kwargs: Any) -> Registration:
        self.platform = self.find_platform(iss, client_id)
        return registration_for(self.platform) if self.platform else None  # type: ignore[return-value]

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        platform = self.find_platform(iss, client_id)
        if platform is None:
            return None
        row = self.session.scalar(
            select(Deployment).where(Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id)
        )
        if row is None or not row.active:
            return None
        return LtiDeployment().set_deployment_id(row.deployment_id)
