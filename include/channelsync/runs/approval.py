"""Approval gates (issue #12): whether a run's plan needs a person's approval before its load, what the
request says, and the decision, recorded in the state store.

The Airflow side is ``runs/approval_operator.py`` (Airflow's own ``ApprovalOperator``, so the request is
in Airflow's *Required actions*). Here, without Airflow:

- :func:`requirement`: never for a preview (it writes nothing) or a plan with nothing to write; else by
  the integration's ``approval`` mode (``runs/approval_config.py``) — ``first_runs`` counts the real runs
  of the integration and template a person approved (:func:`approved_runs`);
- :func:`plan_digest`: what an approval is of. One row per (run, digest) in ``sync_approvals``: a cleared
  gate or load of the same run finds its plan approved and does not ask again;
- a rejected or unanswered plan is recorded as one item of the run (``plan_rejected`` /
  ``approval_timed_out``, warning kind, with who / when / why): the run ends **Warning** and its
  DAG-run note says why, without a second status rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from channelsync.errors import define
from channelsync.runs import outcomes
from channelsync.runs.approval_config import ApprovalConfig

REJECTED_CODE = define(
    "APPROVAL_REJECTED", "channelsync", "A person rejected the run's plan before its load; nothing was written",
    explanation="The integration requires a person's approval of this plan before it is loaded (its approval "
                "setting), and the person who answered the request in Airflow's Required actions rejected it. "
                "Nothing of the plan was written.",
    action="Read the plan (the reconcile task's log, the run's diff), fix what made it wrong, and run again; the "
           "next run asks again.",
    first_responder="data engineer", rerun_fixes=False)
TIMED_OUT_CODE = define(
    "APPROVAL_TIMED_OUT", "channelsync", "Nobody approved the run's plan in time; nothing was written",
    explanation="The integration requires a person's approval of this plan before it is loaded, and nobody "
                "answered the request in Airflow's Required actions within the approval timeout. Nothing of the "
                "plan was written.",
    action="Run again and answer the request in Airflow's Required actions (Browse → Required actions) before "
           "the timeout, or raise approval.timeout_hours.",
    first_responder="data engineer", rerun_fixes=True, alert="email")  # whoever should have answered did not

HOLD_PARTITION = "(approval)"  # the held plan's item: only the gate records or removes it
HOLD_OUTCOMES = {"rejected": (outcomes.PLAN_REJECTED.name, REJECTED_CODE),
                 "timed_out": (outcomes.APPROVAL_TIMED_OUT.name, TIMED_OUT_CODE)}
# Plan operations that write nothing: a plan of only these needs no approval.
NO_WRITE_OPS = frozenset({"unchanged", "skipped", "duplicate", "conflict", "flagged", "unmapped", "invalid"})


@dataclass(frozen=True)
class Measure:
    name: str  # an ApprovalThresholds field
    value: float
    text: str  # how it was measured, for the request


@dataclass
class Requirement:
    required: bool
    reasons: list[str]  # why approval is asked (or why not)
    measures: list[Measure] = field(default_factory=list)

    def summary(self, planned: dict[str, Any]) -> dict[str, Any]:
        return {"counts": dict(planned.get("counts") or {}), "partitions": len(planned.get("partitions") or []),
                "measures": [asdict(m) for m in self.measures]}


def requirement(config: ApprovalConfig, *, template: str, partitioned: bool, preview: bool,
                planned: dict[str, Any], upstream: dict[str, Any], approved_runs: int) -> Requirement:
    """Whether this plan must wait for a person (``upstream``: the extract and validate results)."""
    if config.mode == "never":
        return Requirement(False, ["approval is not required (mode never)"])
    if preview:
        return Requirement(False, ["a preview writes nothing"])
    if nothing_to_write(planned, partitioned=partitioned):
        return Requirement(False, ["the plan writes nothing"])
    if config.mode == "always":
        return Requirement(True, ["every run of this template is approved first (approval mode always)"])
    if config.mode == "first_runs":
        if approved_runs < config.first_runs:
            return Requirement(True, [f"the first {config.first_runs} real run(s) are approved first; "
                                      f"{approved_runs} approved so far"])
        return Requirement(False, [f"the first {config.first_runs} run(s) were approved"])
    thresholds = config.set_thresholds(template)
    found = measure(template, planned, upstream, wanted=set(thresholds))
    crossed = [f"{m.text}: above the threshold {_shown(m.name, thresholds[m.name])}"
               for m in found if m.value > thresholds[m.name]]
    if crossed:
        return Requirement(True, crossed, found)
    return Requirement(False, ["no threshold crossed" + (f" ({'; '.join(m.text for m in found)})" if found else "")],
                       found)


def nothing_to_write(planned: dict[str, Any], *, partitioned: bool) -> bool:
    if partitioned:
        return not planned.get("partitions")
    return not any(n for op, n in (planned.get("counts") or {}).items() if op not in NO_WRITE_OPS)


def measure(template: str, planned: dict[str, Any], upstream: dict[str, Any], *, wanted: set[str]) -> list[Measure]:
    """The plan's measures ``wanted`` (those the template has, runs/approval_config.MEASURES)."""
    counts = {op: int(n) for op, n in (planned.get("counts") or {}).items()}
    total = sum(counts.values())
    found: list[Measure] = []
    if "changed_share" in wanted:
        changed = counts.get("update", 0) + counts.get("deactivate", 0)
        found.append(Measure("changed_share", changed / total if total else 0.0,
                             f"{changed} of {total} planned item(s) updated or deactivated "
                             f"({_percent(changed, total)})"))
    if "deactivated_share" in wanted:
        gone = counts.get("deactivate", 0)
        found.append(Measure("deactivated_share", gone / total if total else 0.0,
                             f"{gone} of {total} planned item(s) deactivated ({_percent(gone, total)})"))
    if "orders" in wanted:  # POs to submit (submit_orders' partitions also hold those only marked invalid)
        orders = counts["submit"] if "submit" in counts else len(planned.get("partitions") or [])
        found.append(Measure("orders", float(orders), f"{orders} purchase order(s) to submit"))
    if "billing_gap_share" in wanted:
        found.append(_billing_gap(planned, upstream))
    return found


