"""Names and Role Provisioning Services 2.0: the course's members, page by page (``Link: rel="next"``)."""

from dataclasses import dataclass

from lms_plugin.lti.ags import MEMBERSHIPS_TYPE, ServiceClient
from lms_plugin.lti.platform_directory import PlatformInfo

MAX_PAGES = 200  # a runaway "next" chain must end


@dataclass(frozen=True)
class Member:
    user_id: str
    name: str | None
    email: str | None
    roles: tuple[str, ...]
    status: str


def _name(member: dict[str, object]) -> str | None:
    if isinstance(member.get("name"), str) and member["name"]:
        return str(member["name"])
    parts = [member.get(k) for k in ("given_name", "family_name")]
    return " ".join(str(p) for p in parts if isinstance(p, str) and p) or None


def fetch_members(client: ServiceClient, platform: PlatformInfo, url: str) -> list[Member]:
    members: list[Member] = []
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            break
        response = client.call(platform, "GET", next_url, accept=MEMBERSHIPS_TYPE)
        for member in response.json().get("members", []):
            if not isinstance(member, dict) or not member.get("user_id"):
                continue
            members.append(
                Member(
                    user_id=str(member["user_id"]),
                    name=_name(member),
                    email=member.get("email") if isinstance(member.get("email"), str) else None,
                    roles=tuple(r for r in member.get("roles", []) if isinstance(r, str)),
                    status=str(member.get("status", "Active")),
                )
            )
        next_url = response.links.get("next", {}).get("url")
    return members
