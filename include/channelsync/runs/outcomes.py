"""Item outcomes, declared once: the runner, the status rules and the loader all read this registry.

An outcome has a name (what ``sync_items.outcome`` holds), the stage that records it (a retried stage
replaces its own items and nobody else's) and a kind that says what it means for the run:

- ``write``: something was written to the target (makes a run Success);
- ``warning``: needs a look (quarantined row, conflict, deferred write) — the run is Warning;
- ``failure``: the item failed; the run goes on and ends Warning (a failed *stage* is a Failure);
- ``neutral``: nothing to do (unchanged).

A template with an outcome of its own (``posted``, ``submitted``) declares it in its module with
:func:`declare`; nothing in ``runs/`` changes. Declaring the same outcome twice is fine when the
declarations agree, and an error when they do not (two templates must not give one name two meanings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stage = Literal["validate", "reconcile", "load"]
Kind = Literal["write", "warning", "failure", "neutral"]
STAGES: tuple[Stage, ...] = ("validate", "reconcile", "load")


@dataclass(frozen=True)
class Outcome:
    name: str
    stage: Stage
    kind: Kind
    description: str


class UnknownOutcome(KeyError):
    def __str__(self) -> str:
        return f"item outcome {self.args[0]!r} is not declared (channelsync.runs.outcomes.declare)"


_REGISTRY: dict[str, Outcome] = {}


def declare(name: str, *, stage: Stage, kind: Kind, description: str) -> Outcome:
    outcome = Outcome(name, stage, kind, description)
    known = _REGISTRY.get(name)
    if known is not None and (known.stage, known.kind) != (stage, kind):
        raise ValueError(f"outcome {name!r} is already declared as {known.kind} of stage {known.stage}")
    _REGISTRY.setdefault(name, outcome)
    return _REGISTRY[name]


def get(name: str) -> Outcome:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownOutcome(name) from None


def all_outcomes() -> tuple[Outcome, ...]:
    return tuple(_REGISTRY.values())


def names(*, kind: Kind | None = None, stage: Stage | None = None) -> tuple[str, ...]:
    return tuple(o.name for o in _REGISTRY.values()
                 if (kind is None or o.kind == kind) and (stage is None or o.stage == stage))


# The outcomes every template shares.
QUARANTINED = declare("quarantined", stage="validate", kind="warning",
                      description="failed a blocking expectation; never loaded")
WARNING = declare("warning", stage="validate", kind="warning",
                  description="failed a warning expectation; loaded (e.g. text truncated)")
CONFLICT = declare("conflict", stage="reconcile", kind="warning",
                   description="changed in the target since channelsync last wrote it; not overwritten")
DUPLICATE = declare("duplicate", stage="reconcile", kind="warning",
                    description="several target records match one source item; none was linked")
CREATED = declare("created", stage="load", kind="write", description="created in the target")
UPDATED = declare("updated", stage="load", kind="write", description="updated in the target")
DEACTIVATED = declare("deactivated", stage="load", kind="write", description="deactivated in the target")
LINKED = declare("linked", stage="load", kind="write",
                 description="linked to a record that already exists in the target (no write)")
UNCHANGED = declare("unchanged", stage="load", kind="neutral", description="nothing to write")
FAILED = declare("failed", stage="load", kind="failure", description="the write failed; see the error")
FLAGGED = declare("flagged", stage="load", kind="warning", description="reported by the source; not written")
DEFERRED = declare("deferred", stage="load", kind="warning",
                   description="not sent this run (budget spent, target unreachable or busy); a later run sends it")
# A plan a person had to approve before its load (runs/approval.py) and did not: nothing of it was written.
PLAN_REJECTED = declare("plan_rejected", stage="load", kind="warning",
                        description="the plan was rejected before its load; nothing was written")
APPROVAL_TIMED_OUT = declare("approval_timed_out", stage="load", kind="warning",
                             description="nobody approved the plan in time; nothing was written")

# What a planned operation becomes once applied, unless a template maps its operations otherwise.
DEFAULT_OP_OUTCOMES: dict[str, str] = {
    "create": CREATED.name, "update": UPDATED.name, "deactivate": DEACTIVATED.name, "link": LINKED.name,
}
