"""What a template implements. Each method does one stage; the runner does the bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from channelsync.quality.suite import Suite
    from channelsync.runs.context import RunContext


@dataclass
class PlanSummary:
    """What reconcile produced: the staged plan, counts per op, a field-level diff for the preview."""

    plan_path: str  # URL of the staged plan (runs/staging.py)
    counts: dict[str, int]
    diff: pd.DataFrame  # columns: source_key, op, field, before, after
    items: pd.DataFrame | None = None  # non-write outcomes to record now (conflict, duplicate)
    # A template whose load is mapped (TemplateSpec.partitioned): one load task per key (customer, order)
    partitions: list[str] = field(default_factory=list)


@dataclass
class ItemOutcome:
    source_key: str
    outcome: str  # a name declared in runs/outcomes.py
    psa_id: str | None = None
    changed_fields: list[str] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class LoadSummary:
    outcomes: list[ItemOutcome]
    # Failures worth retrying (unreachable API, unresolved "outcome unknown"): the load task fails
    # after recording, so Airflow retries it and the ledger sends only what is not yet applied.
    retriable_failures: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    # Why this load (a mapped load's one customer or order) failed for good after its items were recorded:
    # the task fails without retrying, so on-call sees it, fixes the cause and clears it alone.
    failed: str | None = None


class TemplateSteps(Protocol):
    """Implemented by subclassing :class:`channelsync.runs.template.TemplateBase`."""

    entity_type: str  # "product", "service", "subscription", "order"

    def extract(self, run: RunContext) -> pd.DataFrame:
        """Read the distributor side into the template's canonical table."""
        ...

    def suite(self, run: RunContext) -> Suite:
        """The expectation suite for the extracted table."""
        ...

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        """Read PSA state and the cross-reference, and build the plan (pure planning inside)."""
        ...

    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        """Apply the plan idempotently (ledger before/after every write); only ``partition``'s part of it
        when the load is mapped."""
        ...
