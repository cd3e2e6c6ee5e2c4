"""OIDC login initiation (LTI Security Framework §5.1.1): check the platform, issue a state and nonce bound
to this login, and send the browser to the platform's authorization endpoint."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from sqlalchemy.orm import Session

from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.lti.platform_directory import PlatformDirectory, PlatformInfo
from lms_plugin.lti.validation import ADD_PLATFORM
from lms_plugin.models import OidcLogin

STATE_COOKIE_PREFIX = "tb_state_"
LOGIN_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id", "lti_deployment_id")


@dataclass(frozen=True)
class LoginRequest:
    iss: str
    login_hint: str
    target_link_uri: str
    client_id: str | None = None
    lti_message_hint: str | None = None
    lti_deployment_id: str | None = None
    storage_target: str | None = None  # LTI Platform Storage: the frame to post lti.put_data to
    new_window: bool = False  # this login was reopened in a top-level window because cookies were blocked

    def params(self) -> dict[str, str]:
        """The login parameters again, to restart the same login in a new window."""
        values = {name: getattr(self, name) for name in LOGIN_PARAMS}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class LoginStart:
    state: str
    auth_url: str
    platform_origin: str
    storage_target: str | None
    cookie_name: str


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class LoginService:
    def __init__(self, session: Session, directory: PlatformDirectory, base_url: str, now: datetime) -> None:
        self.session = session
        self.directory = directory
        self.base_url = base_url
        self.now = now

    def _platform(self, request: LoginRequest) -> PlatformInfo:
        if request.client_id:
            found = self.directory.find(self.session, request.iss, request.client_id, self.now)
            platforms = [found] if found else []
        else:
            platforms = self.directory.for_issuer(self.session, request.iss)
        if len(platforms) == 1:
            return platforms[0]
        if not platforms:
            who = f"issuer {request.iss}" + (f" with client id {request.client_id}" if request.client_id else "")
            raise LaunchRefusedError(f"Unknown platform: {who} is not registered with this tool.", ADD_PLATFORM, 403)
        raise LaunchRefusedError(
            f"The login names no client id and issuer {request.iss} has several registrations.",
            "Configure the LMS to send client_id in the login request (LTI 1.3 requires it for this case).",
        )

    def start(self, request: LoginRequest) -> LoginStart:
        if not request.iss or not request.login_hint or not request.target_link_uri:
            raise LaunchRefusedError(
                "This is not an LTI 1.3 login: iss, login_hint and target_link_uri are required.",
                "Start the activity from your course in the LMS.",
            )
        if origin_of(request.target_link_uri) != origin_of(self.base_url):
            raise LaunchRefusedError(
                f"The login targets {request.target_link_uri}, which is not this tool ({self.base_url}).",
                "Check the tool's launch URL in the LMS: it must start with " + self.base_url,
            )
        platform = self._platform(request)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.session.add(
            OidcLogin(
                state=state,
                nonce=nonce,
                platform_id=platform.id,
                target_link_uri=request.target_link_uri,
                storage_target=request.storage_target,
                new_window=request.new_window,
                created_at=self.now,
            )
        )
        query = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": platform.client_id,
            "redirect_uri": f"{self.base_url}/lti/launch",
            "login_hint": request.login_hint,
            "state": state,
            "nonce": nonce,
        }
        if request.lti_message_hint:
            query["lti_message_hint"] = request.lti_message_hint
        separator = "&" if "?" in platform.auth_login_url else "?"
        return LoginStart(
            state=state,
            auth_url=f"{platform.auth_login_url}{separator}{urlencode(query)}",
            platform_origin=origin_of(platform.auth_login_url),
            storage_target=request.storage_target,
            cookie_name=STATE_COOKIE_PREFIX + state,
        )
