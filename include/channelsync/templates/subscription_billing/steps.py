"""subscription_billing: CSP invoices (Crayon / PRISM, Pax8) → PSA recurring contracts, per customer.

- extract: the invoice(s) this run bills — the one the watcher's Asset event names, the ``invoice_id``
  param of a manual run, else the latest of each account — and their lines (canonical INVOICE_LINE),
  joined with the customer mappings (company, contract, sync switch, how many mappings) and the price
  list (is the product known);
- validate: ``quality/billing.invoice_suite`` (bad lines quarantined with the reason, the rest go on);
- reconcile: the customers to bill, one load partition each; unmapped customers listed with their line
  count and total (Warning), customers whose sync is off recorded as skipped. A preview plans every
  customer against the PSA here and shows the field-level diff;
- load, one mapped task per customer: read that customer's contract and units, plan
  (``planning.plan_customer``, pure) and apply through the ledger. Planning in the customer's own task
  means clearing a failed customer after fixing its contract re-plans it from the PSA as it is now.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from channelsync.clients.call_tally import ContextThreadPool
from channelsync.errors import CATALOG, ChannelsyncError, QuotaExhausted, define
from channelsync.runs import outcomes
from channelsync.runs.steps import ItemOutcome, LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.templates.subscription_billing import planning
from channelsync.templates.subscription_billing.options import SubscriptionBillingOptions

if TYPE_CHECKING:
    from channelsync.quality.suite import Suite
    from channelsync.runs.context import RunContext

log = logging.getLogger(__name__)

ENTITY = "subscription"
PLAN_ROW_GROUP = 100  # customers per row group of the staged plan (each row carries the services' JSON)
LEFT_ENTITY = "contract_service"  # xref: per customer and service, the stretches channelsync last posted
POSTED = outcomes.declare("posted", stage="load", kind="write",
                          description="posted to the PSA contract (adjustment, addition or charge)")
UNMAPPED = outcomes.declare("unmapped", stage="reconcile", kind="warning",
                            description="customer not mapped to a PSA company and contract; nothing posted")
SKIPPED = outcomes.declare("skipped", stage="reconcile", kind="neutral",
                           description="customer's sync switch is off; nothing posted")
PLAN_FAILED = outcomes.declare("not_posted", stage="load", kind="failure",
                               description="the customer (or one of its services) could not be posted; see why")
EDIT_OVERWRITTEN = outcomes.declare(planning.EDIT_OVERWRITTEN_OUTCOME, stage="load", kind="warning",
                                    description="changed by hand in the PSA since channelsync posted it; the "
                                                "invoice wins, so the edit was overwritten (before → after)")
PLAN_WARNING = outcomes.declare("not_posted_warning", stage="load", kind="warning",
                                description="a line that cannot be posted on this PSA; see why")
MARGIN_FLAGGED = outcomes.declare("margin_flagged", stage="load", kind="warning",
                                  description="sold below cost or under the configured margin floor")
PRORATION_MISMATCH = outcomes.declare("proration_mismatch", stage="load", kind="warning",
                                      description="the PSA's prorated amount differs from the distributor's lines")
MARGIN_CODE = define("BILLING_MARGIN_LOW", "channelsync",
                     "A service is sold below its cost or under the margin floor (subscription_billing's "
                     "margin_floor_percent): review the PSA price or the floor")
PRORATION_CODE = define("BILLING_PRORATION_MISMATCH", "channelsync",
                        "For one month the PSA's prorated amount and the distributor's prorated lines differ by more "
                        "than a cent: check the contract's proration settings and the service's price")
UNMAPPED_CODE = define("BILLING_CUSTOMER_UNMAPPED", "channelsync",
                       "The invoice has lines of a customer with no PSA mapping: map it (channelsync mapping set) "
                       "and rerun; nothing of it was posted")
SYNC_OFF_CODE = define("BILLING_SYNC_OFF", "channelsync", "The customer's sync switch is off; nothing posted")
CHAIN_WAITS = define("BILLING_EARLIER_ADJUSTMENT_PENDING", "channelsync",
                     "An earlier adjustment of this contract service was not applied; this one waits for the "
                     "retry (adjustments must reach Autotask in date order)")
NO_INVOICE = define("BILLING_NO_INVOICE", "channelsync", "No invoice to bill was found for the requested id")


class CustomerFailed(ChannelsyncError):
    """The customer's task fails (after its items are recorded) so on-call sees it, fixes, clears it."""

    code = planning.CONTRACT_DATES


