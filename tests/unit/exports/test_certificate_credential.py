"""The certificate's Open Badges 3.0 credential: what it says, how it is signed, and how a presented one is checked."""

import base64
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from exports.certificates import (
    NOT_A_CREDENTIAL,
    SIGNATURE_MISMATCH,
    Issuer,
    SigningKey,
    build_credential,
    credential_document,
    credential_id,
    credential_sha256,
    new_signing_key,
    sign_credential,
    verify_credential,
)

from .builders import CERTIFICATE_ISSUED as ISSUED
from .builders import make_certificate_facts

BASE = "https://tracebook.example.edu"
ISSUER = Issuer(
    id=f"{BASE}/certificates/issuer",
    name="Tracebook",
    url=BASE,
    key_set_url=f"{BASE}/certificates/keys.json",
)
ACHIEVEMENT = f"{BASE}/certificates/achievements/module-3-tracing-llm-calls"
AFTER = ISSUED + timedelta(days=1)
PASS = Fraction(4, 5)


@pytest.fixture(scope="module")
def retired_key() -> SigningKey:
    return new_signing_key(ISSUED - timedelta(days=400))


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_signing_key(ISSUED - timedelta(days=30))


@pytest.fixture(scope="module")
def key_set(retired_key: SigningKey, key: SigningKey) -> dict[str, dict[str, Any]]:
    return {retired_key.kid: retired_key.public_jwk, key.kid: key.public_jwk}


@pytest.fixture(scope="module")
def credential() -> dict[str, Any]:
    return build_credential(make_certificate_facts(), ISSUER, ACHIEVEMENT, pass_ratio=PASS)


