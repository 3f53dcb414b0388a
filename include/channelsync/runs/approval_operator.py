"""The approval gate between reconcile and load: Airflow's own ``ApprovalOperator``, so a plan that needs a
person shows in Airflow's *Required actions* (with the plan's summary and links to its diff) and the answer
is Airflow's, with who and when.

When the plan needs no approval (``runs/approval.py``: a preview, nothing to write, the mode, the first
runs done, no threshold crossed, or this very plan approved already — a cleared gate or load) the task
returns at once without a request, so nothing shows in Required actions. Approved: the load runs.
Rejected, or no answer within ``timeout_hours`` (the scheduler's timeout sweep): the load is skipped, the
decision is the run's held item and the report ends the run Warning with the reason — never Failure.

Imported at DAG parse time only for DAGs whose integration asks for approval.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict

from channelsync.runs.approval_config import ApprovalConfig

log = logging.getLogger(__name__)
TASK_ID = "approve_plan"


class PlanApprovalOperator(ApprovalOperator):
    """Asks for approval of the reconcile task's plan when :func:`channelsync.runs.approval.requirement`
    says so; records the decision keyed by the run and the plan's digest."""

    def __init__(self, *, integration: str, template: str, partitioned: bool, approval: ApprovalConfig,
                 **kwargs: Any) -> None:
        # The DAG's params come in ``params`` too; the request's form shows only the task's own (the comment).
        given = kwargs.pop("params", None)
        params = given if isinstance(given, ParamsDict) else ParamsDict(given or {})
        params["comment"] = Param("", type=["null", "string"], title="Comment", source="task",
                                  description="Why (optional): recorded with the decision")
        super().__init__(
            subject=f"Approve the plan of {integration} · {template}",  # replaced by the plan's own in execute
            response_timeout=timedelta(hours=approval.timeout_hours), params=params,
            assigned_users=[{"id": user, "name": user} for user in approval.approvers] or None, **kwargs,
        )
        self.integration, self.template, self.partitioned, self.approval = (integration, template, partitioned,
                                                                            approval)

    def execute(self, context: Any) -> Any:
        from channelsync import settings
        from channelsync.runs import approval

        ti = context["ti"]
        planned = ti.xcom_pull(task_ids="reconcile")
        run_id = int(planned["run_id"])
        url = settings.state_url()
        if bool(context["params"].get("preview", False)):
            return self._pass(url, run_id, "a preview writes nothing")
        digest = approval.plan_digest(planned)
        known = approval.find(url, run_id, digest)
        if known is not None and known["decision"] == "approved":
            return self._pass(url, run_id, f"this plan was approved by {known['decided_by']} at "
                                           f"{known['decided_at']:%Y-%m-%d %H:%M:%S} UTC; not asked again")
        upstream = {name: ti.xcom_pull(task_ids=name) for name in ("extract", "validate")}
        need = approval.requirement(
            self.approval, template=self.template, partitioned=self.partitioned, preview=False, planned=planned,
            upstream=upstream,
            approved_runs=approval.approved_runs(url, integration=self.integration, template=self.template,
                                                 other_than=run_id) if self.approval.mode == "first_runs" else 0,
        )
        if not need.required:
            return self._pass(url, run_id, "; ".join(need.reasons))
        approval.record_request(url, run_id=run_id, integration=self.integration, template=self.template,
                                digest=digest, requirement=need, planned=planned)
        run_key = f"{ti.dag_id}/{ti.run_id}"
        self.subject, self.body = approval.request_text(
            integration=self.integration, template=self.template, run_id=run_id, run_key=run_key, planned=planned,
            requirement=need, timeout_hours=self.approval.timeout_hours, links=_links(run_key, run_id))
        log.info("approval asked (Required actions): %s", "; ".join(need.reasons))
        return super().execute(context)  # the request, then the task waits for the answer

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from channelsync import settings
        from channelsync.runs import approval

        ti = context["ti"]
        url = settings.state_url()
        run_id = int(ti.xcom_pull(task_ids="reconcile")["run_id"])
        asked = approval.latest(url, run_id)
        assert asked is not None, "an answer to a request channelsync did not record"
        if event.get("error_type") == "timeout":  # the scheduler's sweep: nobody answered in time
            reason = approval.record_decision(url, run_id=run_id, digest=asked["plan_digest"], decision="timed_out",
                                              decided_by=None, decided_at=datetime.now(UTC), comment=None,
                                              timeout_hours=self.approval.timeout_hours)
            log.warning("%s", reason)
            self.skip(ti=ti, tasks=context["task"].get_direct_relatives(upstream=False))  # raises: load skipped
            return None
        if "error" not in event:
            chosen = list(event.get("chosen_options") or [])
            user = event.get("responded_by_user") or {}
            by = user.get("name") or user.get("id")
            if by and user.get("id") and user["id"] != by:
                by = f"{by} ({user['id']})"
            reason = approval.record_decision(
                url, run_id=run_id, digest=asked["plan_digest"],
                decision="approved" if chosen == [self.APPROVE] else "rejected", decided_by=by,
                decided_at=event.get("responded_at") or datetime.now(UTC),
                comment=(event.get("params_input") or {}).get("comment"), timeout_hours=self.approval.timeout_hours)
            log.info("%s", reason)
        # Approve: the load runs; Reject: Airflow's operator skips it (the report still closes the run).
        return super().execute_complete(context, event)

    def _pass(self, url: str, run_id: int, why: str) -> dict[str, Any]:
        """No request: the load goes on. A plan of this run held earlier (rejected, then the gate cleared on a
        plan that needs no approval) is not held any more."""
        from channelsync.runs import approval
        from channelsync.state import repository

        repository.replace_items(url, run_id, "load", [], partition=approval.HOLD_PARTITION)
        log.info("no approval needed: %s", why)
        return {"required": False, "reason": why}


def _links(run_key: str, run_id: int) -> dict[str, str]:
    """Where the person reads the plan: channelsync's status page of the run (every planned item with
    before → after, as a preview shows it), the reconcile task's log (the diff's first rows) and the DAG run."""
    from channelsync.ui.links import airflow_base_url, dag_run_url, status_page_url, task_log_url

    root = airflow_base_url()
    found = {"the plan (channelsync status page)": status_page_url(run_id, root),
             "the reconcile log (field-level diff)": task_log_url(root, run_key, "reconcile"),
             "the DAG run": dag_run_url(root, run_key)}
    return {label: url for label, url in found.items() if url}
