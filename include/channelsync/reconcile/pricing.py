"""Currency conversion and markup rules for desired PSA prices (vectorised, pure numpy/pandas).

- Conversion: ``amount_in_target = amount × rates[currency]`` where ``rates`` maps a source currency to
  units of the target currency per unit of it; the target currency itself is always 1.0.
- Markup: a rule per distributor category code (``MarkupRules.by_category``) or the default rule. A rule
  is a percent over a basis: ``cost`` (``price = cost × (1 + percent/100)``) or ``msrp``
  (``price = msrp × (1 + percent/100)``, e.g. percent=-10 for 10 % off list). An item without an MSRP
  under an ``msrp`` rule falls back to ``cost × (1 + fallback_percent/100)``.
- Money is rounded half-up to ``decimals`` places (cents by default), the way a person would round a
  price, not numpy's half-to-even.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelsync.errors import ChannelsyncError, define
from channelsync.reconcile.arrow import clean, lookup


@dataclass(frozen=True)
class MarkupRule:
    percent: float
    basis: Literal["cost", "msrp"] = "cost"
    fallback_percent: float = 0.0  # over cost, when basis is msrp and the item has no MSRP

    def __post_init__(self) -> None:
        if self.basis not in ("cost", "msrp"):
            raise ValueError(f"markup basis must be 'cost' or 'msrp', not {self.basis!r}")


@dataclass(frozen=True)
class MarkupRules:
    default: MarkupRule = MarkupRule(percent=0.0)
    by_category: Mapping[str, MarkupRule] = field(default_factory=dict)  # distributor category_code → rule


class MissingCurrencyRate(ChannelsyncError):
    """Items are priced in a currency the integration has no conversion rate for.

    The quality suite quarantines unknown currencies first, so reaching this means the configured
    currency set and the rates disagree: a configuration error, not bad data.
    """

    code = define("RECONCILE_CURRENCY_RATE_MISSING", "channelsync", "No conversion rate for an item's currency")

    def __init__(self, currencies: list[str], target: str) -> None:
        super().__init__(f"no conversion rate to {target} for currency(ies): {', '.join(currencies)}")
        self.currencies = currencies
        self.target = target


def round_money(values: np.ndarray, decimals: int = 2) -> np.ndarray:
    """Round half away from zero; the 1e-9 nudge absorbs binary error (1.005 × 100 = 100.4999…)."""
    factor = 10.0**decimals
    magnitude = np.floor(np.abs(values) * factor + 0.5 + 1e-9) / factor
    return np.copysign(magnitude, values)


def conversion_rates(currencies: pd.Series, target: str, rates: Mapping[str, float]) -> np.ndarray:
    """The rate to ``target`` for every row; raises :class:`MissingCurrencyRate` for unknown currencies."""
    table = {**{code.upper(): float(rate) for code, rate in rates.items()}, target.upper(): 1.0}
    codes = pc.utf8_upper(clean(currencies, strip=" "))
    per_row = lookup(codes, table, pa.float64())
    unknown = pc.and_(per_row.is_null(), codes.is_valid())
    if pc.any(unknown).as_py():
        raise MissingCurrencyRate(sorted(set(pc.filter(codes, unknown).to_pylist())), target)
    # A missing currency is read as the target currency (nothing to convert).
    return pc.fill_null(per_row, 1.0).to_numpy(zero_copy_only=False)


def _to_float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def unit_prices(
    unit_cost: np.ndarray,
    msrp: np.ndarray,
    category_codes: pd.Series,
    rules: MarkupRules,
    decimals: int = 2,
) -> np.ndarray:
    """Selling price per row from the (already converted) cost and MSRP and the markup rules."""
    # Factorise once and look rules up per distinct category, then gather: no per-row Python.
    positions, distinct = pd.factorize(category_codes.astype("string"), use_na_sentinel=True)
    rule_per_code = [rules.by_category.get(str(code), rules.default) for code in distinct]
    rule_per_code.append(rules.default)  # for missing category codes (factorize gives -1)
    positions = np.where(positions < 0, len(distinct), positions)
    percent = np.array([rule.percent for rule in rule_per_code], dtype="float64")[positions]
    on_msrp = np.array([rule.basis == "msrp" for rule in rule_per_code], dtype=bool)[positions]
    fallback = np.array([rule.fallback_percent for rule in rule_per_code], dtype="float64")[positions]
    has_msrp = np.isfinite(msrp)
    price = np.where(
        on_msrp & has_msrp,
        msrp * (1 + percent / 100.0),
        unit_cost * (1 + np.where(on_msrp, fallback, percent) / 100.0),
    )
    return round_money(price, decimals)


def convert(amounts: pd.Series, rate: np.ndarray, decimals: int = 2) -> np.ndarray:
    return round_money(_to_float(amounts) * rate, decimals)
