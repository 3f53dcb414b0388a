"""order_status: TD SYNNEX PO status → the PSA purchase orders channelsync submitted.

- extract: the PSA's POs to the vendor in the polled statuses that carry a distributor order number
  (with their lines and the values order_status manages), but not those channelsync found complete
  (shipped and invoiced in full, the cross-reference says so) and whose status nobody changed since; then
  TD SYNNEX PO status for each customer PO number and, for a PO with shipped lines, its invoices (the
  invoice query service, option ``invoices``), ``status_concurrency`` POs in flight (the services answer
  one PO per request). One row per PO: the PO, its status and its invoices as JSON. The PSA is read here,
  not in reconcile, because it decides which POs to ask TD SYNNEX about;
- validate: ``quality/orders.status_suite``;
- reconcile: ``planning.plan_order`` per PO with this integration's cross-reference (the status
  channelsync last wrote): updates of what differs, conflicts (status changed by hand), unchanged;
- load: one update per changed PO (run-scoped, absolute values: a lost answer is simply resent).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.adapters.psa_orders import PsaOrderAdapter, order_adapter
from channelsync.adapters.tdsynnex_orders import TdSynnexOrders
from channelsync.canonical.orders import PsaOrder, fingerprint_complete, fingerprint_status, status_fingerprint
from channelsync.errors import define
from channelsync.runs import outcomes
from channelsync.runs.steps import LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.templates.order_status import planning
from channelsync.templates.order_status.options import PSA_POLL_STATUSES, PSA_STATUS_MAP, OrderStatusOptions
from channelsync.templates.submit_orders.planning import customer_po_number

if TYPE_CHECKING:
    from channelsync.quality.suite import Suite
    from channelsync.runs.context import RunContext

log = logging.getLogger(__name__)

ENTITY = "order"
PSA_ENTITY = "purchase_order"
STATUS_CONFLICT = define("ORDER_STATUS_CONFLICT", "channelsync",
                         "The PO's status was changed in the PSA since channelsync last wrote it; not overwritten")


class OrderStatusSteps(TemplateBase[OrderStatusOptions]):
    entity_type = ENTITY
    tenant_scoped_ops = frozenset()  # absolute values, re-planned from TD SYNNEX and the PSA every run

    def _adapter(self, run: RunContext) -> PsaOrderAdapter:
        return order_adapter(run.integration.psa.system, run.psa_client(), vendor=self.options(run).vendor)

    def _prefix(self, run: RunContext) -> str:
        options = self.options(run)
        if options.po_number_prefix is not None:
            return options.po_number_prefix
        submit = run.integration.templates.get("submit_orders")
        return str((submit.options if submit is not None else {}).get("po_number_prefix") or "")

    def extract(self, run: RunContext) -> pd.DataFrame:
        from channelsync.state import repository

        options = self.options(run)
        poll = list(options.poll_statuses or PSA_POLL_STATUSES[run.integration.psa.system])
        prefix = self._prefix(run)
        written = {key: fingerprint for key, _psa, fingerprint in repository.load_xref(
            run.state_url, integration=run.integration.name, entity_type=PSA_ENTITY)}
        complete: list[str] = []

        def done(number: str, status: str | None) -> bool:
            """Complete (shipped and invoiced in full) and nobody changed its status since: left alone,
            its lines not even read."""
            last = written.get(f"{prefix}{number.strip()}")
            if fingerprint_complete(last) and fingerprint_status(last) == status_fingerprint(status):
                complete.append(number)
                return True
            return False

        orders = [o for o in self._adapter(run).read_orders(statuses=poll, with_skus=False, skip=done)
                  if o.tracked.get("order_number")]
        numbers = {customer_po_number(order, prefix): order for order in orders}
        followed = TdSynnexOrders(run.tdsynnex_client()).follow(
            numbers, concurrency=options.status_concurrency, invoices=options.invoices)
        rows = []
        for key, order in numbers.items():
            status, invoices = followed[key].status, followed[key].invoices
            rows.append({"source_key": key, "psa_id": order.psa_id, "code": status.code,
                         "answered_po": status.po_number or key,
                         "invoice_pos": ",".join(sorted({i.po_number for i in invoices if i.po_number})) or None,
                         "invoice_error": followed[key].invoice_error,
                         "order_json": order.to_json(), "status_json": planning.status_to_json(status),
                         "invoices_json": planning.invoices_to_json(invoices)})
        columns = ["source_key", "psa_id", "code", "answered_po", "invoice_pos", "invoice_error", "order_json",
                   "status_json", "invoices_json"]
        frame = pd.DataFrame(rows, columns=columns).astype("string")
        log.info("extract: %d open purchase order(s) with a TD SYNNEX order polled, %d complete ones left alone",
                 len(frame), len(complete))
        return frame

    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.orders import status_suite

        return status_suite()

    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        from channelsync.state import repository

        options = self.options(run)
        adapter = self._adapter(run)
        status_map: dict[str, str] = dict(PSA_STATUS_MAP[run.integration.psa.system])
        status_map.update({str(state): label for state, label in options.status_map.items()})
        written = {key: fingerprint for key, _psa, fingerprint in repository.load_xref(
            run.state_url, integration=run.integration.name, entity_type=PSA_ENTITY)}
        rows: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        diff: list[dict[str, Any]] = []
        for row in valid.itertuples(index=False):
            key = str(row.source_key)
            order = PsaOrder.from_json(str(row.order_json))
            plan = planning.plan_order(
                order, planning.status_from_json(str(row.status_json)), status_map=status_map,
                order_fields=adapter.ORDER_FIELDS, line_fields=adapter.LINE_FIELDS, last_written=written.get(key),
                invoices=planning.invoices_from_json(str(row.invoices_json)), invoices_followed=options.invoices,
                order_limits=adapter.ORDER_LIMITS, line_limits=adapter.LINE_LIMITS)
            rows.append({"source_key": key, "psa_id": order.psa_id, "op": plan.op, "fingerprint": plan.fingerprint,
                         "fields": _json({"order": plan.order, "lines": plan.lines}),
                         "before": _json(plan.before or {}), "reason": plan.reason})
            if plan.op == "conflict":
                items.append({"entity_type": ENTITY, "source_key": key, "psa_id": order.psa_id,
                              "outcome": outcomes.CONFLICT.name, "error_code": STATUS_CONFLICT,
                              "error_message": plan.reason, "changed_fields": []})
            for name, value in plan.order.items():
                if not name.startswith("_"):
                    diff.append({"source_key": key, "op": "update", "field": name,
                                 "before": order.tracked.get(name), "after": value})
            for line in plan.lines:
                for name, value in line["changes"].items():
                    diff.append({"source_key": key, "op": "update", "field": f"line {line['psa_id']}.{name}",
                                 "before": None, "after": value})
        frame = pd.DataFrame(rows, columns=["source_key", "psa_id", "op", "fingerprint", "fields", "before", "reason"])
        counts = {str(op): int(n) for op, n in frame["op"].value_counts().items()}
        diff_frame = pd.DataFrame(diff, columns=["source_key", "op", "field", "before", "after"]).astype("string")
        return PlanSummary(plan_path=self.stage_plan(run, frame), counts=counts, diff=diff_frame,
                           items=pd.DataFrame(items) if items else None)

    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        import json

        plan = self.read_plan(plan_path)
        operations = []
        for row in plan[plan["op"] == "update"].itertuples():
            fields = json.loads(str(row.fields))
            changed = [k for k in fields["order"] if not k.startswith("_")] + [
                f"line.{name}" for line in fields["lines"] for name in line["changes"]]
            operations.append(self.operation(
                key=f"status:{row.source_key}", op="update", source_key=str(row.source_key),
                target_id=str(row.psa_id), fields=fields, changed_fields=sorted(set(changed)),
                fingerprint=str(row.fingerprint), before=json.loads(str(row.before))))
        summary = self.load(run, operations, self._adapter(run))
        summary.details["unchanged"] = int((plan["op"] == "unchanged").sum())
        return summary


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)
