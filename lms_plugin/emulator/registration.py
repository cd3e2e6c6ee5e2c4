"""Register the emulator's platforms with the tool, as an admin would with ``tracebook platform add``."""

from datetime import datetime

from sqlalchemy.orm import Session

from lms_plugin.config import Settings
from lms_plugin.emulator.platforms import PLATFORMS
from lms_plugin.services.platforms import PlatformRegistration, PlatformService


def register_emulator(session: Session, settings: Settings, now: datetime) -> None:
    platforms = PlatformService(session, now)
    for platform in PLATFORMS.values():
        platforms.add(
            PlatformRegistration(
                issuer=platform.issuer(settings.emulator_url),
                client_id=platform.client_id,
                auth_login_url=platform.auth_url(settings.emulator_url),
                auth_token_url=platform.token_url(settings.emulator_url),
                key_set_url=platform.jwks_url(settings.emulator_url),
                name=platform.name,
            ),
            deployment_id=platform.deployment_id,
        )
