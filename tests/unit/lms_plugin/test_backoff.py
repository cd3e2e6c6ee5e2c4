"""Backoff grows exponentially, is capped, and is jittered."""

import random
from datetime import timedelta

from lms_plugin.outbox.backoff import Backoff


def test_delays_double_up_to_the_cap_with_jitter() -> None:
    backoff, rng = Backoff(base=timedelta(seconds=2), cap=timedelta(minutes=1)), random.Random(7)
    for attempts, ceiling in ((1, 2), (2, 4), (3, 8), (6, 60), (40, 60)):
        delays = {backoff.delay(attempts, rng).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempts, delays)
        assert len(delays) > 1  # jittered, so failed deliveries do not retry in lockstep
