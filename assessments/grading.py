"""Which score a gradebook column shows: the best attempt (the default) or the latest."""

from collections.abc import Sequence
from enum import StrEnum

from assessments.scoring import Score


class ScorePolicy(StrEnum):
    BEST = "best"
    LATEST = "latest"


def policy_score(scores: Sequence[Score], policy: ScorePolicy) -> Score | None:
    """``scores`` in attempt order; None before any attempt was submitted. "Best" compares exactly."""
    if not scores:
        return None
    if policy is ScorePolicy.LATEST:
        return scores[-1]
    return max(scores, key=lambda score: score.ratio)
