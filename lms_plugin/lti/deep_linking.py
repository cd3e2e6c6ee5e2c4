"""LTI Deep Linking 2.0: the platform's request as the tool sees it (§4.4), and the tool's signed answer (§4.5).

An instructor adding the tool to a course is sent here by an ``LtiDeepLinkingRequest``; the tool answers with
an ``LtiDeepLinkingResponse`` JWT, signed with its own key, listing the links to create. pylti1p3's
``DeepLinkResource`` and ``LineItem`` shape the content items; its ``DeepLink`` does not fit the rest: it reads
the wall clock, loads the key from PEM on every call and answers with an inline script, which our
Content-Security-Policy forbids.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from lms_plugin.lti import claims
from lms_plugin.lti.context import UNIT_PARAMETER
from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.lti.keys import SigningKey, private_key
from lms_plugin.lti.quirks import moodle_deployment_id
from lms_plugin.lti.roles import Role, map_roles
from lms_plugin.lti.validation import ASK_PLATFORM

RESOURCE_LINK = "ltiResourceLink"
RESPONSE_LIFETIME = timedelta(minutes=5)  # the browser posts it to the platform at once


@dataclass(frozen=True)
class DeepLinkRequest:
    """What the tool keeps of a validated deep-linking request: who asks, and how to answer."""

    issuer: str
    client_id: str
    deployment_id: str
    sub: str
    return_url: str
    accept_multiple: bool = True
    accept_line_items: bool = True
    data: Any = None  # opaque to the tool; echoed in the response when the platform sent it
    has_data: bool = False
    name: str | None = None
    context_title: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "DeepLinkRequest":
        return cls(**data)


def is_deep_linking(payload: Mapping[str, Any]) -> bool:
    return payload.get(claims.MESSAGE_TYPE) == claims.DEEP_LINKING_REQUEST


def _flag(value: Any, default: bool) -> bool:
    """Platforms send these booleans as JSON booleans or as the strings "true"/"false" (pylti1p3 allows both)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


def deep_link_request(payload: Mapping[str, Any], client_id: str) -> DeepLinkRequest:
    """Map a validated ``LtiDeepLinkingRequest``; only instructors and administrators may place the tool."""
    roles = map_roles(r for r in payload.get(claims.ROLES) or [] if isinstance(r, str))
    if not roles & {Role.INSTRUCTOR, Role.ADMINISTRATOR}:
        raise LaunchRefusedError(
            "Only an instructor can add Tracebook to a course: this request comes from someone who is not one.",
            "Ask an instructor of the course to add the activity.",
            status=403,
        )
    settings = payload.get(claims.DEEP_LINKING_SETTINGS)
    if not isinstance(settings, Mapping):
        raise LaunchRefusedError(
            f"The request is missing the required '{claims.DEEP_LINKING_SETTINGS}' claim.", ASK_PLATFORM
        )
    return_url = settings.get("deep_link_return_url")
    if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
        raise LaunchRefusedError("The deep-linking request names no deep_link_return_url to answer to.", ASK_PLATFORM)
    accept_types = settings.get("accept_types")
    if not isinstance(accept_types, list) or RESOURCE_LINK not in accept_types:
        raise LaunchRefusedError(
            f"The course accepts only {accept_types!r} here; Tracebook adds LTI links ({RESOURCE_LINK}).",
            "Add Tracebook from the course's external-tool or assignment menu, which accepts LTI links.",
        )
    context = payload.get(claims.CONTEXT)
    name = payload.get("name")
    return DeepLinkRequest(
        issuer=str(payload["iss"]),
        client_id=client_id,
        deployment_id=moodle_deployment_id(payload),
        sub=str(payload["sub"]),
        return_url=return_url,
        accept_multiple=_flag(settings.get("accept_multiple"), default=True),
        accept_line_items=_flag(settings.get("accept_lineitem"), default=True),
        data=settings.get("data"),
        has_data="data" in settings,
        name=name if isinstance(name, str) and name else None,
        context_title=str(context.get("title")) if isinstance(context, Mapping) and context.get("title") else None,
    )


@dataclass(frozen=True)
class ResourceLink:
    """One link to create: what it shows, and its gradebook column when it is graded."""

    unit: str
    title: str
    score_maximum: int | None = None  # None: not graded
    resource_id: str | None = None
    tag: str | None = None


def content_item(link: ResourceLink, launch_url: str, with_line_item: bool) -> dict[str, object]:
    resource = (
        DeepLinkResource().set_title(link.title).set_url(launch_url).set_custom_params({UNIT_PARAMETER: link.unit})
    )
    if link.score_maximum is not None and with_line_item:
        line_item: dict[str, Any] = {"scoreMaximum": link.score_maximum, "label": link.title}
        line_item.update({k: v for k, v in (("resourceId", link.resource_id), ("tag", link.tag)) if v})
        resource.set_lineitem(LineItem(line_item))  # type: ignore[arg-type]
    return resource.to_dict()


def response_claims(
    request: DeepLinkRequest, links: Iterable[ResourceLink], launch_url: str, now: datetime
) -> dict[str, Any]:
    """The ``LtiDeepLinkingResponse`` (§4.5): from the tool (its client id) to the platform (its issuer)."""
    items: Sequence[dict[str, object]] = [content_item(link, launch_url, request.accept_line_items) for link in links]
    payload: dict[str, Any] = {
        "iss": request.client_id,
        "aud": request.issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + RESPONSE_LIFETIME).timestamp()),
        "nonce": uuid.uuid4().hex,
        claims.DEPLOYMENT_ID: request.deployment_id,
        claims.MESSAGE_TYPE: claims.DEEP_LINKING_RESPONSE,
        claims.VERSION: claims.LTI_VERSION,
        claims.DL_CONTENT_ITEMS: list(items),
    }
    if request.has_data:
        payload[claims.DL_DATA] = request.data  # the platform binds its answer to its request with it
    return payload


def sign_response(payload: Mapping[str, Any], key: SigningKey) -> str:
    return jwt.encode(
        dict(payload), private_key(key.private_pem), algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
    )
