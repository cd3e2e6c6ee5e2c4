"""The id_token a platform sends for a resource-link launch (LTI Core 1.3 §5.3), signed with RS256."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt

from lms_plugin.emulator.platforms import (
    COURSE_ID,
    COURSE_LABEL,
    COURSE_TITLE,
    EmulatedPlacement,
    EmulatedPlatform,
    Person,
)
from lms_plugin.lti import claims
from lms_plugin.lti.ags import SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE
from lms_plugin.lti.context import UNIT_PARAMETER
from lms_plugin.lti.keys import SigningKey, private_key

TOKEN_LIFETIME = timedelta(minutes=5)


def message_claims(
    platform: EmulatedPlatform,
    *,
    emulator_url: str,
    tool_url: str,
    person: Person,
    nonce: str,
    now: datetime,
    message_type: str,
) -> dict[str, Any]:
    """What every LTI message from the emulator says: who, in which course, on which platform."""
    return {
        "iss": platform.issuer(emulator_url),
        "aud": platform.client_id,
        "azp": platform.client_id,
        "sub": f"{platform.mode}-user-{person.id}",
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "nonce": nonce,
        "name": person.name,
        "given_name": person.given_name,
        "family_name": person.family_name,
        claims.MESSAGE_TYPE: message_type,
        claims.VERSION: claims.LTI_VERSION,
        claims.DEPLOYMENT_ID: platform.deployment_id,
        claims.TARGET_LINK_URI: f"{tool_url}/lti/launch",
        claims.ROLES: list(person.roles),
        claims.CONTEXT: {
            "id": context_id(platform),
            "label": COURSE_LABEL,
            "title": COURSE_TITLE,
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
        },
        claims.TOOL_PLATFORM: {
            "guid": f"{platform.mode}-emulator",
            "name": platform.name,
            "product_family_code": platform.product_family_code,
            "version": "emulated",
        },
        claims.LAUNCH_PRESENTATION: {"document_target": "iframe", "locale": "en"},
        **({"email": person.email} if person.email else {}),
    }


def resource_link_claims(
    platform: EmulatedPlatform,
    *,
    emulator_url: str,
    tool_url: str,
    person: Person,
    placement: EmulatedPlacement,
    nonce: str,
    now: datetime,
    lineitem_url: str | None = None,
) -> dict[str, Any]:
    payload = message_claims(
        platform,
        emulator_url=emulator_url,
        tool_url=tool_url,
        person=person,
        nonce=nonce,
        now=now,
        message_type=claims.RESOURCE_LINK_REQUEST,
    )
    payload |= {
        claims.RESOURCE_LINK: {"id": f"{platform.mode}-{placement.resource_link_id}", "title": placement.title},
        claims.CUSTOM: {UNIT_PARAMETER: placement.unit},
        claims.AGS_ENDPOINT: {
            "scope": [SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE],
            "lineitems": lineitems_url(platform, emulator_url),
            **({"lineitem": lineitem_url} if lineitem_url else {}),
        },
        claims.NRPS: {"context_memberships_url": memberships_url(platform, emulator_url), "service_versions": ["2.0"]},
    }
    return payload


def context_id(platform: EmulatedPlatform) -> str:
    return f"{platform.mode}-{COURSE_ID}"


def lineitems_url(platform: EmulatedPlatform, emulator_url: str) -> str:
    # Moodle's service URLs carry a query string; a tool must not build sub-URLs by appending to them.
    query = "?type_id=3" if platform.mode == "moodle" else ""
    return f"{emulator_url}/{platform.mode}/contexts/{context_id(platform)}/lineitems{query}"


def memberships_url(platform: EmulatedPlatform, emulator_url: str) -> str:
    return f"{emulator_url}/{platform.mode}/contexts/{context_id(platform)}/memberships"


def sign(payload: dict[str, Any], key: SigningKey) -> str:
    return jwt.encode(payload, private_key(key.private_pem), algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})


def nonce() -> str:
    return uuid.uuid4().hex
