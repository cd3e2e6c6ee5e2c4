"""LTI Dynamic Registration 1.0 (1EdTech, https://www.imsglobal.org/spec/lti-dr/v1p0), the tool's side, and the
tool's configuration as Canvas imports it (a developer key's JSON).

The platform opens ``/lti/register?openid_configuration=…&registration_token=…`` in a frame (§3.3). The tool
fetches the platform's OpenID configuration (§3.4), checks it (§3.5.1: its issuer starts the configuration
URL), posts its client registration with the registration token as a bearer token (§3.5.2), and stores the
client id and deployment id it is given (§3.6). The specification lets anyone who can reach the tool start
this, so the tool accepts it only through a one-time link an admin made (``tb_link``), and the deployment it
records starts inactive until an admin activates it, as Moodle keeps the tool pending on its side.

pylti1p3next has a ``DynamicRegistration`` class; we do not use it because it checks the platform with
``assert`` (gone under ``python -O``), sets no network timeouts and does not compare the issuer with the
configuration URL.
"""

import hashlib
import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_plugin.clock import Clock
from lms_plugin.lti import claims
from lms_plugin.lti.ags import SCOPE_LINEITEM, SCOPE_NRPS, SCOPE_RESULT, SCOPE_SCORE
from lms_plugin.lti.context import UNIT_PARAMETER, WHOLE_MODULE
from lms_plugin.lti.errors import RegistrationRefusedError
from lms_plugin.models import RegistrationLink
from lms_plugin.services.platforms import PlatformRegistration, PlatformService

