"""A certificate as an Open Badges 3.0 ``OpenBadgeCredential`` signed as a VC-JWT (1EdTech Open Badges
Specification 3.0: Appendix B.1 "AchievementCredential", §8.2 "JSON Web Token Proof Format", §5 "Document
Formats"), and the check of one a person presents.

- **Payload.** OB 3.0 follows the VC Data Model 2.0: the JWT payload *is* the credential, with the registered claims
  ``iss`` (issuer.id), ``jti`` (id), ``sub`` (credentialSubject.id) and ``nbf`` (validFrom) beside its properties
  (§8.2.4). The ``vc`` claim of earlier drafts belongs to VC Data Model 1.1 credentials, which we never issue.
- **Algorithm.** RS256, with 3072-bit keys: §8.2.3 makes RS256 the algorithm every verifier must support and the
  1EdTech conformance suite tests JWT proofs with RS256 only, so ES256 or EdDSA would "limit interoperability" (the
  spec's words) for a credential meant to be checked by anyone for years; 3072 bits is the size NIST SP 800-57
  rates secure past 2030. A signature takes about a millisecond; loading a key (once per process) about 80.
- **Header.** ``kid`` names the key in the issuer's key set (``/certificates/keys.json``); the public ``jwk`` rides
  along too (§8.2.3 allows both), so a generic OB 3.0 verifier can check the signature without knowing our key set.
  Our own check never trusts that copy: it takes the key from the issuer's set by ``kid``.
- **Downloadable document.** §5 says a VC-JWT file is the compact JWS alone (``.jwt``), so the spec has no place for
  a readable credential *and* its JWT in one JSON file. Ours is a plain wrapper, ``{"credential": {...}, "jwt":
  "<compact JWS>"}``; verifying it checks the JWT and that the readable part says exactly what was signed.
- **Holder.** AchievementSubject has no ``name``: the holder's name is an ``identifier`` of ``identityType`` "name",
  unhashed (it is printed on the certificate anyway). The certificate's short id is the subject's ``licenseNumber``
  ("the license number that was issued with this credential"), so a presented credential leads back to its record.
"""

import functools
import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from assessments.scoring import Score, pass_mark

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA: Final = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
ALGORITHM: Final = "RS256"
KEY_BITS: Final = 3072

NOT_A_CREDENTIAL: Final = "This is not a Tracebook credential (neither a JWT nor a credential document)."
SIGNATURE_MISMATCH: Final = "The signature does not match: the credential was changed after it was signed."

# The registered claims that mirror credential properties (§8.2.4); the rest of the payload is the credential.
_CLAIMS: Final = ("iss", "jti", "sub", "nbf")
_PUBLIC_JWK_MEMBERS: Final = ("kty", "n", "e", "kid", "alg", "use")
_COMPACT_JWS: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# The web process that signs and the one that verifies may disagree on the time by a little.
_CLOCK_SKEW: Final = timedelta(minutes=5)
_SCORE_PATH: Final = "credentialSubject.result[0].value"
# Month names spelled here rather than by strftime("%B"), which follows the process's locale.
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# How a person calls the fields a forger would change, for the reason a tampered document is refused.
_FIELD_NAMES: Final = {
    "credentialSubject.identifier[0].identityHash": "holder",
    "credentialSubject.achievement.name": "module",
    _SCORE_PATH: "score",
    "validFrom": "date",
    "issuer.name": "issuer",
    "credentialSubject.licenseNumber": "certificate",
}


class _Missing:
    """A field one side of a comparison lacks."""


_MISSING: Final = _Missing()
_CHANGED: Final = "the document was changed after it was signed."


@dataclass(frozen=True)
class CertificateFacts:
    """What a certificate states, as printed on the PDF and signed in the credential."""

    certificate_id: str
    version: int
    holder_name: str
    module_id: str
    module_title: str
    score_correct: int
    score_total: int
    issued_at: datetime
    issuer_name: str
    verification_url: str
    supersedes: str | None = None

    @property
    def percent(self) -> int:
        """Whole percent, rounded down as the result page shows it: a certificate never overstates a score."""
        return math.floor(Score(self.score_correct, self.score_total).percent)

    @property
    def score_text(self) -> str:
        return f"{self.score_correct} / {self.score_total} ({self.percent} %)"

    @property
    def date_text(self) -> str:
        """The day of issue in UTC, spelled out ("28 November 2026"): no reader mistakes it for another date."""
        return _long_date(self.issued_at)


