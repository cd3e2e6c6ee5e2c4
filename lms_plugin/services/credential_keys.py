"""The keys that sign certificates' verifiable credentials, apart from the LTI keys (lms_plugin.lti.keys).

An LTI key signs tokens that live minutes, so a retired one is unpublished once they expire; a credential is
shown to employers for years, so a retired credential key only stops signing: it stays in the issuer's key set
(``/certificates/keys.json``) for good, and everything it signed still verifies."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.certificates import SigningKey, new_signing_key
from lms_plugin.models import CredentialKey


class CredentialKeys:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def current(self) -> SigningKey:
        """The key that signs now; the first call creates it. Two first certificates at the same moment may each
        create one: both are published, so what either signs verifies, and the newer signs from then on."""
        row = self.session.scalar(
            select(CredentialKey)
            .where(CredentialKey.retired_at.is_(None))
            .order_by(CredentialKey.created_at.desc())
            .limit(1)
        )
        if row is None:
            row = self._create()
        return SigningKey(kid=row.kid, private_pem=row.private_pem, public_jwk=row.public_jwk)

    def rotate(self) -> str:
        """Retire the signing key (it stays published) and make a new one; the new kid."""
        for row in self.session.scalars(select(CredentialKey).where(CredentialKey.retired_at.is_(None))):
            row.retired_at = self.now
        return self._create().kid

    def key_set(self) -> dict[str, dict[str, Any]]:
        """kid → public JWK of every key ever used, retired ones included."""
        rows = self.session.scalars(select(CredentialKey).order_by(CredentialKey.created_at))
        return {row.kid: row.public_jwk for row in rows}

    def _create(self) -> CredentialKey:
        key = new_signing_key(self.now)
        row = CredentialKey(
            kid=key.kid, private_pem=key.private_pem, public_jwk=key.public_jwk, created_at=self.now, retired_at=None
        )
        self.session.add(row)
        self.session.flush()
        return row
