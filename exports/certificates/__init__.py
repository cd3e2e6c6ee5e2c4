"""Certificates for passing the module test (issue 8): the Open Badges 3.0 credential signed as a VC-JWT and its
check (``credential``), and the PDF with its QR code (``pdf``, imported on its own: weasyprint takes about 0.3 s
to import, which only the worker that renders should pay). Pure: the web side (issuing, storage, the
verification page, key rotation) lives in lms_plugin."""

from exports.certificates.credential import (
    NOT_A_CREDENTIAL,
    SIGNATURE_MISMATCH,
    CertificateFacts,
    Issuer,
    SigningKey,
    Verification,
    achievement_document,
    build_credential,
    credential_document,
    credential_id,
    credential_sha256,
    new_signing_key,
    profile_document,
    sign_credential,
    verify_credential,
)
from exports.certificates.errors import CertificateError, ResourceRefusedError, UnknownPageSizeError
from exports.certificates.page_sizes import PAGE_SIZES

__all__ = [
    "NOT_A_CREDENTIAL",
    "PAGE_SIZES",
    "SIGNATURE_MISMATCH",
    "CertificateError",
    "CertificateFacts",
    "Issuer",
    "ResourceRefusedError",
    "SigningKey",
    "UnknownPageSizeError",
    "Verification",
    "achievement_document",
    "build_credential",
    "credential_document",
    "credential_id",
    "credential_sha256",
    "new_signing_key",
    "profile_document",
    "sign_credential",
    "verify_credential",
]
