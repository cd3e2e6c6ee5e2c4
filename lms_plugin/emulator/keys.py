"""The emulator's signing key pair, kept in the database and rotated on demand (a new kid)."""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.lti.keys import SigningKey, new_rsa_key
from lms_plugin.models import EmulatorKey


class EmulatorKeys:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def current(self) -> SigningKey:
        key = self.session.scalar(select(EmulatorKey).where(EmulatorKey.active.is_(True)))
        if key is None:
            return self.rotate()
        return SigningKey(kid=key.kid, private_pem=key.private_pem)

    def rotate(self) -> SigningKey:
        for key in self.session.scalars(select(EmulatorKey).where(EmulatorKey.active.is_(True))):
            key.active = False
        pem, jwk = new_rsa_key()
        kid = "emu-" + secrets.token_hex(6)
        self.session.add(
            EmulatorKey(kid=kid, private_pem=pem, public_jwk={**jwk, "kid": kid}, created_at=self.now, active=True)
        )
        self.session.flush()
        return SigningKey(kid=kid, private_pem=pem)

    def jwks(self) -> dict[str, Any]:
        """Only the current key, as a platform publishes after a rotation; the tool must re-fetch."""
        self.current()
        keys = self.session.scalars(select(EmulatorKey).where(EmulatorKey.active.is_(True)))
        return {"keys": [key.public_jwk for key in keys]}
