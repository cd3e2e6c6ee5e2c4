"""pylti1p3's view of our platform registrations, read through the platform directory."""

from datetime import datetime
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy.orm import Session

from lms_plugin.lti.platform_directory import PlatformDirectory, PlatformInfo


def registration_for(platform: PlatformInfo) -> Registration:
    registration = Registration()
    registration.set_issuer(platform.issuer).set_client_id(platform.client_id)
    registration.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
    registration.set_key_set_url(platform.key_set_url)
    return registration


class DatabaseToolConf(ToolConfAbstract[Any]):
    """Every issuer may have many client ids (hosted Canvas does), so lookups are always by issuer + client id."""

    def __init__(self, session: Session, directory: PlatformDirectory, now: datetime) -> None:
        super().__init__()
        self.session = session
        self.directory = directory
        self.now = now
        self.platform: PlatformInfo | None = None

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_platform(self, iss: str, client_id: str | None) -> PlatformInfo | None:
        return None if client_id is None else self.directory.find(self.session, iss, client_id, self.now)

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any, **kwargs: Any) -> Registration:
        self.platform = self.find_platform(iss, client_id)
        return registration_for(self.platform) if self.platform else None  # type: ignore[return-value]

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        platform = self.find_platform(iss, client_id)
        if platform is None or not self.directory.is_active(self.session, platform.id, deployment_id, self.now):
            return None
        return LtiDeployment().set_deployment_id(deployment_id)
