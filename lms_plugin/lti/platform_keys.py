"""Platform public keys (LTI Security Framework §6.3): fetched from the platform's JWKS URL, cached in the
database for every web process (honouring the response's cache headers), parsed once per process, and
re-fetched once when a token names a key id we have not seen — which is how platforms rotate keys."""

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import jwt
import requests

from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.models import Platform

DEFAULT_MAX_AGE = timedelta(hours=1)
LONGEST_MAX_AGE = timedelta(days=1)
# An unknown kid triggers a fetch, but not more often than this, so forged kids cannot hammer the platform.
REFETCH_INTERVAL = timedelta(seconds=5)
FETCH_TIMEOUT = 5.0


@dataclass(frozen=True)
class FetchedKeySet:
    jwks: dict[str, Any]
    max_age: timedelta


class KeySetFetcher(Protocol):
    def fetch(self, url: str, now: datetime) -> FetchedKeySet: ...


def _max_age(headers: Any, now: datetime) -> timedelta:
    cache_control = headers.get("Cache-Control", "")
    if re.search(r"\b(no-store|no-cache)\b", cache_control):
        return timedelta(0)
    match = re.search(r"\bmax-age=(\d+)", cache_control)
    if match:
        return min(timedelta(seconds=int(match.group(1))), LONGEST_MAX_AGE)
    expires = headers.get("Expires")
    if expires:
        try:
            return min(max(parsedate_to_datetime(expires) - now, timedelta(0)), LONGEST_MAX_AGE)
        except (TypeError, ValueError):
            return timedelta(0)
    return DEFAULT_MAX_AGE


class HttpKeySetFetcher:
    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session or requests.Session()

    def fetch(self, url: str, now: datetime) -> FetchedKeySet:
        try:
            response = self.session.get(url, timeout=FETCH_TIMEOUT)
            response.raise_for_status()
            jwks = response.json()
        except (requests.RequestException, ValueError) as error:
            raise LaunchRefusedError(
                f"The platform's public keys could not be fetched from {url} ({error}).",
                "Check the platform's key set URL with: tracebook platform list",
            ) from error
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise LaunchRefusedError(
                f"The platform's key set at {url} is not a JSON Web Key Set.",
                "Check the platform's key set URL with: tracebook platform list",
            )
        return FetchedKeySet(jwks=jwks, max_age=_max_age(response.headers, now))


class PlatformKeys:
    """Finds the public key for a token's kid. One instance per process; thread-safe."""

    def __init__(self, fetcher: KeySetFetcher) -> None:
        self.fetcher = fetcher
        self._parsed: dict[tuple[int, datetime | None], dict[str, jwt.PyJWK]] = {}
        self._lock = threading.Lock()

    def _keys(self, platform: Platform) -> dict[str, jwt.PyJWK]:
        cache_key = (platform.id, platform.jwks_fetched_at)
        with self._lock:
            parsed = self._parsed.get(cache_key)
            if parsed is None:
                parsed = {}
                for jwk in (platform.jwks or {}).get("keys", []):
                    try:
                        parsed[str(jwk["kid"])] = jwt.PyJWK(jwk)
                    except (KeyError, jwt.PyJWKError):
                        continue  # a key we cannot use is skipped, not fatal
                self._parsed = {k: v for k, v in self._parsed.items() if k[0] != platform.id}
                self._parsed[cache_key] = parsed
            return parsed

    def _refresh(self, platform: Platform, now: datetime) -> None:
        fetched = self.fetcher.fetch(platform.key_set_url, now)
        platform.jwks = fetched.jwks
        platform.jwks_fetched_at = now
        platform.jwks_expires_at = now + fetched.max_age

    def key_for(self, platform: Platform, kid: str, now: datetime) -> jwt.PyJWK:
        """The key, fetching the key set when it is missing, expired, or lacks this kid. Updates ``platform``."""
        # Decided on the timestamps alone: reading ``jwks`` itself would load the deferred column every time.
        fresh = platform.jwks_expires_at is not None and platform.jwks_expires_at > now
        if not fresh:
            self._refresh(platform, now)
        key = self._keys(platform).get(kid)
        recently = platform.jwks_fetched_at is not None and now - platform.jwks_fetched_at < REFETCH_INTERVAL
        if key is None and fresh and not recently:
            self._refresh(platform, now)
            key = self._keys(platform).get(kid)
        if key is None:
            raise LaunchRefusedError(
                f"The token was signed with key '{kid}', which is not in the platform's key set.",
                "If the platform rotated its keys, launch again in a few seconds; otherwise check the "
                "platform's key set URL (tracebook platform list).",
            )
        return key
