"""The platform key cache: cache headers honoured, re-fetched once on an unknown kid, never in a storm."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.lti.keys import new_rsa_key
from lms_plugin.lti.platform_keys import FetchedKeySet, PlatformKeys, StoredKeySet, _max_age

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class FakeKeySetFetcher:
    def __init__(self, max_age: timedelta = timedelta(hours=1)) -> None:
        self.kids = ["k1"]
        self.jwks = {kid: {**new_rsa_key()[1], "kid": kid} for kid in ("k1", "k2")}
        self.max_age = max_age
        self.calls = 0

    def fetch(self, url: str, now: datetime) -> FetchedKeySet:
        self.calls += 1
        return FetchedKeySet({"keys": [self.jwks[k] for k in self.kids]}, self.max_age)


class InMemoryKeySetStore:
    """The database's role: key sets shared by every process."""

    def __init__(self) -> None:
        self.saved: dict[int, StoredKeySet] = {}

    def load(self, platform_id: int) -> StoredKeySet | None:
        return self.saved.get(platform_id)

    def save(self, platform_id: int, keys: StoredKeySet) -> None:
        self.saved[platform_id] = keys


URL = "https://lms.example/jwks"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "public, max-age=600"}, timedelta(seconds=600)),
        ({"Cache-Control": "max-age=999999999"}, timedelta(days=1)),
        ({"Cache-Control": "no-store"}, timedelta(0)),
        ({"Expires": "Sat, 28 Nov 2026 09:05:00 GMT"}, timedelta(minutes=5)),
        ({}, timedelta(hours=1)),
    ],
)
def test_cache_headers_set_how_long_keys_are_kept(headers: dict[str, Any], expected: timedelta) -> None:
    assert _max_age(headers, T0) == expected


def test_keys_are_fetched_once_while_fresh_and_again_when_expired() -> None:
    fetcher, store = FakeKeySetFetcher(max_age=timedelta(minutes=10)), InMemoryKeySetStore()
    keys = PlatformKeys(fetcher)
    for minute in range(10):
        keys.key_for(1, URL, "k1", T0 + timedelta(minutes=minute), store)
    assert fetcher.calls == 1
    keys.key_for(1, URL, "k1", T0 + timedelta(minutes=10, seconds=1), store)
    assert fetcher.calls == 2


def test_another_process_uses_the_shared_key_set_instead_of_fetching() -> None:
    fetcher, store = FakeKeySetFetcher(), InMemoryKeySetStore()
    PlatformKeys(fetcher).key_for(1, URL, "k1", T0, store)
    PlatformKeys(fetcher).key_for(1, URL, "k1", T0 + timedelta(seconds=1), store)  # a second web process
    assert fetcher.calls == 1


def test_an_unknown_kid_fetches_once_more_then_refuses() -> None:
    fetcher, store = FakeKeySetFetcher(), InMemoryKeySetStore()
    keys = PlatformKeys(fetcher)
    keys.key_for(1, URL, "k1", T0, store)
    fetcher.kids = ["k2"]  # the platform rotated

    assert keys.key_for(1, URL, "k2", T0 + timedelta(seconds=30), store).key_id == "k2"
    assert fetcher.calls == 2
    with pytest.raises(LaunchRefusedError, match="'k9', which is not in the platform's key set"):
        keys.key_for(1, URL, "k9", T0 + timedelta(seconds=31), store)
    assert fetcher.calls == 2  # fetched a second ago: no new fetch for a made-up kid