class SubscriptionBillingSteps(TemplateBase[SubscriptionBillingOptions]):
    entity_type = ENTITY
    op_outcomes: ClassVar[Mapping[str, str]] = {"adjust": POSTED.name, "add": POSTED.name, "charge": POSTED.name,
                                      "update_addition": outcomes.UPDATED.name}
    # Adjustments are deltas and charges add money: never twice. An addition create is resolved by
    # reading the agreement; an addition update sets absolute values.
    tenant_scoped_ops = frozenset({"adjust", "add", "charge"})

    # -- extract ------------------------------------------------------------------------------------
    def extract(self, run: RunContext) -> pd.DataFrame:
        from channelsync.templates.subscription_billing import sources

        options = self.options(run)
        accounts = sources.accounts(run, options)
        wanted = sources.requested_invoices(run)
        frames, invoices = [], []
        for account in accounts:
            for invoice in sources.invoices_to_bill(run, account, wanted):
                invoices.append(invoice)
                frames.append(sources.lines(run, account, invoice))
        if wanted and not invoices:
            raise ChannelsyncError(f"invoice(s) {', '.join(sorted(wanted))} not found on any billed account",
                                   code=NO_INVOICE)
        frame = pd.concat(frames, ignore_index=True) if frames else sources.empty_lines()
        frame = sources.join_state(run, frame, accounts, options)
        log.info("extract: %d line(s) of %d invoice(s): %s", len(frame), len(invoices),
                 ", ".join(i.key for i in invoices) or "none")
        return frame

    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.billing import invoice_suite

        return invoice_suite(accepted_currencies=self.options(run).accepted_currencies)

    # -- reconcile ----------------------------------------------------------------------------------
    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        from channelsync.templates.subscription_billing import sources

        lines_path = sources.stage_lines(run.staging / "billing_lines.parquet", valid)
        services = sources.services(run, self.options(run)) if len(valid) else {}
        customers = valid.groupby("customer_key", sort=True)
        items: list[dict[str, Any]] = []
        partitions: list[str] = []
        for key, group in customers:
            first = group.iloc[0]
            if pd.isna(first["psa_contract_id"]):
                items.append(_customer_item(str(key), UNMAPPED.name, UNMAPPED_CODE, group))
            elif not bool(first["sync_enabled"]):
                items.append(_customer_item(str(key), SKIPPED.name, SYNC_OFF_CODE, group))
            else:
                partitions.append(str(key))
        diff = pd.DataFrame(columns=["source_key", "op", "field", "before", "after"], dtype="string")
        counts = {"customers": len(partitions), "unmapped": sum(i["outcome"] == UNMAPPED.name for i in items)}
        if run.preview and partitions:
            plans = [self._plan_customer(run, valid, key, services) for key in partitions]
            items += [item for p in plans for item in p.items]
            diff = pd.DataFrame([d for p in plans for d in p.diff], columns=list(diff.columns)).astype("string")
            counts.update(_op_counts(p.operations for p in plans))
        firsts = {str(key): group.iloc[0] for key, group in customers}
        # The customer's PSA company and contract in its plan row: its task starts the PSA reads at once,
        # while its lines are read (see apply).
        plan = pd.DataFrame({"partition": partitions, "lines_path": lines_path,
                             "services": sources.services_to_json(services),
                             "psa_company_id": [str(firsts[k]["psa_company_id"]) for k in partitions],
                             "psa_contract_id": [str(firsts[k]["psa_contract_id"]) for k in partitions]})
        return PlanSummary(plan_path=self.stage_plan(run, plan), counts=counts, diff=diff,
                           items=pd.DataFrame(items) if items else None, partitions=partitions)

    def stage_plan(self, run: RunContext, frame: pd.DataFrame) -> str:
        """The plan in row groups of :data:`PLAN_ROW_GROUP` customers (sorted by key): a customer's task
        decodes its own group (``sources.staged_rows``), not every customer's row with the services on it."""
        path = run.staging / "plan.parquet"
        with path.open("wb") as sink:
            frame.to_parquet(sink, index=False, row_group_size=PLAN_ROW_GROUP)
        return str(path)

    # -- load (one customer) ------------------------------------------------------------------------
    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        from channelsync.templates.subscription_billing import sources

        # A customer's task reads its own row of the plan and its own lines, not the whole invoice's.
        plan = self.read_plan(plan_path) if partition is None else sources.staged_rows(plan_path, "partition",
                                                                                        [partition])
        keys = [partition] if partition is not None else [str(p) for p in plan["partition"]]
        with ContextThreadPool(max_workers=2, thread_name_prefix="billing-reads") as pool:
            early = self._start_reads(run, pool, plan, partition)
            valid = sources.staged_rows(str(plan["lines_path"].iloc[0]), "customer_key",
                                        keys if partition is not None else None) if len(plan) else pd.DataFrame()
            return self._apply_customers(run, plan, keys, valid, early, pool)

    def _start_reads(self, run: RunContext, pool: ThreadPoolExecutor, plan: pd.DataFrame, partition: str | None
                     ) -> tuple[Future[Any], Future[dict[str, str]]] | None:
        """A customer's task: its PSA reads (contract and units) and its cross-references, started now, so
        they go out while its lines are read. None for a plan without the PSA ids (staged by an older
        version) or a load of every customer at once: read in turn (``_plan_customer``)."""
        from channelsync.templates.subscription_billing import sources

        if partition is None or not len(plan) or "psa_contract_id" not in plan.columns:
            return None
        adapter = self._contracts(run)  # the PSA client made here, not in a thread: one per run
        company, contract = str(plan["psa_company_id"].iloc[0]), str(plan["psa_contract_id"].iloc[0])
        return (pool.submit(sources.contract_and_units, adapter, company, contract),
                pool.submit(sources.left_behind, run, partition, LEFT_ENTITY))

    def _apply_customers(self, run: RunContext, plan: pd.DataFrame, keys: list[str], valid: pd.DataFrame,
                         early: tuple[Future[Any], Future[dict[str, str]]] | None, pool: ThreadPoolExecutor
                         ) -> LoadSummary:
        from channelsync.templates.subscription_billing import sources

        services = sources.services_from_json(str(plan["services"].iloc[0])) if len(plan) else {}
        summary = LoadSummary(outcomes=[])
        failures: list[str] = []
        for key in keys:
            try:
                customer = self._plan_customer(run, valid, key, services, early)
            except QuotaExhausted as exc:
                # The API budget ran out before this customer's contract was read: nothing of it was sent.
                # Deferred, as the loader defers the writes it cannot send: the run is Warning, the next posts it.
                log.warning("customer %s: deferred, the API budget is spent (%s)", key, exc)
                summary.outcomes.append(ItemOutcome(source_key=key, outcome=outcomes.DEFERRED.name,
                                                    error_code=exc.code, error_message=str(exc)))
                continue
            summary.outcomes += [ItemOutcome(source_key=i["source_key"], outcome=_load_outcome(i["outcome"]),
                                             error_code=i["error_code"], error_message=i["error_message"])
                                 for i in customer.items]
            failures += [i["error_message"] for i in customer.items if i["outcome"] == "failed"]
            operations = [self._operation(row) for row in customer.operations]
            # What does not depend on the writes' outcomes goes on beside them, off the task's critical path.
            aside = pool.submit(self._settle_and_report, run, key, customer, {op.key for op in operations})
            loaded = self._load_in_waves(run, customer.operations, operations)
            aside.result()
            summary.outcomes += loaded.outcomes
            summary.retriable_failures += loaded.retriable_failures
            if not loaded.retriable_failures:
                self._remember(run, key, customer, loaded)
            summary.details.setdefault("totals", []).append(customer.totals)
            summary.outcomes += _report_items(key, customer)
            log.info("customer %s: invoice %.2f, posted %.2f (%d operation(s))", key,
                     customer.totals.get("invoice_total", 0.0), customer.totals.get("posted_total", 0.0),
                     len(operations))
        if failures and not summary.retriable_failures:
            summary.failed = "; ".join(failures[:3])
        return summary

    def _settle_and_report(self, run: RunContext, key: str, customer: planning.CustomerPlan, planned: set[str]
                           ) -> None:
        """Settle the claims of an earlier attempt this plan no longer holds, and stage the customer's margin
        and proration reports. Neither reads nor writes what this attempt's writes claim (their keys are
        ``planned``), so it runs while they are sent."""
        from channelsync.runs.staging import write_csv

        settled = self.ledger(run).supersede(f"{key}|", planned)
        if settled:
            log.info("customer %s: %d write(s) of an earlier attempt no longer planned (the contract, read "
                     "again, has them): settled as superseded", key, settled)
        safe = "".join(c if c.isalnum() else "_" for c in key)
        for name, rows in (("margins", customer.margins), ("proration", customer.proration)):
            if rows:
                write_csv(run.staging / f"{name}_{safe}.csv", pd.DataFrame(rows))

    def _load_in_waves(self, run: RunContext, rows: list[dict[str, Any]], operations: list[Any]) -> LoadSummary:
        """Load so that the operations of one chain (one Autotask contract service) reach the PSA in plan
        order: wave k holds the k-th operation of every chain (and the unchained ones go in the first), so
        each wave can be sent in parallel. A chain whose operation did not apply stops there: its later
        operations wait for the retry, which re-plans them from the PSA."""
        waves: list[list[Any]] = []
        position: dict[str, int] = {}
        for row, operation in zip(rows, operations, strict=True):
            chain = str(row.get("chain") or "")
            index = position[chain] = position.get(chain, -1) + 1 if chain else 0
            while len(waves) <= index:
                waves.append([])
            waves[index].append((chain, operation))
        result = LoadSummary(outcomes=[])
        broken: set[str] = set()
        applied = _APPLIED
        for wave in waves:
            ready = [op for chain, op in wave if not chain or chain not in broken]
            for chain, op in wave:
                if chain and chain in broken:
                    result.outcomes.append(ItemOutcome(op.source_key, outcomes.DEFERRED.name, op.target_id,
                                                       op.changed_fields, error_code=CHAIN_WAITS,
                                                       error_message=CATALOG[CHAIN_WAITS].summary))
            loaded = self.load(run, ready, self._contracts(run)) if ready else LoadSummary(outcomes=[])
            result.outcomes += loaded.outcomes
            result.retriable_failures += loaded.retriable_failures
            chains = {op.source_key: chain for chain, op in wave if chain}
            broken |= {chains[o.source_key] for o in loaded.outcomes
                       if o.source_key in chains and o.outcome not in applied}
        return result

    def _remember(self, run: RunContext, key: str, customer: planning.CustomerPlan, loaded: LoadSummary) -> None:
        """What this load left on each contract service it fully posted (the next plan compares the PSA with
        it to report hand edits). A service with an operation not applied is not remembered."""
        from channelsync.state import repository

        failed = {o.source_key.rsplit("|", 1)[0] for o in loaded.outcomes if o.outcome not in _APPLIED}
        rows = customer.operations
        by_service = {json.loads(r["fields"]).get("service_id"): r["source_key"].rsplit("|", 1)[0] for r in rows}
        xrefs = [{"psa_system": run.integration.psa.system, "entity_type": LEFT_ENTITY,
                  "source_key": f"{key}|{service_id}", "psa_id": f"{key}|{customer.contract_id}:{service_id}",
                  "fingerprint": segments}
                 for service_id, segments in customer.left.items() if by_service.get(service_id) not in failed]
        if xrefs:
            repository.save_xrefs(run.state_url, integration=run.integration.name, xrefs=xrefs)

    def _operation(self, row: dict[str, Any]) -> Any:
        return self.operation(key=row["key"], op=row["op"], source_key=row["source_key"],
                              target_id=row["target_id"], fields=json.loads(row["fields"]),
                              changed_fields=json.loads(row["changed_fields"]), before=json.loads(row["before"]))

    def _contracts(self, run: RunContext) -> Any:
        from channelsync.adapters.psa_contracts import contract_adapter

        return contract_adapter(run.integration.psa.system, run.psa_client())

    def _plan_customer(self, run: RunContext, valid: pd.DataFrame, key: str, services: dict[str, planning.Service],
                       early: tuple[Future[Any], Future[dict[str, str]]] | None = None) -> planning.CustomerPlan:
        """Read the customer's contract, units and cross-references (``early``: already started, see
        ``_start_reads``) and plan it."""
        from channelsync.templates.subscription_billing import sources

        options = self.options(run)
        lines = valid[valid["customer_key"] == key]
        if not set(lines["sku"].astype(str)) <= set(services):
            services.update(sources.services(run, options))
        if early is not None:
            (contract, units), left = early[0].result(), early[1].result()
        else:
            first = lines.iloc[0]
            adapter = self._contracts(run)
            contract, units = sources.contract_and_units(adapter, str(first["psa_company_id"]),
                                                         str(first["psa_contract_id"]))
            left = sources.left_behind(run, key, LEFT_ENTITY)
        return planning.plan_customer(
            key, list(lines.itertuples(index=False)), psa_system=run.integration.psa.system, contract=contract,
            units=units, services=services, period=sources.period(lines),
            usage_skus=sources.usage_skus(run), zero_usage_without_lines=options.zero_usage_without_lines,
            billing_in_advance=options.billing_in_advance, margin_floor_percent=options.margin_floor_percent,
            left=left, contract_kind=options.contract_kind,
        )