@dataclass(frozen=True)
class Issuer:
    """The issuer Profile every credential names, served by the tool at ``id``."""

    id: str
    name: str
    url: str
    key_set_url: str


@dataclass(frozen=True)
class SigningKey:
    """A credential-signing key: its id in the issuer's key set, the private key (PKCS#8 PEM) and its public JWK."""

    kid: str
    private_pem: str
    public_jwk: dict[str, Any]


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a presented credential. ``certificate_id`` and ``credential`` (the signed one) are
    set whenever the signature holds, even when the readable document beside it was altered."""

    valid: bool
    reason: str | None
    certificate_id: str | None
    credential: dict[str, Any] | None
    kid: str | None


def new_signing_key(now: datetime) -> SigningKey:
    """A fresh RS256 key. Its kid carries the creation date (for a person reading the key set) and the start of the
    key's RFC 7638 thumbprint (so two keys made the same day never share a kid)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    members = {"e": public["e"], "kty": public["kty"], "n": public["n"]}
    thumbprint = jwt.utils.base64url_encode(
        hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    ).decode()
    kid = f"cred-{now:%Y%m%d}-{thumbprint[:16]}"
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return SigningKey(kid=kid, private_pem=pem, public_jwk={**members, "kid": kid, "alg": ALGORITHM, "use": "sig"})


def build_credential(
    facts: CertificateFacts, issuer: Issuer, achievement_id: str, *, pass_ratio: Fraction
) -> dict[str, Any]:
    """The OpenBadgeCredential of a certificate, unsigned. ``pass_ratio`` is the module's pass mark, stated in the
    achievement's criteria and as the score's required value."""
    score_id = f"{achievement_id}#score"
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        # Derived from the verification URL, which holds the certificate id and the tool's host: the same
        # certificate always has the same id, and no two tools' certificates share one.
        "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, facts.verification_url)}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": _profile(issuer),
        "validFrom": _date_time_z(facts.issued_at),
        "name": f"Certificate: {facts.module_title}",
        "description": _description(facts),
        "credentialSubject": {
            "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, facts.verification_url + '#holder')}",
            "type": ["AchievementSubject"],
            "identifier": [
                {"type": "IdentityObject", "identityHash": facts.holder_name, "identityType": "name", "hashed": False}
            ],
            "licenseNumber": facts.certificate_id,
            "achievement": {
                **_achievement(achievement_id, facts.module_title, pass_ratio),
                "resultDescription": [
                    {
                        "id": score_id,
                        "type": ["ResultDescription"],
                        "name": "Module test score (questions answered correctly)",
                        "resultType": "RawScore",
                        "valueMin": "0",
                        "valueMax": str(facts.score_total),
                        "requiredValue": str(pass_mark(facts.score_total, pass_ratio)),
                    }
                ],
            },
            "result": [{"type": ["Result"], "resultDescription": score_id, "value": str(facts.score_correct)}],
        },
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def _profile(issuer: Issuer) -> dict[str, Any]:
    return {"id": issuer.id, "type": ["Profile"], "name": issuer.name, "url": issuer.url}


def _achievement(achievement_id: str, module_title: str, pass_ratio: Fraction) -> dict[str, Any]:
    return {
        "id": achievement_id,
        "type": ["Achievement"],
        "name": module_title,
        "description": f"Awarded for passing the module test of {module_title}.",
        "criteria": {"narrative": f"Pass the module test with at least {_number(pass_ratio * 100)} %."},
    }


def profile_document(issuer: Issuer) -> dict[str, Any]:
    """The issuer's Profile as published at its id (§B.2.6), for verifiers that dereference the issuer."""
    return {"@context": [VC_CONTEXT, OB_CONTEXT], **_profile(issuer)}


def achievement_document(achievement_id: str, module_title: str, pass_ratio: Fraction) -> dict[str, Any]:
    """The Achievement as published at its id: what every certificate of the module certifies."""
    return {"@context": [VC_CONTEXT, OB_CONTEXT], **_achievement(achievement_id, module_title, pass_ratio)}


def sign_credential(credential: dict[str, Any], key: SigningKey) -> str:
    """The credential as a compact VC-JWT (§8.2)."""
    claims = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
    }
    # Only public members: §8.2.3 warns that a jwk header must never carry the private "d".
    public_jwk = {name: key.public_jwk[name] for name in _PUBLIC_JWK_MEMBERS if name in key.public_jwk}
    headers = {"kid": key.kid, "typ": "JWT", "jwk": public_jwk}
    return jwt.encode({**credential, **claims}, _private_key(key.private_pem), algorithm=ALGORITHM, headers=headers)


