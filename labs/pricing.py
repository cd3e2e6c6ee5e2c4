"""What a model call cost, from a price table keyed by (provider, model) in USD per million tokens.

The GenAI semantic conventions define no cost attribute, so the cost goes in our own namespace
(``tracebook.gen_ai.cost``, see ``labs.tracing``). A model missing from the table has no known cost — the span
then carries no cost attribute rather than a wrong one; the offline tutor costs nothing. Prices change: the
defaults are a dated snapshot, and a deployment overrides or extends them with ``PriceTable.from_json``.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MILLION = Decimal(1_000_000)

# Provider snapshots carry a date suffix ("gpt-4o-2024-08-06", "claude-sonnet-4-20250514"); they cost what the
# model they pin costs.
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


@dataclass(frozen=True)
class Price:
    """USD per one million tokens."""

    input_per_million: Decimal
    output_per_million: Decimal

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / MILLION


def _p(input_per_million: str, output_per_million: str) -> Price:
    return Price(Decimal(input_per_million), Decimal(output_per_million))


# List prices for standard (non-batch, uncached) tokens as published by OpenAI and Anthropic, as of 2025-10-15.
DEFAULT_PRICES: Mapping[tuple[str, str], Price] = {
    ("openai", "gpt-4o"): _p("2.50", "10.00"),
    ("openai", "gpt-4o-mini"): _p("0.15", "0.60"),
    ("openai", "gpt-4.1"): _p("2.00", "8.00"),
    ("openai", "gpt-4.1-mini"): _p("0.40", "1.60"),
    ("openai", "gpt-4.1-nano"): _p("0.10", "0.40"),
    ("openai", "gpt-5"): _p("1.25", "10.00"),
    ("openai", "gpt-5-mini"): _p("0.25", "2.00"),
    ("openai", "gpt-5-nano"): _p("0.05", "0.40"),
    ("openai", "o3"): _p("2.00", "8.00"),
    ("openai", "o4-mini"): _p("1.10", "4.40"),
    ("anthropic", "claude-opus-4-1"): _p("15.00", "75.00"),
    ("anthropic", "claude-opus-4"): _p("15.00", "75.00"),
    ("anthropic", "claude-sonnet-4-5"): _p("3.00", "15.00"),
    ("anthropic", "claude-sonnet-4"): _p("3.00", "15.00"),
    ("anthropic", "claude-haiku-4-5"): _p("1.00", "5.00"),
    ("anthropic", "claude-3-5-haiku"): _p("0.80", "4.00"),
    # The offline scenario tutor (labs.tutor): no provider, no bill.
    ("tracebook", "scenario-tutor"): _p("0", "0"),
}


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[tuple[str, str], Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def price(self, provider: str, model: str) -> Price | None:
        """The price of ``model`` at ``provider``; a dated snapshot costs what its model costs."""
        exact = self.prices.get((provider, model))
        if exact is not None:
            return exact
        return self.prices.get((provider, _SNAPSHOT_SUFFIX.sub("", model)))

    def cost(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> Decimal | None:
        """USD for one call, or None when the model's price is not known."""
        price = self.price(provider, model)
        return None if price is None else price.cost(input_tokens, output_tokens)

    @classmethod
    def from_json(cls, text: str) -> "PriceTable":
        """The defaults, overridden and extended by a setting such as
        ``{"openai": {"gpt-4o": {"input": "2.50", "output": "10.00"}}, "ollama": {"llama3.1": {"input": 0, ...}}}``
        (USD per million tokens; strings keep decimal prices exact)."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"The price table is not valid JSON: {error}") from error
        if not isinstance(document, dict):
            raise ValueError('The price table must be a JSON object: {"provider": {"model": {"input": …, ...}}}.')
        prices = dict(DEFAULT_PRICES)
        for provider, models in document.items():
            if not isinstance(models, dict):
                raise ValueError(f"The price table's entry for provider {provider!r} must map model names to prices.")
            for model, entry in models.items():
                prices[(provider, model)] = _parse_price(provider, model, entry)
        return cls(prices)


def _parse_price(provider: str, model: str, entry: object) -> Price:
    where = f"the price of {provider}/{model}"
    if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
        raise ValueError(f'{where} must be {{"input": …, "output": …}} in USD per million tokens.')
    try:
        input_price, output_price = (Decimal(str(entry[key])) for key in ("input", "output"))
    except InvalidOperation as error:
        raise ValueError(f"{where} must be two numbers, got {entry!r}.") from error
    if not (input_price.is_finite() and output_price.is_finite()) or input_price < 0 or output_price < 0:
        raise ValueError(f"{where} must be two non-negative numbers, got {entry!r}.")
    return Price(input_price, output_price)
