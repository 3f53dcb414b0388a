"""Control endpoints every billing emulator shares (Crayon, Pax8): publish the next month's invoice,
queue mid-month changes, show the billing book."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channelsync.sandbox.billing import BillingBook
from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response


def billing_control(
    request: SandboxRequest,
    book: BillingBook,
    publish: Callable[[], dict[str, Any]],
    apply_change: Callable[[Any], dict[str, Any]],
) -> SandboxResponse | None:
    """The answer for a shared billing control path, or None when the path is not one of them."""
    path = request.path.rstrip("/").lower()
    if path == "/invoices/publish" and request.method == "POST":
        return json_response(200, publish())
    if path == "/changes" and request.method == "POST":
        body = request.json()
        items = body.get("changes") if isinstance(body, dict) and "changes" in body else body
        items = items if isinstance(items, list) else [items]
        accepted = [apply_change(item) for item in items]
        return json_response(200, {"month": f"{book.next_month:%Y-%m}", "accepted": accepted})
    if path == "/billing" and request.method == "GET":
        return json_response(200, {"nextMonth": f"{book.next_month:%Y-%m}", "pendingChanges": len(book.pending),
                                   "publishedMonths": [f"{inv.month:%Y-%m}" for inv in book.published]})
    return None
