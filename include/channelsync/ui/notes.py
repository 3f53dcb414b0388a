"""The one line channelsync puts on an Airflow DAG run (its note), so Airflow's own grid tells a
Warning from a Success and a preview from a real run: ``Warning — 1 conflict, 221 created``.

The note ends with a link to the run's status page. A note a person wrote is never replaced: only an
empty note, or one channelsync wrote (it carries :data:`MARK`), is (re)written.
"""

from __future__ import annotations

from channelsync.ui.labels import status_label, summarize_counts

MARK = "channelsync run "  # in the link text; how a note channelsync wrote is recognised
ERROR_CHARS = 160


def headline(*, status: str, counts: dict[str, int], preview: bool, error_code: str | None = None,
             error_message: str | None = None) -> str:
    """``Warning — 1 conflict, 221 created``; ``Preview — nothing written``; ``Failure — load: [CODE] …``."""
    if status == "preview" or (preview and status != "failure"):
        details = ["nothing written", *summarize_counts(counts)]
        return "Preview — " + ", ".join(details)
    label = status_label(status)
    if status == "failure":
        error = error_message or "a stage failed"
        if error_code and f"[{error_code}]" not in error:
            stage, sep, rest = error.partition(": ")
            error = f"{stage}: [{error_code}] {rest}" if sep else f"[{error_code}] {error}"
        if len(error) > ERROR_CHARS:
            error = error[: ERROR_CHARS - 1].rstrip() + "…"
        phrases = summarize_counts(counts)
        return f"{label} — {error}" + (f"; {', '.join(phrases)}" if phrases else "")
    phrases = summarize_counts(counts)
    if not phrases:
        unchanged = summarize_counts(counts, include_neutral=True)
        phrases = unchanged or ["nothing to do"]
    return f"{label} — " + ", ".join(phrases)


def note(headline_text: str, *, run_id: int, status_url: str) -> str:
    """The note as Airflow shows it (Markdown): the headline and a link to the status page."""
    return f"{_escape_markdown(headline_text)}\n\n[{MARK}{run_id}: items and errors]({status_url})"


def is_ours(existing: str | None) -> bool:
    return not existing or MARK in existing


def _escape_markdown(text: str) -> str:
    """Vendor text goes into Markdown: neutralise what could make a link, an image or HTML."""
    for char in "\\`*_[]()<>!#|":
        text = text.replace(char, "\\" + char)
    return text
