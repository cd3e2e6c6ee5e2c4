"""The price table: cost is tokens × price per million, exact; an unknown model has no cost; the tutor is free."""

import re
from decimal import Decimal

import pytest

from labs.pricing import DEFAULT_PRICES, Price, PriceTable


def test_cost_is_tokens_times_the_price_per_million() -> None:
    table = PriceTable()
    assert table.cost("openai", "gpt-4o", 1_200, 300) == Decimal("0.006")  # 1200 × 2.50 + 300 × 10.00, per 1M
    assert table.cost("anthropic", "claude-sonnet-4-5", 1_000_000, 1_000_000) == Decimal("18.00")


def test_a_dated_snapshot_costs_what_its_model_costs() -> None:
    table = PriceTable()
    assert table.price("openai", "gpt-4o-2024-08-06") == table.price("openai", "gpt-4o")
    assert table.price("openai", "gpt-4o-mini-2024-07-18") == table.price("openai", "gpt-4o-mini")
    assert table.price("anthropic", "claude-sonnet-4-20250514") == table.price("anthropic", "claude-sonnet-4")


def test_an_unknown_model_or_provider_has_no_cost() -> None:
    table = PriceTable()
    assert table.cost("openai", "gpt-imaginary", 100, 100) is None
    assert table.cost("ollama", "llama3.1", 100, 100) is None
    assert table.cost("azure.ai.openai", "gpt-4o", 100, 100) is None  # priced by provider: Azure bills differently


def test_the_offline_tutor_costs_nothing() -> None:
    assert PriceTable().cost("tracebook", "scenario-tutor", 5_000, 5_000) == 0


def test_a_setting_overrides_and_extends_the_defaults() -> None:
    table = PriceTable.from_json(
        '{"openai": {"gpt-4o": {"input": "2.00", "output": 8}}, "ollama": {"llama3.1": {"input": 0, "output": 0}}}'
    )
    assert table.price("openai", "gpt-4o") == Price(Decimal("2.00"), Decimal(8))
    assert table.cost("ollama", "llama3.1", 1_000, 1_000) == 0
    assert table.price("openai", "gpt-4o-mini") == DEFAULT_PRICES[("openai", "gpt-4o-mini")]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"openai": 3}', "must map model names to prices"),
        ('{"openai": {"gpt-4o": {"input": 1}}}', 'must be {"input": …, "output": …}'),
        ('{"openai": {"gpt-4o": {"input": "cheap", "output": 1}}}', "must be two numbers"),
        ('{"openai": {"gpt-4o": {"input": -1, "output": 1}}}', "non-negative"),
    ],
)
def test_a_bad_price_setting_says_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        PriceTable.from_json(text)
