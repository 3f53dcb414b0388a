"""Markup rules, currency conversion and money rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelsync.reconcile.pricing import (
    MarkupRule,
    MarkupRules,
    MissingCurrencyRate,
    conversion_rates,
    round_money,
    unit_prices,
)


def test_round_money_is_half_up_despite_binary_error() -> None:
    assert round_money(np.array([1.005, 2.675, 0.125, -1.005, 10.0])).tolist() == [1.01, 2.68, 0.13, -1.01, 10.0]
    assert round_money(np.array([1.2345]), decimals=3).tolist() == [1.235]


def test_conversion_rates_target_is_one_and_unknown_raises() -> None:
    rates = conversion_rates(pd.Series(["usd", " EUR", None], dtype="string"), "USD", {"EUR": 1.1})
    assert rates.tolist() == [1.0, 1.1, 1.0]
    with pytest.raises(MissingCurrencyRate, match="JPY"):
        conversion_rates(pd.Series(["JPY"], dtype="string"), "USD", {"EUR": 1.1})


def test_markup_per_category_basis_and_fallback() -> None:
    rules = MarkupRules(
        default=MarkupRule(percent=20.0),
        by_category={"SW": MarkupRule(percent=-10.0, basis="msrp", fallback_percent=5.0), "NB": MarkupRule(12.5)},
    )
    cost = np.array([100.0, 100.0, 100.0, 100.0, 100.0])
    msrp = np.array([150.0, 150.0, np.nan, 150.0, 150.0])
    codes = pd.Series(["XX", "SW", "SW", "NB", None], dtype="string")
    assert unit_prices(cost, msrp, codes, rules).tolist() == [120.0, 135.0, 105.0, 112.5, 120.0]


def test_markup_rounds_to_cents() -> None:
    price = unit_prices(
        np.array([9.99]), np.array([np.nan]), pd.Series(["A"], dtype="string"), MarkupRules(MarkupRule(33.0))
    )
    assert price.tolist() == [13.29]  # 13.2867 → 13.29


def test_bad_basis_is_rejected() -> None:
    with pytest.raises(ValueError):
        MarkupRule(percent=1.0, basis="list")  # type: ignore[arg-type]
