"""The one planned-operation type: what reconcile plans, a template hands the loader and the ledger
records. Pure data (no I/O), so reconcile can build it and the loader can send it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Scope = Literal["run", "tenant"]


@dataclass(frozen=True)
class Operation:
    key: str  # idempotency key (unique within its scope and target)
    op: str  # create | update | deactivate | link | a template's own (post, submit)
    source_key: str
    target_id: str | None  # the record written, when known before sending
    fields: dict[str, Any]  # the values to write (template-neutral names)
    changed_fields: list[str] = field(default_factory=list)
    fingerprint: str = ""  # of the values the target holds after this operation
    # "tenant": never sent twice, whatever run or integration carries it; "run": a later run re-plans it
    scope: Scope = "run"
    before: dict[str, Any] = field(default_factory=dict)  # the target's values of changed_fields (reports)
    # The key of the tenant-scoped create that makes this op's record: while another live run holds that create
    # (written in parts, e.g. a product then its vendor row), this op waits for it instead of overtaking it.
    follows: str | None = None
