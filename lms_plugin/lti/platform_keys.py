"""Platform public keys (LTI Security Framework §6.3): fetched from the platform's JWKS URL, shared by every
web process through the database (honouring the response's cache headers), parsed once per process, and
re-fetched once when a token names a key id we have not seen — which is how platforms rotate keys."""

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import jwt
import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.models import Platform

DEFAULT_MAX_AGE = timedelta(hours=1)
LONGEST_MAX_AGE = timedelta(days=1)
# An unknown kid triggers a fetch, but not more often than this, so forged kids cannot hammer the platform.
REFETCH_INTERVAL = timedelta(seconds=5)
FETCH_TIMEOUT = 5.0
CHECK_KEY_SET_URL = "Check the platform's key set URL with: tracebook platform list"


@dataclass(frozen=True)
class FetchedKeySet:
    jwks: dict[str, Any]
    max_age: timedelta


@dataclass(frozen=True)
class StoredKeySet:
    jwks: dict[str, Any]
    fetched_at: datetime
    expires_at: datetime


class KeySetFetcher(Protocol):
    def fetch(self, url: str, now: datetime) -> FetchedKeySet: ...


class KeySetStore(Protocol):
    """Where fetched key sets are shared between processes."""

    def load(self, platform_id: int) -> StoredKeySet | None: ...

    def save(self, platform_id: int, keys: StoredKeySet) -> None: ...


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
                f"The platform's public keys could not be fetched from {url} ({error}).", CHECK_KEY_SET_URL
            ) from error
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise LaunchRefusedError(f"The platform's key set at {url} is not a JSON Web Key Set.", CHECK_KEY_SET_URL)
        return FetchedKeySet(jwks=jwks, max_age=_max_age(response.headers, now))


class DatabaseKeySetStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def load(self, platform_id: int) -> StoredKeySet | None:
        row = self.session.execute(
            select(Platform.jwks, Platform.jwks_fetched_at, Platform.jwks_expires_at).where(Platform.id == platform_id)
        ).one_or_none()
        if row is None or row.jwks is None or row.jwks_fetched_at is None or row.jwks_expires_at is None:
            return None
        return StoredKeySet(row.jwks, row.jwks_fetched_at, row.jwks_expires_at)

    def save(self, platform_id: int, keys: StoredKeySet) -> None:
        self.session.execute(
            update(Platform)
            .where(Platform.id == platform_id)
            .values(jwks=keys.jwks, jwks_fetched_at=keys.fetched_at, jwks_expires_at=keys.expires_at)
        )


@dataclass(frozen=True)
class _Parsed:
    fetched_at: datetime
    expires_at: datetime
    keys: dict[str, jwt.PyJWK]


def _parse(stored: StoredKeySet) -> _Parsed:
    keys = {}
    for jwk in stored.jwks.get("keys", []):
        try:
            keys[str(jwk["kid"])] = jwt.PyJWK(jwk)
        except (KeyError, TypeError, jwt.PyJWKError):
            continue  # a key we cannot use is skipped, not fatal
    return _Parsed(stored.fetched_at, stored.expires_at, keys)


class PlatformKeys:
    """Finds the public key for a token's kid. One instance per process; thread-safe."""

    def __init__(self, fetcher: KeySetFetcher) -> None:
        self.fetcher = fetcher
        self._parsed: dict[int, _Parsed] = {}
        self._lock = threading.Lock()

    def _remember(self, platform_id: int, stored: StoredKeySet) -> _Parsed:
        parsed = _parse(stored)
        with self._lock:
            self._parsed[platform_id] = parsed
        return parsed

    def key_for(self, platform_id: int, key_set_url: str, kid: str, now: datetime, store: KeySetStore) -> jwt.PyJWK:
        with self._lock:
            parsed = self._parsed.get(platform_id)
        if parsed is not None and parsed.expires_at > now and kid in parsed.keys:
            return parsed.keys[kid]
        stored = store.load(platform_id)  # another process may have fetched newer keys
        if stored is not None and (parsed is None or stored.fetched_at > parsed.fetched_at):
            parsed = self._remember(platform_id, stored)
        fresh = parsed is not None and parsed.expires_at > now
        if parsed is not None and fresh and kid in parsed.keys:
            return parsed.keys[kid]
        if parsed is None or not fresh or now - parsed.fetched_at >= REFETCH_INTERVAL:
            fetched = self.fetcher.fetch(key_set_url, now)
            stored = StoredKeySet(fetched.jwks, now, now + fetched.max_age)
            store.save(platform_id, stored)
            parsed = self._remember(platform_id, stored)
        if kid not in parsed.keys:
            raise LaunchRefusedError(
                f"The token was signed with key '{kid}', which is not in the platform's key set.",
                "If the platform rotated its keys, launch again in a few seconds; otherwise check the "
                "platform's key set URL (tracebook platform list).",
            )
        return parsed.keys[kid]
