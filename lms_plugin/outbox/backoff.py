"""Exponential backoff with full jitter, so many failed deliveries do not retry in lockstep."""

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait before the next try, after ``attempts`` failed ones (1 for the first failure)."""
        ceiling = min(self.cap, self.base * (2 ** min(attempts - 1, 30)))
        return timedelta(seconds=rng.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))