@functools.lru_cache(maxsize=4)
def _private_key(pem: str) -> rsa.RSAPrivateKey:
    """The loaded key, kept: loading checks the RSA key (about 80 ms for 3072 bits), signing takes a few ms."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"a credential signing key must be an RSA key for {ALGORITHM}")
    return key


def credential_sha256(jwt: str) -> str:
    """The SHA-256 of the compact JWT, in hex, as the PDF prints it."""
    return hashlib.sha256(jwt.encode("ascii")).hexdigest()


def credential_id(jwt: str) -> str:
    """The id (``jti``) of a credential this tool signed, read without checking the signature."""
    return str(_unverified_payload(jwt)["jti"])


def credential_document(jwt: str) -> dict[str, Any]:
    """The downloadable JSON: the credential as a person reads it, and the compact JWT that proves it."""
    return {"credential": _credential_of(_unverified_payload(jwt)), "jwt": jwt}


def verify_credential(
    presented: str | bytes, keys: Mapping[str, dict[str, Any]], *, now: datetime | None = None
) -> Verification:
    """Check a compact JWT or a credential document against the issuer's key set (``kid`` → public JWK, retired keys
    included). Never raises for what a person presents: the reason says what is wrong, in words for that person."""
    text = _text(presented)
    if text is None:
        return _invalid(NOT_A_CREDENTIAL)
    moment = now or datetime.now(UTC)
    if text.startswith("{"):
        return _verify_document(text, keys, moment)
    if _COMPACT_JWS.fullmatch(text):
        return _verify_jwt(text, keys, moment)
    return _invalid(NOT_A_CREDENTIAL)


def _verify_document(text: str, keys: Mapping[str, dict[str, Any]], now: datetime) -> Verification:
    try:
        document = json.loads(text)
    except ValueError:
        return _invalid(NOT_A_CREDENTIAL)
    if not isinstance(document, dict) or not {"credential", "jwt"} <= document.keys():
        return _invalid(NOT_A_CREDENTIAL)
    token, shown = document["jwt"], document["credential"]
    if not isinstance(token, str) or not _COMPACT_JWS.fullmatch(token.strip()) or not isinstance(shown, dict):
        return _invalid(NOT_A_CREDENTIAL)
    verification = _verify_jwt(token.strip(), keys, now)
    if not verification.valid or verification.credential is None:
        return verification
    difference = _first_difference(shown, verification.credential, "")
    if difference is None:
        return verification
    path, shown_value, signed_value = difference
    return Verification(
        valid=False,
        reason=_tampered_reason(path, shown_value, signed_value, shown, verification.credential),
        certificate_id=verification.certificate_id,
        credential=verification.credential,
        kid=verification.kid,
    )


def _verify_jwt(token: str, keys: Mapping[str, dict[str, Any]], now: datetime) -> Verification:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        return _invalid(NOT_A_CREDENTIAL)
    kid = header.get("kid")
    if not isinstance(kid, str):
        return _invalid("The credential does not say which key signed it (its header has no 'kid').")
    jwk = keys.get(kid)
    if jwk is None:
        return _invalid(f"Signed with key {kid!r}, which is not in the issuer's key set.", kid)
    try:
        public_key = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
    except (jwt.PyJWKError, jwt.InvalidKeyError):
        return _invalid(
            f"The issuer's key {kid!r} is not an {ALGORITHM} public key, so nothing it signed verifies.", kid
        )
    try:
        payload = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            # nbf is checked below against the caller's clock; a credential never expires.
            options={"require": list(_CLAIMS), "verify_nbf": False, "verify_exp": False},
        )
    except jwt.InvalidAlgorithmError:
        return _invalid(
            f"Signed with algorithm {header.get('alg')!r}; the issuer signs credentials with {ALGORITHM}.", kid
        )
    except jwt.InvalidSignatureError:
        return _invalid(SIGNATURE_MISMATCH, kid)
    except jwt.MissingRequiredClaimError as error:
        return _invalid(f"The credential lacks the {error.claim!r} claim that Open Badges 3.0 requires.", kid)
    except jwt.InvalidTokenError:
        return _invalid("The credential is damaged: its signed content cannot be read.", kid)
    credential = _credential_of(payload)
    problem = _claims_problem(payload, credential, now)
    if problem is not None:
        return _invalid(problem, kid)
    certificate_id = _at(credential, "credentialSubject", "licenseNumber")
    if not isinstance(certificate_id, str):
        return _invalid("The credential is signed with the issuer's key but names no certificate.", kid)
    return Verification(valid=True, reason=None, certificate_id=certificate_id, credential=credential, kid=kid)


def _claims_problem(payload: dict[str, Any], credential: dict[str, Any], now: datetime) -> str | None:
    """§8.2.6: each registered claim must equal the credential property it mirrors, and validFrom must have come."""
    for claim, path in (("iss", ("issuer", "id")), ("jti", ("id",)), ("sub", ("credentialSubject", "id"))):
        if payload[claim] != _at(credential, *path):
            return f"The credential's {claim!r} claim does not match its {'.'.join(path)}."
    valid_from = _at(credential, "validFrom")
    try:
        starts = datetime.fromisoformat(valid_from) if isinstance(valid_from, str) else None
        nbf = datetime.fromtimestamp(payload["nbf"], UTC)
    except (TypeError, ValueError, OverflowError):
        return "The credential's 'nbf' claim or validFrom is not a date."
    if starts is None or starts != nbf:
        return "The credential's 'nbf' claim does not match its validFrom."
    if nbf > now + _CLOCK_SKEW:
        return f"The credential is not valid before {_long_date(nbf)}, {nbf:%H:%M} UTC."
    return None


def _first_difference(shown: Any, signed: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first place, in the signed credential's order, where the readable document says something else;
    ``_MISSING`` stands for a field one side lacks."""
    if isinstance(shown, dict) and isinstance(signed, dict):
        for name in [*signed, *(name for name in shown if name not in signed)]:
            inner = f"{path}.{name}" if path else name
            found = _first_difference(shown.get(name, _MISSING), signed.get(name, _MISSING), inner)
            if found is not None:
                return found
        return None
    if isinstance(shown, list) and isinstance(signed, list):
        for index in range(max(len(shown), len(signed))):
            found = _first_difference(
                shown[index] if index < len(shown) else _MISSING,
                signed[index] if index < len(signed) else _MISSING,
                f"{path}[{index}]",
            )
            if found is not None:
                return found
        return None
    # JSON tells true from 1 where Python's == does not (True == 1), so the types must match too.
    if type(shown) is not type(signed) or shown != signed:
        return path, shown, signed
    return None