def _billing_gap(planned: dict[str, Any], upstream: dict[str, Any]) -> Measure:
    """The share of the invoice total (at cost, per currency; the worst currency counts) that the run's
    customers will not post: every extracted line against the valid lines of the customers to bill."""
    from channelsync.runs.staging import read_frame

    invoice = read_frame(upstream["extract"]["path"])
    valid = read_frame(upstream["validate"]["path"])
    billed = valid[valid["customer_key"].isin(list(planned.get("partitions") or []))]
    worst = Measure("billing_gap_share", 0.0, "the invoice has no lines")
    for currency, lines in invoice.groupby(invoice["currency"].fillna("?"), sort=True):
        total = float(lines["cost_total"].fillna(0).sum())
        posted = float(billed.loc[billed["currency"].fillna("?") == currency, "cost_total"].fillna(0).sum())
        gap = abs(total - posted) / abs(total) if total else (1.0 if posted else 0.0)
        if gap >= worst.value:
            worst = Measure("billing_gap_share", gap,
                            f"{posted:,.2f} {currency} of the invoice total {total:,.2f} {currency} (at cost) "
                            f"to post ({gap:.1%} not posted)")
    return worst


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0%"


def _shown(name: str, value: float) -> str:
    return f"{int(value)}" if name == "orders" else f"{value:.1%}"


def plan_digest(planned: dict[str, Any]) -> str:
    """What an approval is of: the staged plan and diff files, the counts and the partitions."""
    from channelsync.runs.staging import as_path

    digest = hashlib.sha256(json.dumps({"counts": planned.get("counts") or {},
                                        "partitions": planned.get("partitions") or []}, sort_keys=True).encode())
    for key in ("plan_path", "diff_path"):
        url = planned.get(key)
        if url:
            with as_path(url).open("rb") as source:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


# -- the state store ---------------------------------------------------------------------------------

def approved_runs(url: str, *, integration: str, template: str, other_than: int) -> int:
    """Real (not preview) runs of ``integration``/``template`` whose plan a person approved."""
    from sqlalchemy import func, select

    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncApproval, SyncRun

    with session_scope(url) as session:
        return int(session.scalar(
            select(func.count(func.distinct(SyncApproval.run_id))).join(SyncRun, SyncRun.id == SyncApproval.run_id)
            .where(SyncApproval.integration == integration, SyncApproval.template == template,
                   SyncApproval.decision == "approved", SyncApproval.run_id != other_than,
                   SyncRun.preview.is_(False))
        ) or 0)


