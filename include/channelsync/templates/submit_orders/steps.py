"""submit_orders: PSA purchase orders in the submit state → TD SYNNEX XML PO submission, exactly once, and
the distributor's order number (or every reason it was not sent) back on the PSA PO.

- extract: the PSA's POs to the vendor in the submit state (with their lines and the lines' TD SYNNEX
  SKUs), TD SYNNEX P&A for every SKU on them; one row per PO with every check column
  (``planning.order_checks``) and the PO itself as JSON;
- validate: ``quality/orders.submit_suite``: a PO failing any check is quarantined with every reason;
- reconcile: per PO, ``planning.decide`` with the ledger's state of its submission (any integration on
  this TD SYNNEX account) and this integration's cross-reference; conflicts and stuck POs are items
  (stuck ones also an alert); the load is mapped, one task instance per PO to write;
- load (one PO): ``mark_invalid`` → one PSA update (status + note with every reason); ``submit`` → the
  submission through the ledger on the TD SYNNEX account (``target``: tenant-scoped, key
  ``po:<customer PO number>``: never twice, whatever run or integration), then the write-back to the PSA
  (status, order number, note) as a run-scoped update of absolute values.

The submission is planned as the ledger's ``create`` operation (reported ``submitted``): an uncertain
claim is looked up (TD SYNNEX PO status for the customer PO number) before anything is sent again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.adapters.psa_orders import PsaOrderAdapter, order_adapter
from channelsync.adapters.tdsynnex_orders import SYSTEM as TDS_SYSTEM
from channelsync.adapters.tdsynnex_orders import TdSynnexOrders
from channelsync.canonical.orders import PsaOrder, status_fingerprint
from channelsync.clients.tdsynnex.codes import TDS_PO_REJECTED
from channelsync.errors import define
from channelsync.runs import outcomes
from channelsync.runs.steps import ItemOutcome, LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.state.ledger import Target
from channelsync.templates.submit_orders import planning
from channelsync.templates.submit_orders.options import SubmitOrdersOptions

if TYPE_CHECKING:
    from channelsync.clients.tdsynnex.xmlmodels import PoSubmission
    from channelsync.quality.suite import Suite
    from channelsync.runs.context import RunContext
    from channelsync.runs.loader import Operation

log = logging.getLogger(__name__)

ENTITY = "order"
PSA_ENTITY = "purchase_order"  # the PSA adapters' cross-reference (shared with order_status)
SUBMITTED = outcomes.declare("submitted", stage="load", kind="write",
                             description="sent to the distributor and accepted; its order number written back")
REJECTED = outcomes.declare("rejected", stage="load", kind="failure",
                            description="the distributor rejected the order; marked in the PSA with its reasons")
MARKED_INVALID = outcomes.declare("marked_invalid", stage="load", kind="warning",
                                  description="failed validation: marked in the PSA with every reason, never sent")
STUCK = outcomes.declare("stuck", stage="reconcile", kind="warning",
                         description="in the submit state longer than configured without an accepted order")
ORDER_CONFLICT = define("ORDER_CONFLICT", "channelsync",
                        "The PO was submitted already but a person set it back to the submit state; not sent again")
ORDER_STUCK = define("ORDER_STUCK", "channelsync",
                     "A purchase order is in the submit state longer than configured without an accepted order")
WRITEBACK_FAILED = define("ORDER_WRITEBACK_FAILED", "channelsync",
                          "The distributor accepted the order but writing its number back to the PSA failed")
ORDER_INVALID = define("ORDER_INVALID", "channelsync",
                       "The purchase order failed validation; marked in the PSA with every reason and not sent")
PLAN_OPS = ("submit", "mark_invalid")
PLAN_COLUMNS = ("source_key", "op", "problems", "order_json")  # what the load reads of the plan
PLAN_ROW_GROUP = 64  # POs per row group of the staged plan (what a mapped task decodes of it)


class SubmitOrdersSteps(TemplateBase[SubmitOrdersOptions]):
    entity_type = ENTITY
    op_outcomes = {"create": SUBMITTED.name, "update": outcomes.UPDATED.name}
    tenant_scoped_ops = frozenset({"create"})

    # ---- clients -----------------------------------------------------------------------------------
    def _tds(self, run: RunContext) -> Any:
        return run.tdsynnex_client()

    def _adapter(self, run: RunContext) -> PsaOrderAdapter:
        options = self.options(run)
        return order_adapter(run.integration.psa.system, run.psa_client(), vendor=options.vendor,
                             default_country=options.default_country)

    def target(self, run: RunContext) -> Target:
        """The TD SYNNEX account: the key of a submission is the account + customer PO number."""
        return Target(TDS_SYSTEM, str(self._tds(run).tenant_id))

    def _statuses(self, run: RunContext) -> tuple[str, str, str]:
        return planning.psa_statuses(self.options(run), run.integration.psa.system)

    # ---- extract -----------------------------------------------------------------------------------
    def extract(self, run: RunContext) -> pd.DataFrame:
        options = self.options(run)
        submit_status, submitted_status, _ = self._statuses(run)
        # Autotask's submit and submitted states are one: a PO already carrying its order number is done.
        read = self._adapter(run).read_orders(statuses=[submit_status])
        orders = [o for o in read if not planning.shows_submitted(o, submitted_status)]
        skus = sorted({line.sku for order in orders for line in order.lines if line.sku})
        pna: dict[str, planning.Pna] = {}
        if skus:
            pna = {r.requested: planning.Pna(status=r.status, price=float(r.price) if r.price is not None else None)
                   for r in self._tds(run).price_availability(skus=skus)}
        tolerance = planning.Tolerance(options.price_tolerance, options.price_tolerance_percent)
        rows = []
        for order in orders:
            po_number = planning.customer_po_number(order, options.po_number_prefix)
            rows.append({"source_key": po_number, "psa_id": order.psa_id, "status": order.status,
                         "since": order.since, "lines": len(order.lines),
                         **planning.order_checks(order, po_number, pna, tolerance), "order_json": order.to_json()})
        columns = ["source_key", "psa_id", "status", "since", "lines", *planning.CHECK_COLUMNS, "order_json"]
        frame = pd.DataFrame(rows, columns=columns)
        for column in columns:
            frame[column] = frame[column].astype("Int64" if column == "lines" else "string")
        log.info("extract: %d purchase order(s) to submit in %r (%d already submitted), %d distinct SKU(s) priced",
                 len(frame), submit_status, len(read) - len(orders), len(skus))
        return frame

    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.orders import submit_suite

        return submit_suite()

    # ---- reconcile ---------------------------------------------------------------------------------
    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        from channelsync.runs.staging import read_frame
        from channelsync.state import repository

        submit_status, submitted_status, invalid_status = self._statuses(run)
        quarantined = set(self.quarantined_keys(run))
        extracted = read_frame(run.staging / "extract.parquet")
        picked = extracted[extracted["source_key"].isin(set(valid["source_key"].astype(str)) | quarantined)]
        keys = [str(k) for k in picked["source_key"]]
        ledger = self.ledger(run)
        states = ledger.statuses([self._submit_op(key, {}, None) for key in keys]) if keys else {}
        # POs this integration wrote a submitted (or later) status to; marking a PO invalid does not count.
        written = {key for key, _psa, fingerprint in repository.load_xref(
            run.state_url, integration=run.integration.name, entity_type=PSA_ENTITY)
            if fingerprint != status_fingerprint(invalid_status)}
        options, now = self.options(run), datetime.now(UTC)
        rows, items = [], []
        for row in picked.itertuples(index=False):
            order = PsaOrder.from_json(str(row.order_json))
            key = str(row.source_key)
            decision = planning.decide(
                order, valid=key not in quarantined, ledger_status=states.get(f"po:{key}"),
                written_before=key in written, submit_status=submit_status, submitted_status=submitted_status,
                stuck_after_hours=options.stuck_after_hours, now=now)
            problems = planning.reasons(row._asdict()) if decision.op == "mark_invalid" else []
            rows.append({"source_key": key, "psa_id": order.psa_id, "op": decision.op, "reason": decision.reason,
                         "problems": "\n".join(problems), "order_json": row.order_json})
            if decision.op == "conflict":
                items.append(self._item(key, order.psa_id, outcomes.CONFLICT.name, ORDER_CONFLICT, decision.reason))
            if decision.stuck:
                items.append(self._item(key, order.psa_id, STUCK.name, ORDER_STUCK, decision.stuck))
                if not run.preview:
                    record_alert(run, ORDER_STUCK, f"PO {key} stuck: {decision.stuck}")
        frame = pd.DataFrame(rows, columns=["source_key", "psa_id", "op", "reason", "problems", "order_json"])
        counts = {str(op): int(n) for op, n in frame["op"].value_counts().items()}
        diff = pd.DataFrame(
            [{"source_key": r["source_key"], "op": r["op"], "field": "status",
              "before": PsaOrder.from_json(r["order_json"]).status,
              "after": submitted_status if r["op"] == "submit" else invalid_status}
             for r in rows if r["op"] in PLAN_OPS],
            columns=["source_key", "op", "field", "before", "after"])
        return PlanSummary(plan_path=self.stage_plan(run, frame), counts=counts, diff=diff,
                           items=pd.DataFrame(items) if items else None,
                           partitions=sorted(r["source_key"] for r in rows if r["op"] in PLAN_OPS))

    def _item(self, key: str, psa_id: str, outcome: str, code: str, message: str | None) -> dict[str, Any]:
        return {"entity_type": ENTITY, "source_key": key, "psa_id": psa_id, "outcome": outcome, "error_code": code,
                "error_message": message, "changed_fields": []}

    # ---- load --------------------------------------------------------------------------------------
    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        rows = self._plan_rows(plan_path, partition)
        orders = {str(r["source_key"]): PsaOrder.from_json(str(r["order_json"])) for r in rows}
        invalid = [str(r["source_key"]) for r in rows if r["op"] == "mark_invalid"]
        problems = {str(r["source_key"]): [p for p in (r["problems"] if isinstance(r["problems"], str) else "")
                                           .split("\n") if p] for r in rows}
        to_submit = [str(r["source_key"]) for r in rows if r["op"] == "submit"]

        results: list[ItemOutcome] = []
        retriable = 0
        adapter = self._adapter(run)
        submit_status, submitted_status, invalid_status = self._statuses(run)

        # 1. submit (TD SYNNEX, tenant-scoped: exactly once on the account)
        executor = TdSynnexOrders(self._tds(run))
        submitted = self.load(run, [self._submit_op(key, self._fields(run, orders[key], key), None)
                                    for key in to_submit], executor) if to_submit else LoadSummary([])
        retriable += submitted.retriable_failures

        # 2. write back (the PSA: absolute values, run-scoped)
        updates: list[Operation] = []
        by_key: dict[str, ItemOutcome] = {}
        for outcome in submitted.outcomes:
            key = outcome.source_key
            order = orders[key]
            if outcome.outcome in (SUBMITTED.name, outcomes.LINKED.name, outcomes.UNCHANGED.name) and outcome.psa_id:
                numbers = "" if str(outcome.psa_id).startswith("po:") else str(outcome.psa_id)  # "po:…": none known
                changes = planning.accepted_update(order, numbers, attention(executor.results.get(key)),
                                                   submitted_status=submitted_status)
                by_key[key] = outcome
            elif outcome.error_code == TDS_PO_REJECTED:
                changes = planning.rejected_update(order, str(outcome.error_message or ""),
                                                   invalid_status=invalid_status)
                by_key[key] = replace(outcome, outcome=REJECTED.name)
            else:
                by_key[key] = outcome  # failed / deferred: nothing to tell the PSA yet
                continue
            if changes:
                updates.append(self._update_op(f"writeback:{key}", key, order, changes))
        for key in invalid:
            order = orders[key]
            changes = planning.invalid_update(order, problems[key], invalid_status=invalid_status,
                                              submit_status=submit_status)
            by_key[key] = ItemOutcome(key, MARKED_INVALID.name, order.psa_id, error_code=ORDER_INVALID,
                                      error_message="; ".join(problems[key]))
            if changes:
                updates.append(self._update_op(f"invalid:{key}", key, order, changes))
        if updates:
            written = self.load(run, updates, adapter, target=run.psa_target())
            retriable += written.retriable_failures
            for outcome in written.outcomes:
                by_key[outcome.source_key] = _merge(by_key[outcome.source_key], outcome)
        results.extend(by_key.values())
        return LoadSummary(outcomes=results, retriable_failures=retriable)

    def stage_plan(self, run: RunContext, frame: pd.DataFrame) -> str:
        """The plan sorted by PO in row groups of :data:`PLAN_ROW_GROUP`: a mapped task (one PO) reads the
        one row group its PO is in (the row groups' min / max say which), not the whole plan."""
        path = run.staging / "plan.parquet"
        with path.open("wb") as sink:
            frame.sort_values("source_key", kind="stable").to_parquet(sink, index=False,
                                                                      row_group_size=PLAN_ROW_GROUP)
        return str(path)

    def _plan_rows(self, plan_path: str, partition: str | None) -> list[dict[str, Any]]:
        """The plan's rows to load: every PO to write, or the partition's one, read with Arrow from its
        row group only (a plan of a thousand POs read whole into pandas cost a mapped task more than its
        ledger claim, and grew with the plan)."""
        if partition is None:
            plan = self.read_plan(plan_path)
            plan = plan[plan["op"].isin(PLAN_OPS)]
            return plan[list(PLAN_COLUMNS)].to_dict("records")  # type: ignore[no-any-return]
        from channelsync.runs.staged_rows import read_where

        mine = read_where(plan_path, "source_key", [partition], columns=list(PLAN_COLUMNS))
        return [row for row in mine.to_pylist() if row["op"] in PLAN_OPS]

    def _submit_op(self, key: str, fields: dict[str, Any], psa_id: str | None) -> Operation:
        return self.operation(key=f"po:{key}", op="create", source_key=key, target_id=psa_id, fields=fields)

    def _update_op(self, op_key: str, key: str, order: PsaOrder, changes: dict[str, Any]) -> Operation:
        return self.operation(key=op_key, op="update", source_key=key, target_id=order.psa_id,
                              fields={"order": changes}, changed_fields=[k for k in changes if not k.startswith("_")],
                              fingerprint=planning.fingerprint_after(order, changes),
                              before={k: order.tracked.get(k) for k in changes if not k.startswith("_")})

    def _fields(self, run: RunContext, order: PsaOrder, key: str) -> dict[str, Any]:
        options = self.options(run)
        return planning.submission_fields(order, key, ship_method=options.ship_method, drop_ship=options.drop_ship,
                                          backorder_allowed=options.backorder_allowed)


def attention(submission: PoSubmission | None) -> list[str]:
    """Lines of an accepted submission a person should know about (back-orders, manual handling)."""
    if submission is None:
        return []
    notes = []
    for line in submission.lines:
        if line.code == "rejected":
            notes.append(f"line {line.line_number} (SKU {line.sku}): rejected by TD SYNNEX: "
                         f"{line.reason or 'no reason'}")
        elif line.order_type == "99":
            notes.append(f"line {line.line_number} (SKU {line.sku}): held by TD SYNNEX for manual handling "
                         f"({line.reference or 'see your TD SYNNEX rep'})")
        elif line.order_type == "BO":
            notes.append(f"line {line.line_number} (SKU {line.sku}): back-ordered")
    return notes


def _merge(first: ItemOutcome, written: ItemOutcome) -> ItemOutcome:
    """One item per PO: the submission's outcome, unless writing it back to the PSA failed."""
    if written.outcome in (outcomes.FAILED.name, outcomes.DEFERRED.name):
        what = f"{first.outcome} ({first.psa_id})" if first.psa_id else first.outcome
        return replace(written, error_code=written.error_code or WRITEBACK_FAILED,
                       error_message=f"{what}, but the PSA write-back did not happen: {written.error_message}",
                       warnings=[*first.warnings, *written.warnings])
    return replace(first, changed_fields=written.changed_fields, warnings=[*first.warnings, *written.warnings])


def record_alert(run: RunContext, code: str, subject: str) -> None:
    """An alert row (the operations work sends it; ``alerts.py``)."""
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    with session_scope(run.state_url) as session:
        session.add(AlertLog(integration=run.integration.name, template=run.template, error_code=code,
                             severity="warning", recipients=list(run.integration.alerts.emails),
                             subject=f"[channelsync] {run.integration.name} {run.template}: {subject}"[:300],
                             status="logged"))