def _tampered_reason(
    path: str, shown_value: Any, signed_value: Any, shown: dict[str, Any], signed: dict[str, Any]
) -> str:
    field = _FIELD_NAMES.get(path, path)
    if shown_value is _MISSING:
        return f"The credential document lacks {field}, which the signed credential has: {_CHANGED}"
    if signed_value is _MISSING:
        return f"The credential document adds {field}, which the signed credential does not have: {_CHANGED}"
    return (
        f"The credential document says {field} {_shown(path, shown_value, shown)} but the signed credential says "
        f"{_shown(path, signed_value, signed)}: {_CHANGED}"
    )


def _shown(path: str, value: Any, credential: dict[str, Any]) -> str:
    if path == _SCORE_PATH and isinstance(value, str):
        maximum = _at(credential, "credentialSubject", "achievement", "resultDescription", 0, "valueMax")
        return f"{value}/{maximum}"
    return json.dumps(value, ensure_ascii=False)


def _credential_of(payload: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in payload.items() if name not in _CLAIMS}


def _unverified_payload(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def _text(presented: str | bytes) -> str | None:
    if isinstance(presented, bytes):
        try:
            presented = presented.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
    return presented.strip()


def _at(value: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)
        elif isinstance(step, int) and isinstance(value, list) and 0 <= step < len(value):
            value = value[step]
        else:
            return None
    return value


def _invalid(reason: str, kid: str | None = None) -> Verification:
    return Verification(valid=False, reason=reason, certificate_id=None, credential=None, kid=kid)


def _date_time_z(moment: datetime) -> str:
    """DateTimeZ of the data model, whole seconds: ``nbf`` counts seconds and must equal validFrom (§8.2.6)."""
    if moment.tzinfo is None:
        raise ValueError("a certificate's time must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _long_date(moment: datetime) -> str:
    day = moment.astimezone(UTC)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _description(facts: CertificateFacts) -> str:
    text = f"Passed the module test of {facts.module_title} with {facts.score_text}; issued by {facts.issuer_name}."
    if facts.supersedes:
        text += f" Version {facts.version}: it supersedes certificate {facts.supersedes}."
    return text
