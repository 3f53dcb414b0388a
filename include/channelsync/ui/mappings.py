"""The customers of an integration's subscription billing, for the mapping pages: every mapping in the
state store, and every customer the latest billing run saw — in its items (unmapped and switched-off
customers at reconcile, one load partition per mapped customer) and in its staged invoice lines
(``extract.parquet`` next to the run's ``plan_diff.csv``: name, invoice, line count and total).

Reads only; the writes go through ``channelsync.mapping_edit`` (the same checks as the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channelsync.state.models import SyncItem, SyncRun
from channelsync.ui.labels import outcome_kind

BILLING = "subscription_billing"
LINES_FILE = "extract.parquet"  # what the extract stage stages (runs/runner.py), next to plan_diff.csv
# How bad an outcome is, to give each customer one outcome for the run.
_SEVERITY = {"failure": 3, "warning": 2, "write": 1, "neutral": 0}


@dataclass
class LineSummary:
    customer_name: str | None = None
    customer_domain: str | None = None
    invoices: list[str] = field(default_factory=list)
    lines: int = 0
    total: float = 0.0
    currency: str | None = None


@dataclass
class InRun:
    """A customer's place in a billing run: its worst outcome, how many items, the first error."""

    outcome: str
    items: int = 0
    error_code: str | None = None
    error_message: str | None = None

    @property
    def kind(self) -> str:
        return outcome_kind(self.outcome)


@dataclass
class CustomerRow:
    key: str
    distributor: str
    account: str
    customer_id: str
    customer_name: str | None
    status: str  # mapped | sync off | no contract | unmapped
    mapping: dict[str, Any] | None = None
    in_run: InRun | None = None
    lines: LineSummary | None = None

    @property
    def needs_mapping(self) -> bool:
        return self.status in ("unmapped", "no contract")


def latest_run(session: Session, integration: str) -> SyncRun | None:
    """The newest billing run of the integration (a preview too: it lists the same customers)."""
    return session.scalars(select(SyncRun).where(SyncRun.integration == integration, SyncRun.template == BILLING)
                           .order_by(SyncRun.id.desc()).limit(1)).first()


def run_customers(session: Session, run_id: int) -> dict[str, InRun]:
    """Per customer key, its outcome in the run: reconcile items are keyed by the customer, load items
    carry it as their partition."""
    found: dict[str, InRun] = {}
    rows = session.execute(select(SyncItem.stage, SyncItem.partition, SyncItem.source_key, SyncItem.outcome,
                                  SyncItem.error_code, SyncItem.error_message)
                           .where(SyncItem.run_id == run_id).order_by(SyncItem.id))
    for stage, partition, source_key, outcome, code, message in rows:
        key = partition or (source_key if stage == "reconcile" and source_key.count(":") >= 2 else None)
        if not key:
            continue
        seen = found.get(key)
        if seen is None:
            seen = found[key] = InRun(outcome=outcome)
        elif _SEVERITY.get(outcome_kind(outcome), 0) > _SEVERITY.get(seen.kind, 0):
            seen.outcome = outcome
        seen.items += 1
        if code and seen.error_code is None:
            seen.error_code, seen.error_message = code, message
    return found


def staged_lines(plan_path: str | None) -> Any:
    """The run's invoice lines as staged by its extract (a DataFrame), or None when no longer kept."""
    if not plan_path:
        return None
    try:
        from channelsync.runs.staging import as_path, read_frame

        path = as_path(plan_path).parent / LINES_FILE
        return read_frame(path) if path.exists() else None
    except Exception:  # retention removed it, or the store cannot be read from here: the page goes on
        return None


def line_summaries(lines: Any) -> dict[str, LineSummary]:
    """Per customer key: name, domain, invoices, line count, total (retail) and currency of its lines."""
    if lines is None or not len(lines):
        return {}
    import pandas as pd

    from channelsync.state.mappings import CustomerKey

    frame = lines.astype(object).where(lines.notna(), None)
    out: dict[str, LineSummary] = {}
    for row in frame.to_dict("records"):
        key = str(CustomerKey.of(row.get("distributor"), row.get("account"), row.get("customer_id")))
        found = out.setdefault(key, LineSummary())
        found.customer_name = found.customer_name or _text(row.get("customer_name"))
        found.customer_domain = found.customer_domain or _text(row.get("customer_domain"))
        invoice = _text(row.get("invoice_id"))
        if invoice and invoice not in found.invoices:
            found.invoices.append(invoice)
        found.lines += 1
        total = pd.to_numeric(row.get("price_total"), errors="coerce")
        found.total = round(found.total + (0.0 if pd.isna(total) else float(total)), 2)
        currency = _text(row.get("currency"))
        if currency and currency != found.currency:
            found.currency = currency if found.currency is None else f"{found.currency},{currency}"
    return out


def customer_rows(mappings: list[dict[str, Any]], in_run: dict[str, InRun],
                  lines: dict[str, LineSummary]) -> list[CustomerRow]:
    """Every customer known (mapped, or seen by the latest run), the ones needing a mapping first."""
    from channelsync.state.mappings import CustomerKey, MappingError

    by_key = {m["key"]: m for m in mappings}
    rows: list[CustomerRow] = []
    for text in sorted(set(by_key) | set(in_run) | set(lines)):
        try:
            key = CustomerKey.parse(text)
        except MappingError:
            continue
        mapping = by_key.get(str(key))
        summary = lines.get(str(key))
        if mapping is None:
            status = "unmapped"
        elif not mapping.get("psa_contract_id"):
            status = "no contract"
        elif not mapping.get("sync_enabled"):
            status = "sync off"
        else:
            status = "mapped"
        name = (mapping or {}).get("customer_name") or (summary.customer_name if summary else None)
        rows.append(CustomerRow(key=str(key), distributor=key.distributor, account=key.account,
                                customer_id=key.customer_id, customer_name=name, status=status, mapping=mapping,
                                in_run=in_run.get(str(key)), lines=summary))
    order = {"unmapped": 0, "no contract": 1, "sync off": 2, "mapped": 3}
    return sorted(rows, key=lambda r: (order[r.status], (r.customer_name or "").casefold(), r.key))


def history_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """An audit row as (field, before, after) for the fields that changed (all of them on a create or remove)."""
    fields = list(dict.fromkeys([*(before or {}), *(after or {})]))
    return [(name, (before or {}).get(name), (after or {}).get(name)) for name in fields
            if (before or {}).get(name) != (after or {}).get(name)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
