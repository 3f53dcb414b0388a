"""Option models shared by several templates (pydantic only: imported at DAG parse time)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarkupRules(_Options):
    """Sell price = basis × (1 + percent / 100); a category may have its own percent."""

    basis: Literal["cost", "msrp"] = "cost"
    percent: float = Field(default=15.0, ge=-100, le=1000)
    by_category: dict[str, float] = Field(default_factory=dict)


class CurrencyRules(_Options):
    """Costs are converted to ``target`` at ``rates[source]`` (1 source unit = rate target units)."""

    target: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    accepted: list[str] = Field(default_factory=lambda: ["USD"])
    rates: dict[str, float] = Field(default_factory=dict)


class LoadOptions(_Options):
    concurrency: int = Field(default=3, ge=1, le=16)  # never above the PSA's own limit (Autotask: 3)
    preview_rows: int = Field(default=50, ge=1, le=10_000)
    # How long a load waits for writes another run holds (e.g. a second integration on the same PSA)
    # before deferring them to a retry.
    wait_for_others_s: float = Field(default=120.0, ge=0, le=3600)


class TemplateOptions(_Options):
    """What every template's options have: the run shape reads ``load`` for every template."""

    load: LoadOptions = Field(default_factory=LoadOptions)
