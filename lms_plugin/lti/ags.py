"""Calls to a platform's LTI Advantage services (AGS 2.0, NRPS 2.0) with OAuth 2 client-credentials tokens
obtained by a signed JWT client assertion (LTI Security Framework §4.1).

Tokens are cached per issuer + client id + token URL until they expire; a 401 refreshes the token
once and retries once. pylti1p3's ServiceConnector keeps tokens per launch object only, and our calls come
from the outbox worker, long after the launch.
"""

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
import requests
from opentelemetry.propagate import inject

from lms_plugin.clock import Clock
from lms_plugin.lti.keys import SigningKey, private_key
from lms_plugin.lti.platform_directory import PlatformInfo

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEMBERSHIPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
TIMEOUT = 10.0
ASSERTION_LIFETIME = timedelta(minutes=5)
# One token per platform asks for every scope the tool uses; a platform grants the ones it allows.
TOOL_SCOPES = " ".join(sorted((SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_RESULT, SCOPE_NRPS)))


class ServiceCallError(Exception):
    """A service call that did not succeed: the HTTP status (0 for a network error), the platform's reason,
    and its Retry-After when it gave one."""

    def __init__(self, status: int, reason: str, retry_after: timedelta | None = None) -> None:
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(f"{status}: {reason}")


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


def retry_after(response: requests.Response) -> timedelta | None:
    value = response.headers.get("Retry-After", "")
    return timedelta(seconds=int(value)) if value.isdigit() else None


class ServiceClient:
    def __init__(self, http: requests.Session, signing_key: Callable[[], SigningKey], clock: Clock) -> None:
        self.http = http
        self.signing_key = signing_key
        self.clock = clock
        self._tokens: dict[tuple[str, str, str], _Token] = {}
        self._lock = threading.Lock()
        self.token_requests = 0  # how many tokens were fetched: the 401-refresh rule is measured on it

    def _fetch_token(self, platform: PlatformInfo) -> _Token:
        now = self.clock.now()
        key = self.signing_key()
        assertion = jwt.encode(
            {
                "iss": platform.client_id,
                "sub": platform.client_id,
                "aud": platform.auth_token_url,
                "iat": int(now.timestamp()),
                "exp": int((now + ASSERTION_LIFETIME).timestamp()),
                "jti": str(uuid.uuid4()),
            },
            private_key(key.private_pem),
            algorithm="RS256",
            headers={"kid": key.kid},
        )
        self.token_requests += 1
        try:
            response = self.http.post(
                platform.auth_token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": assertion,
                    "scope": TOOL_SCOPES,
                },
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            raise ServiceCallError(0, f"token request failed: {error}") from error
        if response.status_code != 200:
            raise ServiceCallError(response.status_code, f"token refused: {response.text[:300]}", retry_after(response))
        body = response.json()
        lifetime = timedelta(seconds=int(body.get("expires_in", 3600)))
        # Renew a little early so a token never expires in flight.
        return _Token(str(body["access_token"]), now + lifetime - timedelta(seconds=30))

    def _token(self, platform: PlatformInfo, *, refresh: bool) -> str:
        cache_key = (platform.issuer, platform.client_id, platform.auth_token_url)
        with self._lock:
            cached = self._tokens.get(cache_key)
        if cached is not None and not refresh and cached.expires_at > self.clock.now():
            return cached.value
        token = self._fetch_token(platform)
        with self._lock:
            self._tokens[cache_key] = token
        return token.value

    def call(
        self,
        platform: PlatformInfo,
        method: str,
        url: str,
        *,
        body: dict[str, Any] | None = None,
        content_type: str | None = None,
        accept: str | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        for refresh in (False, True):
            headers = {"Authorization": f"Bearer {self._token(platform, refresh=refresh)}"}
            if content_type:
                headers["Content-Type"] = content_type
            if accept:
                headers["Accept"] = accept
            inject(headers)  # traceparent: the platform's logs can be joined to our delivery span
            try:
                response = self.http.request(method, url, json=body, headers=headers, params=params, timeout=TIMEOUT)
            except requests.RequestException as error:
                raise ServiceCallError(0, f"{method} {url} failed: {error}") from error
            if response.status_code != 401:
                break
        if response.status_code >= 400:
            raise ServiceCallError(response.status_code, response.text[:500] or response.reason, retry_after(response))
        return response
