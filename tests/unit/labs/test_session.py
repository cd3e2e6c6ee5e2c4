"""Lab sessions: completion as the seed states it, recorded once; limits refuse without changing anything."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from content import Module
from labs.errors import EmptyMessageError, MessageTooLongError, RateLimitError, TokenBudgetError
from labs.session import Exchange, LabSession, Limits, check_message, open_session, progress, record_exchange

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _exchange(session: LabSession, minutes: int = 0, **fields: object) -> Exchange:
    return Exchange(
        number=len(session.exchanges) + 1,
        learner_message="The redis_get span takes 408 ms before the LLM call.",
        assistant_reply="Right: the cache is the bottleneck.",
        at=T0 + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )


def test_lab_1_completes_on_the_third_different_scenario_not_the_third_message(module: Module) -> None:
    lab = module.lab("lab-1")
    assert lab is not None
    session = open_session(lab, "a1", T0)
    for minute, scenario in enumerate(["slow-cache", "slow-cache", "slow-cache", None, "truncation"]):
        session, done = record_exchange(session, lab, _exchange(session, minute, scenario_id=scenario))
        assert not done
    assert progress(session, lab) == 2
    session, done = record_exchange(session, lab, _exchange(session, 9, scenario_id="retry-storm"))
    assert done
    assert session.completed_at == T0 + timedelta(minutes=9)
    session, again = record_exchange(session, lab, _exchange(session, 10, scenario_id="missing-usage"))
    assert not again  # recorded once
    assert session.completed_at == T0 + timedelta(minutes=9)


@pytest.mark.parametrize("lab_id", ["lab-2", "lab-3", "lab-4"])
def test_labs_2_to_4_complete_after_three_exchanges(module: Module, lab_id: str) -> None:
    lab = module.lab(lab_id)
    assert lab is not None
    session = open_session(lab, "a1", T0)
    results = []
    for minute in range(4):
        session, done = record_exchange(session, lab, _exchange(session, minute))
        results.append(done)
    assert results == [False, False, True, False]


def test_refused_messages_say_why(module: Module) -> None:
    lab = module.lab("lab-2")
    assert lab is not None
    limits = Limits(max_message_chars=50, exchanges_per_hour=2, tokens_per_lab=100)
    session = open_session(lab, "a1", T0)
    before = dataclasses.asdict(session)
    with pytest.raises(EmptyMessageError):
        check_message(session, "   ", T0, limits)
    with pytest.raises(MessageTooLongError, match="51 characters; the lab takes at most 50"):
        check_message(session, "x" * 51, T0, limits)
    assert dataclasses.asdict(session) == before
    assert check_message(session, "  How should I sample?  ", T0, limits) == "How should I sample?"

    for minute in (0, 10):
        session, _ = record_exchange(session, lab, _exchange(session, minute, input_tokens=20, output_tokens=20))
    with pytest.raises(RateLimitError, match="Try again in 50 minute"):
        check_message(session, "another", T0 + timedelta(minutes=10), limits)
    assert check_message(session, "an hour later", T0 + timedelta(minutes=61), limits) == "an hour later"
    session, _ = record_exchange(session, lab, _exchange(session, 70, input_tokens=10, output_tokens=20))
    with pytest.raises(TokenBudgetError, match="used 110 of its 100 tokens"):
        check_message(session, "more", T0 + timedelta(hours=3), limits)


def test_exchanges_are_numbered_in_order(module: Module) -> None:
    lab = module.lab("lab-3")
    assert lab is not None
    session = open_session(lab, "a1", T0)
    with pytest.raises(ValueError, match="exchange 2 does not follow exchange 0"):
        record_exchange(session, lab, dataclasses.replace(_exchange(session), number=2))
