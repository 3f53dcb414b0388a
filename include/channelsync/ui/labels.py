"""Words and colours for statuses and outcomes, shared by the pages, the DAG-run note and the CSV."""

from __future__ import annotations

import threading

from channelsync.cli.status import STATUS_LABELS
from channelsync.runs import outcomes

__all__ = ["KIND_ORDER", "STATUS_LABELS", "count_phrase", "outcome_kind", "status_label", "summarize_counts"]

# Most important first: what needs a look before what went well.
KIND_ORDER = ("failure", "warning", "write", "neutral")


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", (status or "unknown").replace("_", " ").title())


def outcome_kind(name: str) -> str:
    """The outcome's kind; one nobody declared (in this process) counts as a warning, as run status does.
    Templates declare their own outcomes in their steps modules, which a web server has no reason to
    import: the first unknown name imports those of the registered templates."""
    try:
        return outcomes.get(name).kind
    except outcomes.UnknownOutcome:
        _declare_template_outcomes()  # once per process (another thread doing it: wait for it)
    try:
        return outcomes.get(name).kind
    except outcomes.UnknownOutcome:
        return "warning"


_declaring = threading.Lock()
_declared: list[bool] = []


def _declare_template_outcomes() -> None:
    """Import every registered template's steps module, once."""
    with _declaring:
        if _declared:
            return
        import importlib
        import logging

        from channelsync.templates.registry import TEMPLATES

        for spec in list(TEMPLATES.values()):
            try:
                importlib.import_module(spec.steps.partition(":")[0])
            except Exception:  # a broken template must not break the pages; its outcomes stay unknown
                logging.getLogger(__name__).warning("could not import the steps of template %s", spec.name,
                                                    exc_info=True)
        _declared.append(True)


def count_phrase(count: int, outcome: str) -> str:
    """``1 conflict``, ``2 conflicts``, ``221 created``: nouns take a plural, participles do not."""
    word = outcome.replace("_", " ")
    if count != 1 and not word.endswith(("ed", "s")):
        word += "s"
    return f"{count} {word}"


def summarize_counts(counts: dict[str, int], *, include_neutral: bool = False) -> list[str]:
    """Count phrases ordered by kind (failures first), then by size."""
    shown = [(name, n) for name, n in counts.items()
             if n and (include_neutral or outcome_kind(name) != "neutral")]
    shown.sort(key=lambda item: (KIND_ORDER.index(outcome_kind(item[0])) if outcome_kind(item[0]) in KIND_ORDER
                                 else len(KIND_ORDER), -item[1], item[0]))
    return [count_phrase(n, name) for name, n in shown]
