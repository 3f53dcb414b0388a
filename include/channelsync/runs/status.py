"""How a run's item counts become its status: No Change / Success / Warning / Failure."""

from __future__ import annotations

WRITE_OUTCOMES = ("created", "updated", "deactivated", "linked")
WARNING_OUTCOMES = ("quarantined", "warning", "conflict", "duplicate", "failed", "flagged", "deferred")


def run_status(counts: dict[str, int], *, failed: bool, preview: bool = False) -> str:
    """``preview`` runs wrote nothing: their status says so (the plan is in the run's diff file)."""
    if failed:
        return "failure"
    if preview:
        return "preview"
    if any(counts.get(outcome, 0) for outcome in WARNING_OUTCOMES):
        return "warning"
    if any(counts.get(outcome, 0) for outcome in WRITE_OUTCOMES):
        return "success"
    return "no_change"
