"""Options of subscription_billing (validated when the configuration is loaded; pydantic only: parse time)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from channelsync.templates.options_common import TemplateOptions


class BillingAccount(BaseModel):
    """One distributor account billed by the integration (a Crayon organization seen through one
    connection, a Pax8 partner = one connection). Empty list: every account of every configured CSP
    distributor."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    distributor: str = Field(pattern=r"^(crayon|pax8)$")
    conn_id: str | None = None  # None: the integration's connection for that distributor
    account: str | None = None  # Crayon organization id; None: every organization the login sees


class SubscriptionBillingOptions(TemplateOptions):
    accounts: list[BillingAccount] = Field(default_factory=list)
    # An Azure usage service with no usage line in a later month is set to 0 units for that month
    # (PRISM Connect's "zero usage" switch); off: its units stay as the last invoice left them.
    zero_usage_without_lines: bool = True
    # Billing in advance: the next period's seats are set at its first day from this invoice (the next
    # invoice corrects them, with the reversal, when it differs). Off: seats follow the invoice's days only.
    billing_in_advance: bool = False
    # Margin report: a service sold under this margin (percent of the sell price) is flagged.
    margin_floor_percent: float = Field(default=0.0, ge=-100, le=100)
    accepted_currencies: list[str] = Field(default_factory=lambda: ["USD"])
    # A product no longer on the distributor's price list (retired) is billed to the PSA service named
    # here (SKU → service name) instead of being quarantined.
    service_overrides: dict[str, str] = Field(default_factory=dict)
    service_name_prefix: str = Field(default="PC_", max_length=10)
    # Only contracts of this kind are billed, and suggested by `channelsync mapping suggest` when a company
    # has several (ConnectWise agreement type, e.g. "Microsoft 365"; Autotask contract type label).
    contract_kind: str | None = None
    # The watcher DAG's poll schedule (a new invoice starts the billing run through an Asset event): cron,
    # or "asset:<template>" to look after each successful run of that template of the integration.
    watch_schedule: str = "0 * * * *"
