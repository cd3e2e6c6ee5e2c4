"""The tool's own RSA signing keys (LTI Security Framework §6): generated on first start, kept in the
database, rotated on demand. A retired key stays in the JWKS until every token it signed has expired."""

import functools
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lms_plugin.models import ToolKey

# Our signed messages (deep-linking responses, client assertions) live minutes; keep retired keys a day.
RETIRED_KEY_PUBLISHED_FOR = timedelta(days=1)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str


@functools.lru_cache(maxsize=32)
def private_key(pem: str) -> rsa.RSAPrivateKey:
    """The loaded key: loading a PEM validates the RSA key, which costs tens of milliseconds each time."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("not an RSA private key")
    return key


def new_rsa_key() -> tuple[str, dict[str, Any]]:
    """A fresh RSA-2048 key: its private PEM and its public JWK (without a kid)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return pem, {**jwk, "alg": "RS256", "use": "sig"}


class ToolKeyService:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def _add(self) -> ToolKey:
        pem, jwk = new_rsa_key()
        kid = secrets.token_urlsafe(12)
        key = ToolKey(kid=kid, private_pem=pem, public_jwk={**jwk, "kid": kid}, created_at=self.now)
        self.session.add(key)
        self.session.flush()
        return key

    def current(self) -> SigningKey:
        key = self.session.scalar(
            select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.created_at.desc())
        )
        if key is None:
            key = self._add()
        return SigningKey(kid=key.kid, private_pem=key.private_pem)

    def rotate(self) -> SigningKey:
        for key in self.session.scalars(select(ToolKey).where(ToolKey.retired_at.is_(None))):
            key.retired_at = self.now
            key.published_until = self.now + RETIRED_KEY_PUBLISHED_FOR
        key = self._add()
        return SigningKey(kid=key.kid, private_pem=key.private_pem)

    def jwks(self) -> dict[str, Any]:
        self.current()  # the first start may be this request
        keys = self.session.scalars(
            select(ToolKey)
            .where(or_(ToolKey.published_until.is_(None), ToolKey.published_until > self.now))
            .order_by(ToolKey.created_at.desc())
        )
        return {"keys": [key.public_jwk for key in keys]}