@pytest.fixture(scope="module")
def token(credential: dict[str, Any], key: SigningKey) -> str:
    return sign_credential(credential, key)


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _decode_segment(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


# --- the credential -------------------------------------------------------------------------------------------


def test_the_credential_is_an_open_badge_with_holder_module_score_and_date(credential: dict[str, Any]) -> None:
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["issuer"] == {"id": ISSUER.id, "type": ["Profile"], "name": "Tracebook", "url": BASE}
    # Whole seconds in UTC: nbf counts seconds and must equal validFrom.
    assert credential["validFrom"] == "2026-11-28T14:03:07Z"
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [
        {"type": "IdentityObject", "identityHash": "Ada Lovelace", "identityType": "name", "hashed": False}
    ]
    assert subject["licenseNumber"] == "K7M2-9QXD-4TJA"
    achievement = subject["achievement"]
    assert achievement["id"] == ACHIEVEMENT
    assert achievement["type"] == ["Achievement"]
    assert achievement["name"] == "Tracing LLM Calls"
    assert achievement["criteria"] == {"narrative": "Pass the module test with at least 80 %."}
    [score] = achievement["resultDescription"]
    assert score["resultType"] == "RawScore"
    assert (score["valueMin"], score["valueMax"], score["requiredValue"]) == ("0", "15", "12")
    assert subject["result"] == [{"type": ["Result"], "resultDescription": score["id"], "value": "13"}]
    assert "13 / 15 (86 %)" in credential["description"]
    assert "Northwind University (Canvas)" in credential["description"]


def test_the_pass_mark_comes_from_the_module_setting() -> None:
    credential = build_credential(
        make_certificate_facts(score_total=20, score_correct=15), ISSUER, ACHIEVEMENT, pass_ratio=Fraction(3, 4)
    )

    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["criteria"]["narrative"] == "Pass the module test with at least 75 %."
    assert achievement["resultDescription"][0]["requiredValue"] == "15"


def test_a_later_version_says_which_certificate_it_supersedes() -> None:
    first = build_credential(make_certificate_facts(), ISSUER, ACHIEVEMENT, pass_ratio=PASS)
    second = build_credential(
        make_certificate_facts(
            certificate_id="Q4RT-8WXY-2MNB",
            version=2,
            verification_url=f"{BASE}/c/Q4RT-8WXY-2MNB",
            supersedes="K7M2-9QXD-4TJA",
        ),
        ISSUER,
        ACHIEVEMENT,
        pass_ratio=PASS,
    )

    assert "Version 2: it supersedes certificate K7M2-9QXD-4TJA." in second["description"]
    assert "supersedes" not in first["description"]
    assert second["id"] != first["id"]
    assert second["credentialSubject"]["id"] != first["credentialSubject"]["id"]


def test_the_credential_id_is_derived_from_the_verification_url() -> None:
    again = build_credential(make_certificate_facts(), ISSUER, ACHIEVEMENT, pass_ratio=PASS)
    elsewhere = build_credential(
        make_certificate_facts(verification_url="https://other.example.org/c/K7M2-9QXD-4TJA"),
        ISSUER,
        ACHIEVEMENT,
        pass_ratio=PASS,
    )

    assert again["id"] == build_credential(make_certificate_facts(), ISSUER, ACHIEVEMENT, pass_ratio=PASS)["id"]
    assert elsewhere["id"] != again["id"]


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_credential(
            make_certificate_facts(issued_at=datetime(2026, 11, 28, 14, 3)), ISSUER, ACHIEVEMENT, pass_ratio=PASS
        )


# --- keys and signing -----------------------------------------------------------------------------------------


def test_a_new_key_is_rsa_3072_and_publishes_only_public_members(key: SigningKey, retired_key: SigningKey) -> None:
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 3072
    assert set(key.public_jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    assert key.public_jwk["kid"] == key.kid
    assert key.public_jwk["alg"] == "RS256"
    assert key.kid.startswith("cred-20261029-")
    assert len(key.kid) <= 64  # the key table's column
    assert key.kid != retired_key.kid


def test_the_jwt_follows_the_json_web_token_proof_format(
    token: str, credential: dict[str, Any], key: SigningKey
) -> None:
    header_segment, payload_segment, _ = token.split(".")
    header = _decode_segment(header_segment)
    payload = _decode_segment(payload_segment)

    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert header["kid"] == key.kid
    assert "d" not in header["jwk"]
    assert header["jwk"]["n"] == key.public_jwk["n"]
    # The payload is the credential itself, plus the claims that mirror its properties.
    assert {name: value for name, value in payload.items() if name not in {"iss", "jti", "sub", "nbf"}} == credential
    assert payload["iss"] == credential["issuer"]["id"]
    assert payload["jti"] == credential["id"]
    assert payload["sub"] == credential["credentialSubject"]["id"]
    assert payload["nbf"] == int(datetime(2026, 11, 28, 14, 3, 7, tzinfo=UTC).timestamp())


def test_the_sha256_is_that_of_the_compact_jwt(token: str) -> None:
    assert credential_sha256(token) == hashlib.sha256(token.encode("ascii")).hexdigest()
    assert len(credential_sha256(token)) == 64


def test_the_credential_id_and_the_document_are_read_from_the_jwt(token: str, credential: dict[str, Any]) -> None:
    assert credential_id(token) == credential["id"]
    assert credential_document(token) == {"credential": credential, "jwt": token}


# --- verification ---------------------------------------------------------------------------------------------


def test_a_signed_credential_verifies_and_names_its_certificate(
    token: str, credential: dict[str, Any], key: SigningKey, key_set: dict[str, dict[str, Any]]
) -> None:
    verification = verify_credential(token, key_set, now=AFTER)

    assert verification.valid, verification.reason
    assert verification.reason is None
    assert verification.certificate_id == "K7M2-9QXD-4TJA"
    assert verification.credential == credential
    assert verification.kid == key.kid


@pytest.mark.parametrize("form", ["text", "bytes", "bytes with BOM and newline"])
def test_the_downloadable_document_verifies(token: str, key_set: dict[str, dict[str, Any]], form: str) -> None:
    text = json.dumps(credential_document(token), indent=2, ensure_ascii=False)
    forms: dict[str, str | bytes] = {
        "text": text,
        "bytes": text.encode(),
        "bytes with BOM and newline": b"\xef\xbb\xbf" + text.encode() + b"\n",
    }

    verification = verify_credential(forms[form], key_set, now=AFTER)

    assert verification.valid, verification.reason
    assert verification.certificate_id == "K7M2-9QXD-4TJA"


def test_a_credential_signed_before_a_key_retirement_still_verifies(
    credential: dict[str, Any], retired_key: SigningKey, key_set: dict[str, dict[str, Any]]
) -> None:
    old = sign_credential(credential, retired_key)

    verification = verify_credential(old, key_set, now=AFTER + timedelta(days=3650))

    assert verification.valid, verification.reason
    assert verification.kid == retired_key.kid


def test_a_changed_score_in_the_jwt_fails_with_the_signature_reason(
    token: str, key_set: dict[str, dict[str, Any]]
) -> None:
    header, payload_segment, signature = token.split(".")
    payload = _decode_segment(payload_segment)
    payload["credentialSubject"]["result"][0]["value"] = "15"
    forged = f"{header}.{_segment(payload)}.{signature}"

    verification = verify_credential(forged, key_set, now=AFTER)

    assert not verification.valid
    assert verification.reason == SIGNATURE_MISMATCH
    assert verification.certificate_id is None
    assert verification.credential is None


def test_a_changed_score_in_the_document_is_named(
    token: str, credential: dict[str, Any], key_set: dict[str, dict[str, Any]]
) -> None:
    document = credential_document(token)
    document["credential"]["credentialSubject"]["result"][0]["value"] = "15"

    verification = verify_credential(json.dumps(document), key_set, now=AFTER)

    assert not verification.valid
    assert verification.reason == (
        "The credential document says score 15/15 but the signed credential says 13/15: "
        "the document was changed after it was signed."
    )
    # The signature held: which certificate it is, and what it really says, are known.
    assert verification.certificate_id == "K7M2-9QXD-4TJA"
    assert verification.credential == credential


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda c: c["credentialSubject"]["identifier"][0].update(identityHash="Eve Mallory"),
            'The credential document says holder "Eve Mallory" but the signed credential says "Ada Lovelace"',
        ),
        (
            lambda c: c.update(validFrom="2025-01-01T00:00:00Z"),
            'The credential document says date "2025-01-01T00:00:00Z" but the signed credential says '
            '"2026-11-28T14:03:07Z"',
        ),
        (
            lambda c: c["credentialSubject"]["achievement"]["resultDescription"][0].update(valueMax="13"),
            'The credential document says credentialSubject.achievement.resultDescription[0].valueMax "13" but the '
            'signed credential says "15"',
        ),
        (
            lambda c: c["credentialSubject"].update(role="Valedictorian"),
            "The credential document adds credentialSubject.role, which the signed credential does not have",
        ),
        (
            lambda c: c.pop("description"),
            "The credential document lacks description, which the signed credential has",
        ),
        (
            lambda c: c["type"].append("EndorsementCredential"),
            "The credential document adds type[2], which the signed credential does not have",
        ),
        (
            lambda c: c["credentialSubject"]["identifier"][0].update(hashed=0),
            "The credential document says credentialSubject.identifier[0].hashed 0 but the signed credential says "
            "false",
        ),
    ],
)
def test_any_change_to_the_document_is_named(
    token: str, key_set: dict[str, dict[str, Any]], change: Any, reason: str
) -> None:
    document = credential_document(token)
    change(document["credential"])

    verification = verify_credential(json.dumps(document), key_set, now=AFTER)

    assert not verification.valid
    assert verification.reason == f"{reason}: the document was changed after it was signed."