def find(url: str, run_id: int, digest: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncApproval

    with session_scope(url) as session:
        row = session.scalars(select(SyncApproval).where(SyncApproval.run_id == run_id,
                                                         SyncApproval.plan_digest == digest)).first()
        return _as_dict(row) if row is not None else None


def latest(url: str, run_id: int) -> dict[str, Any] | None:
    """The run's last approval request (a cleared gate may have asked for a new plan)."""
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncApproval

    with session_scope(url) as session:
        row = session.scalars(select(SyncApproval).where(SyncApproval.run_id == run_id)
                              .order_by(SyncApproval.requested_at.desc(), SyncApproval.id.desc())).first()
        return _as_dict(row) if row is not None else None


def held(url: str, run_id: int) -> tuple[str, str] | None:
    """(error code, reason) of the run's held plan — rejected or unanswered, its load skipped — else None.
    The held item is the truth: a gate cleared later that passed (or was approved) removed it."""
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncItem

    with session_scope(url) as session:
        row = session.execute(select(SyncItem.error_code, SyncItem.error_message).where(
            SyncItem.run_id == run_id, SyncItem.stage == "load", SyncItem.partition == HOLD_PARTITION)).first()
    return (str(row[0]), str(row[1])) if row is not None else None


def record_request(url: str, *, run_id: int, integration: str, template: str, digest: str,
                   requirement: Requirement, planned: dict[str, Any]) -> None:
    """The request as sent (pending); asking again for the same plan (a rejected one, cleared) resets it."""
    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncApproval
    from channelsync.state.upsert import upsert

    with session_scope(url) as session:
        upsert(session, SyncApproval, [{
            "run_id": run_id, "integration": integration, "template": template, "plan_digest": digest,
            "decision": "pending", "reasons": requirement.reasons, "summary": requirement.summary(planned),
            "requested_at": datetime.now(UTC), "decided_at": None, "decided_by": None, "comment": None,
            "reason": None,
        }], keys=["run_id", "plan_digest"],
            update=["decision", "reasons", "summary", "requested_at", "decided_at", "decided_by", "comment", "reason"])


def record_decision(url: str, *, run_id: int, digest: str, decision: str, decided_by: str | None,
                    decided_at: datetime, comment: str | None, timeout_hours: float) -> str:
    """Record the answer; a rejected or unanswered plan becomes the run's held item. Returns the reason."""
    from channelsync.state import repository
    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncApproval

    reason = decision_text(decision, decided_by=decided_by, decided_at=decided_at, comment=comment,
                           timeout_hours=timeout_hours)
    with session_scope(url) as session:
        from sqlalchemy import select

        row = session.scalars(select(SyncApproval).where(SyncApproval.run_id == run_id,
                                                         SyncApproval.plan_digest == digest)).one()
        row.decision, row.decided_by, row.decided_at, row.comment = decision, decided_by, decided_at, comment
        row.reason = reason
    held = HOLD_OUTCOMES.get(decision)
    items = [] if held is None else [{"entity_type": "plan", "source_key": f"plan {digest[:12]}", "outcome": held[0],
                                      "error_code": held[1], "error_message": reason}]
    repository.replace_items(url, run_id, "load", items, partition=HOLD_PARTITION)
    return reason


def decision_text(decision: str, *, decided_by: str | None, decided_at: datetime, comment: str | None,
                  timeout_hours: float) -> str:
    when = decided_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if decision == "timed_out":
        return f"approval: nobody answered within {timeout_hours:g} h (timed out {when}); nothing was written"
    verb = {"approved": "approved", "rejected": "rejected"}.get(decision, decision)
    text = f"approval: plan {verb} by {decided_by or 'unknown'} at {when}"
    if decision == "rejected":
        text += "; nothing was written"
    return text + (f" — {comment.strip()}" if comment and comment.strip() else "")


def _as_dict(row: Any) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}


# -- the request as a person reads it ----------------------------------------------------------------

def request_text(*, integration: str, template: str, run_id: int, run_key: str, planned: dict[str, Any],
                 requirement: Requirement, timeout_hours: float, links: dict[str, str]) -> tuple[str, str]:
    """(subject, Markdown body) of the request in Airflow's Required actions."""
    counts = {op: n for op, n in sorted((planned.get("counts") or {}).items()) if n}
    headline = ", ".join(f"{n} {op}" for op, n in counts.items()) or "no operations"
    subject = f"Approve the plan of {integration} · {template} (run {run_id}): {headline}"
    lines = [f"**{integration} · {template}**, channelsync run {run_id} (`{run_key}`)", "",
             "**Why approval is asked**", *[f"- {reason}" for reason in requirement.reasons], "",
             "**The plan**", "", "| operation | count |", "|---|---:|",
             *[f"| {op} | {n} |" for op, n in counts.items()]]
    if planned.get("partitions"):
        lines += ["", f"{len(planned['partitions'])} load task(s), one per customer / order."]
    other = [m.text for m in requirement.measures if not any(m.text in r for r in requirement.reasons)]
    if other:
        lines += ["", "Also measured: " + "; ".join(other) + "."]
    lines += ["", "**The diff**: " + " · ".join(f"[{label}]({url})" for label, url in links.items())]
    if planned.get("diff_path"):
        lines += ["", f"Every field-level change: `{planned['diff_path']}`"]
    lines += ["", f"**Approve** loads this plan. **Reject**, or no answer within {timeout_hours:g} h, writes nothing "
              "and ends the run as Warning with the reason."]
    return subject[:250], "\n".join(lines)
