"""How a run's item counts become its status: No Change / Success / Warning / Failure.

The meaning of each outcome comes from :mod:`channelsync.runs.outcomes`; an outcome nobody declared
counts as a warning, so a mistake shows instead of hiding as No Change.
"""

from __future__ import annotations

from channelsync.runs import outcomes


def _kind(name: str) -> str:
    try:
        return outcomes.get(name).kind
    except outcomes.UnknownOutcome:
        return "warning"


def run_status(counts: dict[str, int], *, failed: bool, preview: bool = False) -> str:
    """``preview`` runs wrote nothing: their status says so (the plan is in the run's diff file)."""
    if failed:
        return "failure"
    if preview:
        return "preview"
    kinds = {_kind(name) for name, count in counts.items() if count}
    if kinds & {"warning", "failure"}:
        return "warning"
    if "write" in kinds:
        return "success"
    return "no_change"
