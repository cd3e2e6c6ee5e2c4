"""The launch, as the rest of the tool sees it: one frozen dataclass built from validated claims."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from lms_plugin.lti import claims
from lms_plugin.lti.quirks import canvas_is_test_student, moodle_deployment_id
from lms_plugin.lti.roles import Role, map_roles

UNIT_PARAMETER = "tracebook_unit"  # the resource link's custom parameter naming what it shows
WHOLE_MODULE = "module"


@dataclass(frozen=True)
class LaunchContext:
    issuer: str
    client_id: str
    deployment_id: str
    sub: str
    roles: frozenset[Role]
    resource_link_id: str
    unit: str  # WHOLE_MODULE or a unit id
    name: str | None = None
    email: str | None = None
    context_id: str | None = None
    context_title: str | None = None
    resource_link_title: str | None = None
    platform_product: str | None = None
    test_user: bool = False
    raw_roles: tuple[str, ...] = field(default=())
    # Assignment and Grade Services, when the platform offers them (AGS 2.0 §3.1).
    ags_scopes: tuple[str, ...] = ()
    ags_lineitems: str | None = None
    ags_lineitem: str | None = None
    nrps_url: str | None = None  # Names and Role Provisioning: the course's membership list

    @property
    def is_instructor(self) -> bool:
        return bool(self.roles & {Role.INSTRUCTOR, Role.ADMINISTRATOR})

    @property
    def is_learner(self) -> bool:
        """Gradable learners only: not staff, and not a platform's test student."""
        return not self.is_instructor and not self.test_user

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["roles"] = sorted(r.value for r in self.roles)
        data["raw_roles"] = list(self.raw_roles)
        data["ags_scopes"] = list(self.ags_scopes)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "LaunchContext":
        values = dict(data)
        values["roles"] = frozenset(Role(r) for r in values["roles"])
        values["raw_roles"] = tuple(values["raw_roles"])
        values["ags_scopes"] = tuple(values.get("ags_scopes", ()))
        return cls(**values)


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _name(payload: Mapping[str, Any]) -> str | None:
    full = _text(payload.get("name"))
    if full:
        return full
    parts = [_text(payload.get(key)) for key in ("given_name", "family_name")]
    return " ".join(p for p in parts if p) or None


def launch_context(payload: Mapping[str, Any], client_id: str) -> LaunchContext:
    """Map a validated resource-link launch. Unknown roles are kept in ``raw_roles`` and grant nothing."""
    raw_roles = tuple(r for r in payload.get(claims.ROLES) or [] if isinstance(r, str))
    context = payload.get(claims.CONTEXT) or {}
    link = payload.get(claims.RESOURCE_LINK) or {}
    custom = payload.get(claims.CUSTOM) or {}
    platform = payload.get(claims.TOOL_PLATFORM) or {}
    ags = payload.get(claims.AGS_ENDPOINT) or {}
    if not isinstance(ags, Mapping):
        ags = {}
    nrps = payload.get(claims.NRPS) or {}
    if not isinstance(nrps, Mapping):
        nrps = {}
    unit = _text(custom.get(UNIT_PARAMETER)) if isinstance(custom, Mapping) else None
    return LaunchContext(
        issuer=payload["iss"],
        client_id=client_id,
        deployment_id=moodle_deployment_id(payload),
        sub=str(payload["sub"]),
        roles=map_roles(raw_roles),
        raw_roles=raw_roles,
        resource_link_id=str(link["id"]),
        resource_link_title=_text(link.get("title")),
        unit=unit or WHOLE_MODULE,
        name=_name(payload),
        email=_text(payload.get("email")),
        context_id=_text(context.get("id")) if isinstance(context, Mapping) else None,
        context_title=_text(context.get("title")) if isinstance(context, Mapping) else None,
        platform_product=_text(platform.get("product_family_code")) if isinstance(platform, Mapping) else None,
        test_user=canvas_is_test_student(payload),
        ags_scopes=tuple(s for s in ags.get("scope") or [] if isinstance(s, str)),
        ags_lineitems=_text(ags.get("lineitems")),
        ags_lineitem=_text(ags.get("lineitem")),
        nrps_url=_text(nrps.get("context_memberships_url")),
    )
