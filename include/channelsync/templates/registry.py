"""Every template channelsync can build, by name. Light on purpose: imported at DAG parse time.

``steps`` is an import path loaded only inside tasks, so parsing never imports pandas or GX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from channelsync.templates.catalog_sync.options import CatalogSyncOptions
from channelsync.templates.health.options import HealthOptions
from channelsync.templates.options_common import TemplateOptions
from channelsync.templates.order_status.options import OrderStatusOptions
from channelsync.templates.price_availability.options import PriceAvailabilityOptions
from channelsync.templates.service_catalog_sync.options import ServiceCatalogSyncOptions
from channelsync.templates.submit_orders.options import SubmitOrdersOptions
from channelsync.templates.subscription_billing.options import SubscriptionBillingOptions


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    summary: str
    default_schedule: str
    steps: str  # "module:Class" implementing channelsync.runs.steps.TemplateSteps
    options_model: type[TemplateOptions]
    distributors: tuple[str, ...]  # distributors the integration must configure
    # True: the load is one mapped task per plan partition (a customer, an order), so one failure is one
    # task instance that on-call clears and reruns alone; the plan lists them (PlanSummary.partitions).
    partitioned: bool = False
    # The most PSA calls one partition's load has in flight when that is fewer than ``load.concurrency``
    # (one PO: its one write-back), so its task takes only those slots of the PSA pool (dag_builder).
    partition_in_flight: int | None = None
    # The template's own DAG params (name → airflow.sdk.Param keyword arguments), e.g. the invoice to bill
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "module:Class" of a light watcher (``schedule(options)``, ``poll(run)``): a DAG of its own polls the
    # source and emits an Asset event listing new work (invoices); the template's DAG is scheduled on that
    # Asset (dag_builder.build_watcher_dag)
    watcher: str | None = None

    def load_pool_slots(self, options: dict[str, Any]) -> int:
        """Slots of the PSA's pool a load task takes: the calls it has in flight (``load.concurrency`` workers,
        or fewer for a partition that never has more, ``partition_in_flight``)."""
        concurrency = self.options_model.model_validate(options).load.concurrency
        return min(concurrency, self.partition_in_flight or concurrency)

    def load_tasks_at_once(self, options: dict[str, Any], pool_slots: int) -> int:
        """How many of a mapped load's task instances a PSA pool of ``pool_slots`` runs at once (Airflow starts
        a task while the pool has its slots free; the executor's own parallelism aside)."""
        return max(1, pool_slots // self.load_pool_slots(options))


TEMPLATES: dict[str, TemplateSpec] = {
    spec.name: spec
    for spec in (
        TemplateSpec(
            name="catalog_sync",
            summary="TD SYNNEX catalog → PSA products (create, update, deactivate)",
            default_schedule="0 3 * * *",
            steps="channelsync.templates.catalog_sync.steps:CatalogSyncSteps",
            options_model=CatalogSyncOptions,
            distributors=("tdsynnex",),
        ),
        TemplateSpec(
            name="price_availability",
            summary="TD SYNNEX live price & availability → cost, price and stock of PSA products in use",
            default_schedule="0 * * * *",
            steps="channelsync.templates.price_availability.steps:PriceAvailabilitySteps",
            options_model=PriceAvailabilityOptions,
            distributors=("tdsynnex",),
        ),
        TemplateSpec(
            name="submit_orders",
            summary="PSA purchase orders → TD SYNNEX XML PO submission, exactly once; order numbers written back",
            default_schedule="*/15 * * * *",
            steps="channelsync.templates.submit_orders.steps:SubmitOrdersSteps",
            options_model=SubmitOrdersOptions,
            distributors=("tdsynnex",),
            partitioned=True,  # one load task instance per PO
            partition_in_flight=1,
        ),
        TemplateSpec(
            name="order_status",
            summary="TD SYNNEX PO status → PSA purchase orders: status, shipments line by line, tracking",
            default_schedule="0 * * * *",
            steps="channelsync.templates.order_status.steps:OrderStatusSteps",
            options_model=OrderStatusOptions,
            distributors=("tdsynnex",),
        ),
        TemplateSpec(
            name="service_catalog_sync",
            summary="CSP price list (Crayon / Pax8) → PSA services named PC_<SKU>: created once, prices kept current",
            default_schedule="30 2 * * *",
            steps="channelsync.templates.service_catalog_sync.steps:ServiceCatalogSyncSteps",
            options_model=ServiceCatalogSyncOptions,
            distributors=(),  # crayon or pax8, whichever the integration configures (options.distributor chooses)
        ),
        TemplateSpec(
            name="subscription_billing",
            summary="CSP invoice (Crayon / PRISM, Pax8) → PSA recurring contracts, prorated, exactly once",
            default_schedule="asset:invoices",
            steps="channelsync.templates.subscription_billing.steps:SubscriptionBillingSteps",
            options_model=SubscriptionBillingOptions,
            distributors=(),  # any of crayon / pax8 (the accounts option says which)
            partitioned=True,  # one load task instance per customer
            params={"invoice_id": {"default": "", "type": "string",
                                   "description": "Bill this invoice (id, or several separated by commas) "
                                                  "instead of the watcher's; empty: the triggering one"}},
            watcher="channelsync.templates.subscription_billing.watcher:InvoiceWatcher",
        ),
        TemplateSpec(
            name="health",
            summary="Endpoint health: each configured system authenticated and read once (latency, API budget); "
                    "outage and recovery alerts",
            default_schedule="*/5 * * * *",
            steps="channelsync.templates.health.steps:HealthSteps",
            options_model=HealthOptions,
            distributors=(),  # whichever the integration configures
        ),
    )
}


def register(spec: TemplateSpec) -> TemplateSpec:
    """Add a template (a plugin, or a test's own): the DAG builder and the runner need nothing else."""
    known = TEMPLATES.get(spec.name)
    if known is not None and known != spec:
        raise ValueError(f"template {spec.name!r} is already registered with another definition")
    TEMPLATES[spec.name] = spec
    return spec