def _report_items(key: str, customer: planning.CustomerPlan) -> list[ItemOutcome]:
    """The run's reports, where the person reading the run looks: a margin under the floor (or a sale below
    cost) and a month whose PSA amount differs from the distributor's prorated lines by more than a cent."""
    found = [ItemOutcome(f"{key}|{m['sku']}|margin", MARGIN_FLAGGED.name, error_code=MARGIN_CODE,
                         error_message=f"{m['sku']}: sold at {m['unit_price']:.2f}, costs {m['unit_cost']:.2f} "
                                       f"({m['margin_percent']:.1f}% margin): {m['flag']}")
             for m in customer.margins if m["flag"]]
    found += [ItemOutcome(f"{key}|{p['sku']}|{p['month']}|proration", PRORATION_MISMATCH.name,
                          error_code=PRORATION_CODE,
                          error_message=f"{p['sku']} {p['month'][:7]}: the PSA bills {p['implied']:.2f}, the "
                                        f"distributor's lines total {p['invoiced']:.2f} ({p['difference']:+.2f})")
              for p in customer.proration if abs(p["difference"]) > 0.01]
    return found


_APPLIED = frozenset({POSTED.name, outcomes.UPDATED.name, outcomes.UNCHANGED.name, outcomes.LINKED.name})


def _load_outcome(plan_outcome: str) -> str:
    return {"failed": PLAN_FAILED.name, "warning": PLAN_WARNING.name}.get(plan_outcome, plan_outcome)


def _customer_item(key: str, outcome: str, code: str, group: pd.DataFrame) -> dict[str, Any]:
    from channelsync.errors import CATALOG

    first = group.iloc[0]
    total = float(group["price_total"].sum())
    message = (f"{CATALOG[code].summary} — {first['customer_name']} ({first['customer_id']} on "
               f"{first['distributor']} {first['account']}): {len(group)} line(s), total {total:.2f}")
    return {"entity_type": ENTITY, "source_key": key, "psa_id": None, "outcome": outcome, "error_code": code,
            "error_message": message, "changed_fields": []}


def _op_counts(operations: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ops in operations:
        for op in ops:
            counts[op["op"]] = counts.get(op["op"], 0) + 1
    return counts
