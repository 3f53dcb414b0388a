"""Options of price_availability."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from channelsync.templates.options_common import CurrencyRules, MarkupRules, TemplateOptions


class PriceAvailabilityOptions(TemplateOptions):
    # in_use: products linked by catalog_sync that appear on open purchase orders / quotes, plus ``skus``;
    # list: only ``skus``.
    source: Literal["in_use", "list", "linked"] = "linked"
    skus: list[str] = Field(default_factory=list)
    update_price: bool = True
    markup: MarkupRules = Field(default_factory=MarkupRules)
    currency: CurrencyRules = Field(default_factory=CurrencyRules)