def test_a_document_whose_jwt_was_changed_fails_with_the_signature_reason(
    token: str, key_set: dict[str, dict[str, Any]]
) -> None:
    header, payload_segment, signature = token.split(".")
    payload = _decode_segment(payload_segment)
    payload["credentialSubject"]["result"][0]["value"] = "15"
    document = {"credential": payload, "jwt": f"{header}.{_segment(payload)}.{signature}"}

    verification = verify_credential(json.dumps(document), key_set, now=AFTER)

    assert verification.reason == SIGNATURE_MISMATCH


def test_a_key_missing_from_the_key_set_is_named(token: str, key: SigningKey, retired_key: SigningKey) -> None:
    verification = verify_credential(token, {retired_key.kid: retired_key.public_jwk}, now=AFTER)

    assert not verification.valid
    assert verification.reason == f"Signed with key {key.kid!r}, which is not in the issuer's key set."
    assert verification.kid == key.kid


def test_a_forger_who_borrows_our_kid_fails_the_signature(
    credential: dict[str, Any], key: SigningKey, key_set: dict[str, dict[str, Any]]
) -> None:
    forger = dataclasses.replace(new_signing_key(AFTER), kid=key.kid)

    verification = verify_credential(sign_credential(credential, forger), key_set, now=AFTER)

    assert verification.reason == SIGNATURE_MISMATCH


