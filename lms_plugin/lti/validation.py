"""id_token validation for resource-link launches (LTI Core 1.3 §5.1, Security Framework §5.1.3) and
deep-linking requests (LTI Deep Linking 2.0 §4.4), which pass the same checks.

Built on pylti1p3's MessageLaunch (token decoding, registration lookup, message validators) with what it
lacks: clock leeway on ``iat``/``exp``, ``aud``/``azp`` checks, cached platform keys with a re-fetch on key
rotation, and a state and nonce bound to one login and consumed by its launch. pylti1p3 keeps state in a
cookie-backed session; LMS iframes often block third-party cookies, so ours lives in ``oidc_logins``.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jwt
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch

from lms_plugin.lti import claims
from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.lti.platform_directory import PlatformInfo
from lms_plugin.lti.platform_keys import DatabaseKeySetStore, PlatformKeys
from lms_plugin.lti.tool_config import DatabaseToolConf
from lms_plugin.models import OidcLogin

ADD_PLATFORM = (
    "An admin registers it with: tracebook platform add --issuer ISS --client-id ID --auth-login-url URL "
    "--auth-token-url URL --key-set-url URL --deployment-id DEP"
)
ASK_PLATFORM = "Ask your LMS administrator to check the tool's configuration; the platform sent an invalid launch."
RELAUNCH = "Open the activity again from your course."


class _Params:
    """The launch's form fields, as pylti1p3's request interface."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params

    def get_param(self, key: str) -> str | None:
        return self.params.get(key)

    def is_secure(self) -> bool:
        return True


class _NotUsed:
    """pylti1p3 insists on session and cookie services; state and nonce are ours (see the module docstring)."""


def _missing(claim: str, advice: str = ASK_PLATFORM) -> LaunchRefusedError:
    return LaunchRefusedError(f"The launch is missing the required '{claim}' claim.", advice)