LINK_PARAMETER = "tb_link"
DEFAULT_LINK_LIFETIME = timedelta(hours=24)
MAX_LINK_LIFETIME = timedelta(days=30)
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
CLOSE_MESSAGE = "org.imsglobal.lti.close"
TIMEOUT = 10.0
TOOL_SCOPES = (SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS)
# Hosted Canvas signs every customer's launches as one of these issuers, while its OpenID configuration is
# served from the customer's own domain (https://<school>.instructure.com/api/lti/security/openid-configuration),
# so the issuer cannot start the configuration URL there (see canvas_configuration_host).
CANVAS_ISSUERS = (
    "https://canvas.instructure.com",
    "https://canvas.beta.instructure.com",
    "https://canvas.test.instructure.com",
)
NEW_LINK = "Ask a Tracebook admin for a new registration link (tracebook platform register-link)."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RegistrationLinks:
    """One-time links that let a platform register by LTI Dynamic Registration."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now

    def create(self, base_url: str, created_by: str, valid_for: timedelta = DEFAULT_LINK_LIFETIME) -> str:
        """A new link (the URL an LMS admin pastes as the tool's registration URL); only its hash is stored."""
        if not timedelta(minutes=1) <= valid_for <= MAX_LINK_LIFETIME:
            raise ValueError("a registration link is valid for one minute to 30 days")
        token = secrets.token_urlsafe(32)
        self.session.add(
            RegistrationLink(
                token_hash=_hash(token), created_by=created_by, created_at=self.now, expires_at=self.now + valid_for
            )
        )
        self.session.flush()
        return f"{base_url}/lti/register?{urlencode({LINK_PARAMETER: token})}"

    def check(self, token: str | None) -> None:
        """Refuse unless the link exists, is unused and has not expired."""
        link = self.session.get(RegistrationLink, _hash(token)) if token else None
        if link is None:
            raise RegistrationRefusedError(
                "This registration URL has no valid Tracebook registration link: Tracebook accepts LTI Dynamic "
                "Registration only through a one-time link made by its admin.",
                NEW_LINK,
                status=403,
            )
        if link.used_at is not None:
            raise RegistrationRefusedError(
                "This registration link was already used; a link registers one platform only.", NEW_LINK, status=403
            )
        if link.expires_at <= self.now:
            raise RegistrationRefusedError("This registration link has expired.", NEW_LINK, status=403)

    def spend(self, token: str, platform_id: int) -> None:
        """Mark the link used, atomically: of two registrations racing with one link, one is stored."""
        spent = self.session.execute(
            update(RegistrationLink)
            .where(
                RegistrationLink.token_hash == _hash(token),
                RegistrationLink.used_at.is_(None),
                RegistrationLink.expires_at > self.now,
            )
            .values(used_at=self.now, platform_id=platform_id)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            self.check(token)  # says why
            raise RegistrationRefusedError("This registration link was already used.", NEW_LINK, status=403)

    def unused(self) -> list[RegistrationLink]:
        return list(
            self.session.scalars(
                select(RegistrationLink)
                .where(RegistrationLink.used_at.is_(None), RegistrationLink.expires_at > self.now)
                .order_by(RegistrationLink.created_at)
            )
        )


@dataclass(frozen=True)
class ToolConfiguration:
    """The tool as it describes itself to platforms, from its base URL."""

    base_url: str
    title: str = "Tracebook"
    description: str = "A course module with lessons, quizzes, AI chat labs and a module test."

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/lti/login"

    @property
    def launch_url(self) -> str:
        return f"{self.base_url}/lti/launch"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/lti/jwks.json"

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    def client_metadata(self, product_family_code: str | None = None) -> dict[str, Any]:
        """The client registration request (LTI-DR §3.5.2, with the LTI tool configuration of §3.5.2.2)."""
        canvas = product_family_code == "canvas"
        messages: list[dict[str, Any]] = [
            {
                "type": claims.RESOURCE_LINK_REQUEST,
                "target_link_uri": self.launch_url,
                "label": self.title,
                "custom_parameters": {UNIT_PARAMETER: WHOLE_MODULE},
                # Canvas names its placements; other platforms offer resource links wherever a link goes.
                **({"placements": ["course_navigation"]} if canvas else {}),
            },
            {
                "type": DEEP_LINKING_REQUEST,
                "target_link_uri": self.launch_url,
                "label": f"Add a {self.title} activity",
                **({"placements": ["link_selection", "assignment_selection"]} if canvas else {}),
            },
        ]
        return {
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": self.login_url,
            "redirect_uris": [self.launch_url],
            "client_name": self.title,
            "jwks_uri": self.jwks_url,
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": " ".join(TOOL_SCOPES),
            TOOL_CONFIGURATION: {
                "domain": self.domain,
                "target_link_uri": self.launch_url,
                "description": self.description,
                "custom_parameters": {UNIT_PARAMETER: WHOLE_MODULE},
                "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
                "messages": messages,
            },
        }

    def canvas_developer_key(self) -> dict[str, Any]:
        """Canvas's JSON configuration for an LTI developer key ("Enter URL" or "Paste JSON"), as documented in
        canvas-lms doc/api/lti_dev_key_config.md, "Anatomy of a JSON configuration"."""

        def placement(name: str, message_type: str, text: str) -> dict[str, Any]:
            return {"placement": name, "message_type": message_type, "target_link_uri": self.launch_url, "text": text}

        return {
            "title": self.title,
            "description": self.description,
            "oidc_initiation_url": self.login_url,
            "target_link_uri": self.launch_url,
            "public_jwk_url": self.jwks_url,
            "scopes": list(TOOL_SCOPES),
            "extensions": [
                {
                    "domain": self.domain,
                    "tool_id": "tracebook",
                    "platform": "canvas.instructure.com",
                    "privacy_level": "public",  # names and emails: the instructor's views need them
                    "settings": {
                        "text": self.title,
                        "placements": [
                            placement("link_selection", DEEP_LINKING_REQUEST, f"Add a {self.title} activity"),
                            placement("assignment_selection", DEEP_LINKING_REQUEST, f"{self.title} assignment"),
                            placement("course_navigation", claims.RESOURCE_LINK_REQUEST, self.title),
                        ],
                    },
                }
            ],
            "custom_fields": {UNIT_PARAMETER: WHOLE_MODULE},
        }


@dataclass(frozen=True)
class PlatformConfiguration:
    """What the tool needs from the platform's OpenID configuration (LTI-DR §3.4)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product_family_code: str | None
    version: str | None


def canvas_configuration_host(issuer: str, configuration_url: str) -> bool:
    """Hosted Canvas: the issuer is https://canvas.instructure.com (or beta/test) for every customer, and the
    configuration comes from the customer's https://<school>.instructure.com; accept exactly that pairing."""
    parts = urlsplit(configuration_url)
    return issuer in CANVAS_ISSUERS and parts.scheme == "https" and (parts.hostname or "").endswith(".instructure.com")


def issuer_matches(issuer: str, configuration_url: str) -> bool:
    """LTI-DR §3.5.1: the issuer starts the configuration URL — at a path boundary, so that the issuer
    ``https://lms.example`` does not vouch for ``https://lms.example.evil.test/…``."""
    issuer = issuer.rstrip("/")
    if configuration_url == issuer or configuration_url.startswith((issuer + "/", issuer + "?")):
        return True
    return canvas_configuration_host(issuer, configuration_url)


def _url(value: Any, *, https_only: bool) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in (("https",) if https_only else ("http", "https")) and bool(parts.netloc)


def platform_configuration(
    data: Mapping[str, Any], configuration_url: str, *, https_only: bool
) -> PlatformConfiguration:
    """Check the platform's OpenID configuration and keep what the tool uses; every problem is named."""
    if not isinstance(data, Mapping):
        raise RegistrationRefusedError("The platform's OpenID configuration is not a JSON object.", status=502)
    names = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
    bad = [name for name in names if not _url(data.get(name), https_only=https_only)]
    if bad:
        kind = "https URL" if https_only else "URL"
        raise RegistrationRefusedError(
            f"The platform's OpenID configuration lacks a valid {kind} for: {', '.join(bad)}.", status=502
        )
    if not issuer_matches(data["issuer"], configuration_url):
        raise RegistrationRefusedError(
            f"The platform's issuer {data['issuer']} does not match the configuration URL {configuration_url} "
            "(LTI Dynamic Registration §3.5.1): the configuration may not be the platform's own.",
            status=502,
        )
    methods = data.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list) and "private_key_jwt" not in methods:
        raise RegistrationRefusedError("The platform does not accept private_key_jwt client assertions.", status=502)
    algorithms = data.get("id_token_signing_alg_values_supported")
    if isinstance(algorithms, list) and "RS256" not in algorithms:
        raise RegistrationRefusedError("The platform does not sign id_tokens with RS256.", status=502)
    lti = data.get(PLATFORM_CONFIGURATION)
    if not isinstance(lti, Mapping):
        raise RegistrationRefusedError(
            f"The OpenID configuration is not an LTI platform's: it has no {PLATFORM_CONFIGURATION}.", status=502
        )
    return PlatformConfiguration(
        issuer=data["issuer"],
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        jwks_uri=data["jwks_uri"],
        registration_endpoint=data["registration_endpoint"],
        product_family_code=str(lti["product_family_code"]) if lti.get("product_family_code") else None,
        version=str(lti["version"]) if lti.get("version") else None,
    )


class RegistrationHttp(Protocol):
    """The two calls Dynamic Registration makes to a platform."""

    def get_json(self, url: str) -> Any: ...

    def post_json(self, url: str, body: dict[str, Any], bearer: str | None) -> Any: ...


class RequestsRegistrationHttp:
    def __init__(self, http: requests.Session | None = None, timeout: float = TIMEOUT) -> None:
        self.http = http or requests.Session()
        self.timeout = timeout

    def _json(self, response: requests.Response, what: str) -> Any:
        if not response.ok:
            raise RegistrationRefusedError(
                f"The platform refused {what} (HTTP {response.status_code}): {response.text[:300]}",
                "Start the registration again from the LMS; a registration token is valid for a short time.",
                status=502,
            )
        try:
            return response.json()
        except ValueError as error:
            raise RegistrationRefusedError(f"The platform's answer to {what} is not JSON.", status=502) from error

    def get_json(self, url: str) -> Any:
        try:
            response = self.http.get(url, headers={"Accept": "application/json"}, timeout=self.timeout)
        except requests.RequestException as error:
            raise RegistrationRefusedError(
                f"The tool could not fetch the platform's OpenID configuration at {url}: {error}",
                "Check that the LMS is reachable from the Tracebook server.",
                status=502,
            ) from error
        return self._json(response, "the OpenID configuration request")

    def post_json(self, url: str, body: dict[str, Any], bearer: str | None) -> Any:
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
        try:
            response = self.http.post(url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            raise RegistrationRefusedError(
                f"The tool could not reach the platform's registration endpoint {url}: {error}", status=502
            ) from error
        return self._json(response, "the tool's registration")


@dataclass(frozen=True)
class RegistrationRequest:
    link: str | None
    openid_configuration: str | None
    registration_token: str | None


@dataclass(frozen=True)
class Registered:
    name: str
    issuer: str
    client_id: str
    deployment_id: str | None
    activate_command: str | None


def _platform_name(platform: PlatformConfiguration, configuration_url: str) -> str:
    family = (platform.product_family_code or "LMS").capitalize()
    return f"{family} at {urlsplit(configuration_url).hostname} (dynamic registration)"


def _registration_result(data: Any) -> tuple[str, str | None]:
    """The client id and deployment id the platform gave (LTI-DR §3.6; the deployment id is optional)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("client_id"), str | int) or not data["client_id"]:
        raise RegistrationRefusedError("The platform's registration response has no client_id.", status=502)
    tool = data.get(TOOL_CONFIGURATION)
    deployment = tool.get("deployment_id") if isinstance(tool, Mapping) else None
    return str(data["client_id"]), str(deployment) if deployment not in (None, "") else None


class DynamicRegistrationService:
    """Runs one registration. The link is checked before the tool makes any request (so nobody without a link
    can make the tool fetch URLs), and spent with the stored platform in the same transaction, after the
    platform answered: no database transaction stays open across the network calls."""

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Session]],
        clock: Clock,
        tool: ToolConfiguration,
        http: RegistrationHttp,
        *,
        https_only: bool,
    ) -> None:
        self.transaction = transaction
        self.clock = clock
        self.tool = tool
        self.http = http
        self.https_only = https_only

    def register(self, request: RegistrationRequest) -> Registered:
        link, url = request.link or "", request.openid_configuration or ""
        with self.transaction() as session:
            RegistrationLinks(session, self.clock.now()).check(link)
        if not _url(url, https_only=self.https_only):
            raise RegistrationRefusedError(
                "The request has no valid openid_configuration URL.",
                "Paste the link into the LMS's dynamic registration page (Moodle: Manage tools → Tool URL; "
                "Canvas: Developer Keys → LTI Registration) rather than opening it in a browser.",
                status=400,
            )
        platform = platform_configuration(self.http.get_json(url), url, https_only=self.https_only)
        answer = self.http.post_json(
            platform.registration_endpoint,
            self.tool.client_metadata(platform.product_family_code),
            request.registration_token,
        )
        client_id, deployment_id = _registration_result(answer)
        name = _platform_name(platform, url)
        with self.transaction() as session:
            now = self.clock.now()
            platforms = PlatformService(session, now)
            row = platforms.add(
                PlatformRegistration(
                    issuer=platform.issuer,
                    client_id=client_id,
                    auth_login_url=platform.authorization_endpoint,
                    auth_token_url=platform.token_endpoint,
                    key_set_url=platform.jwks_uri,
                    name=name,
                ),
                deployment_id=None,
            )
            if deployment_id is not None:
                platforms.set_active(platform.issuer, client_id, deployment_id, active=False)
            RegistrationLinks(session, now).spend(link, row.id)
        command = (
            f"tracebook platform activate --issuer {platform.issuer} --client-id {client_id} "
            f"--deployment-id {deployment_id}"
            if deployment_id
            else None
        )
        return Registered(name, platform.issuer, client_id, deployment_id, command)