def test_a_token_signed_with_another_algorithm_is_refused(
    credential: dict[str, Any], key: SigningKey, key_set: dict[str, dict[str, Any]]
) -> None:
    # The classic confusion attack: HMAC "signed" with the published public key as the secret.
    public_pem = (
        serialization.load_pem_private_key(key.private_pem.encode(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = f"{_segment({'alg': 'HS256', 'kid': key.kid, 'typ': 'JWT'})}.{_segment(credential)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    verification = verify_credential(forged, key_set, now=AFTER)

    assert not verification.valid
    assert verification.reason == "Signed with algorithm 'HS256'; the issuer signs credentials with RS256."


def test_a_token_without_a_kid_is_refused(credential: dict[str, Any], key: SigningKey) -> None:
    token = jwt.encode(credential, key.private_pem, algorithm="RS256")

    verification = verify_credential(token, {key.kid: key.public_jwk}, now=AFTER)

    assert verification.reason == "The credential does not say which key signed it (its header has no 'kid')."


def test_a_token_without_the_required_claims_is_refused(credential: dict[str, Any], key: SigningKey) -> None:
    token = jwt.encode(credential, key.private_pem, algorithm="RS256", headers={"kid": key.kid})

    verification = verify_credential(token, {key.kid: key.public_jwk}, now=AFTER)

    assert verification.reason == "The credential lacks the 'iss' claim that Open Badges 3.0 requires."


def test_claims_that_disagree_with_the_credential_are_refused(credential: dict[str, Any], key: SigningKey) -> None:
    payload = {**credential, "iss": ISSUER.id, "jti": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    payload |= {"sub": credential["credentialSubject"]["id"], "nbf": int(ISSUED.timestamp())}
    token = jwt.encode(payload, key.private_pem, algorithm="RS256", headers={"kid": key.kid})

    verification = verify_credential(token, {key.kid: key.public_jwk}, now=AFTER)

    assert verification.reason == "The credential's 'jti' claim does not match its id."


def test_a_credential_is_not_valid_before_its_date_and_never_expires(
    token: str, key_set: dict[str, dict[str, Any]]
) -> None:
    early = verify_credential(token, key_set, now=ISSUED - timedelta(hours=1))
    skewed = verify_credential(token, key_set, now=ISSUED - timedelta(minutes=4))
    decades = verify_credential(token, key_set, now=ISSUED + timedelta(days=365 * 30))

    assert not early.valid
    assert early.reason == "The credential is not valid before 28 November 2026, 14:03 UTC."
    assert skewed.valid, skewed.reason  # a few minutes of clock difference between processes
    assert decades.valid, decades.reason


def test_an_unusable_key_in_the_key_set_is_named(token: str, key: SigningKey) -> None:
    verification = verify_credential(token, {key.kid: {"kty": "oct", "k": "c2VjcmV0"}}, now=AFTER)

    assert (
        verification.reason
        == f"The issuer's key {key.kid!r} is not an RS256 public key, so nothing it signed verifies."
    )


@pytest.mark.parametrize(
    "presented",
    [
        b"",
        "   ",
        b"\xff\xfe\x00garbage",
        "hello, employer",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        "not.a.jwt",
        "eyJhbGciOiJSUzI1NiJ9",
        "{",
        "[1, 2, 3]",
        '{"credential": {"name": "x"}}',
        '{"credential": {}, "jwt": 5}',
        '{"credential": [], "jwt": "a.b.c"}',
    ],
)
def test_anything_else_is_not_a_credential(presented: str | bytes, key_set: dict[str, dict[str, Any]]) -> None:
    verification = verify_credential(presented, key_set, now=AFTER)

    assert not verification.valid
    assert verification.reason == NOT_A_CREDENTIAL
    assert verification.certificate_id is None