class ToolMessageLaunch(MessageLaunch):  # type: ignore[misc]
    def __init__(self, params: Mapping[str, str], tool_conf: DatabaseToolConf, keys: PlatformKeys) -> None:
        super().__init__(_Params(params), tool_conf, session_service=_NotUsed(), cookie_service=_NotUsed())
        self.set_auto_validation(enable=False)  # verify() runs the steps, in our order
        self.tool_conf = tool_conf
        self.keys = keys

    def _get_request_param(self, key: str) -> str | None:
        return self._request.get_param(key)  # type: ignore[no-any-return]

    def _unverified(self) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        try:
            self.validate_jwt_format()
        except LtiException as error:
            raise LaunchRefusedError(f"The id_token is not a valid JWT: {error}", ASK_PLATFORM) from error
        return self._jwt["header"], self._jwt["body"]

    def _platform(self, body: Mapping[str, Any]) -> tuple[PlatformInfo, str]:
        if not body.get("iss"):
            raise _missing("iss")
        audience = body.get("aud")
        if not audience:
            raise _missing("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        azp = body.get("azp")
        if len(audiences) > 1 and not azp:
            raise _missing("azp", "A token for several audiences must name the tool in 'azp'. " + ASK_PLATFORM)
        client_id = str(azp or audiences[0])
        if client_id not in audiences:
            raise LaunchRefusedError(f"The token's 'azp' ({azp}) is not one of its audiences.", ASK_PLATFORM)
        try:
            self.validate_registration()
        except LtiException:
            self._registration = None
        platform = self.tool_conf.platform
        if self._registration is None or platform is None or platform.client_id != client_id:
            ours = [a for a in audiences if a != client_id and self.tool_conf.find_platform(body["iss"], str(a))]
            if ours:
                raise LaunchRefusedError(
                    f"The token was issued to another client ('azp' is {azp}), not to this tool ({ours[0]}).",
                    ASK_PLATFORM,
                    status=403,
                )
            raise LaunchRefusedError(
                f"Unknown platform: issuer {body['iss']} with client id {client_id} is not registered with this tool.",
                ADD_PLATFORM,
                status=403,
            )
        return platform, client_id

    def _verify_signature(self, platform: PlatformInfo, client_id: str, now: datetime) -> dict[str, Any]:
        header, _ = self._unverified()
        kid = header.get("kid")
        if not kid:
            raise LaunchRefusedError("The token's header names no key ('kid').", ASK_PLATFORM)
        store = DatabaseKeySetStore(self.tool_conf.session)
        key = self.keys.key_for(platform.id, platform.key_set_url, str(kid), now, store)
        try:
            return dict(
                jwt.decode(
                    self._get_id_token(),
                    key=key.key,
                    algorithms=["RS256", "RS384", "RS512"],
                    audience=client_id,
                    issuer=platform.issuer,
                    # PyJWT compares times with the wall clock; ours is injectable, so verify() checks them.
                    options={"require": ["exp", "iat"], "verify_exp": False, "verify_iat": False},
                )
            )
        except jwt.InvalidSignatureError as error:
            raise LaunchRefusedError(
                "The token's signature does not match the platform's key.", ASK_PLATFORM
            ) from error
        except jwt.MissingRequiredClaimError as error:
            raise _missing(error.claim) from error
        except jwt.InvalidTokenError as error:
            raise LaunchRefusedError(f"The token is invalid: {error}.", ASK_PLATFORM) from error

    def verify(self, login: OidcLogin, now: datetime, leeway: int) -> tuple[PlatformInfo, str, dict[str, Any]]:
        """Verify the launch against the login that issued its state; return the platform, client id and claims."""
        _, body = self._unverified()
        platform, client_id = self._platform(body)
        if platform.id != login.platform_id:
            raise LaunchRefusedError("The launch comes from another platform than the login it answers.", RELAUNCH)
        payload = self._verify_signature(platform, client_id, now)
        instant = now.timestamp()
        if payload["exp"] < instant - leeway:
            raise LaunchRefusedError(
                "The launch has expired (its 'exp' has passed).", "Check the LMS server's clock. " + RELAUNCH
            )
        if payload["iat"] > instant + leeway:
            raise LaunchRefusedError(
                f"The launch was issued in the future ('iat' more than {leeway} s ahead of our clock).",
                "Check the LMS server's clock.",
            )
        if payload.get("nonce") != login.nonce:
            raise LaunchRefusedError("The launch's nonce is not the one this login issued.", RELAUNCH)
        _check_lti_claims(payload)
        self.set_jwt({"header": self._jwt["header"], "body": payload})
        try:
            self.validate_message()
        except LtiException as error:
            raise LaunchRefusedError(f"The launch message is invalid: {error}", ASK_PLATFORM) from error
        return platform, client_id, payload


def _check_lti_claims(payload: Mapping[str, Any]) -> None:
    if not any(key.startswith(claims.LTI) for key in payload):
        raise LaunchRefusedError("The token is not an LTI message: it carries no LTI claims.", ASK_PLATFORM)
    version = payload.get(claims.VERSION)
    if version is None:
        raise _missing(claims.VERSION)
    if version != claims.LTI_VERSION:
        raise LaunchRefusedError(f"Unsupported LTI version '{version}': this tool speaks LTI 1.3.0.", ASK_PLATFORM)
    message_type = payload.get(claims.MESSAGE_TYPE)
    if not message_type:
        raise _missing(claims.MESSAGE_TYPE)
    if message_type not in (claims.RESOURCE_LINK_REQUEST, claims.DEEP_LINKING_REQUEST):
        raise LaunchRefusedError(f"Unsupported message type '{message_type}'.", ASK_PLATFORM)
    if not payload.get("sub"):
        raise _missing("sub")
    if not payload.get(claims.DEPLOYMENT_ID):
        raise _missing(claims.DEPLOYMENT_ID)
    # A deep-linking request creates links, so it has none yet; its settings are read in lti/deep_linking.py.
    link = payload.get(claims.RESOURCE_LINK)
    if message_type == claims.RESOURCE_LINK_REQUEST and (not isinstance(link, Mapping) or not link.get("id")):
        raise _missing(claims.RESOURCE_LINK)
    if not isinstance(payload.get(claims.ROLES), list):
        raise _missing(claims.ROLES)
