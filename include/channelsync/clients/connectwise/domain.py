"""Domain helpers the templates call: catalog, procurement setup, companies, agreements, purchase orders."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from channelsync.clients.connectwise import conditions as c
from channelsync.clients.connectwise.client import ConnectWiseRestClient, replace_ops

CATALOG = "procurement/catalog"
CATEGORIES = "procurement/categories"
SUBCATEGORIES = "procurement/subcategories"
TYPES = "procurement/types"
MANUFACTURERS = "procurement/manufacturers"
COMPANIES = "company/companies"
AGREEMENTS = "finance/agreements"
AGREEMENT_TYPES = "finance/agreements/types"
PURCHASE_ORDERS = "procurement/purchaseorders"
PO_STATUSES = "procurement/purchaseorderstatuses"

# Keep each request URL well under the ~2,000 characters the docs advise (docs/vendors/connectwise.md §B.1): the encoded
# ``in (...)`` list of one batch stays below this many characters.
MAX_ENCODED_CONDITIONS = 1500


class ConnectWiseClient(ConnectWiseRestClient):
    """:class:`ConnectWiseRestClient` plus the helpers of catalog sync and billing."""

    # --- catalog ---------------------------------------------------------------------------------

    def iter_catalog_items(self, conditions: str | None = None, fields: str | None = None
                           ) -> Iterator[dict[str, Any]]:
        return self.iter(CATALOG, conditions=conditions, fields=fields)

    def find_catalog_items(self, identifiers: Iterable[str], *, fields: str | None = None) -> list[dict[str, Any]]:
        """Catalog items whose identifier is one of ``identifiers`` (case-insensitive, like the server),
        asked in batches of ``identifier in (...)`` sized to keep URLs short."""
        found: list[dict[str, Any]] = []
        for batch in batch_for_in(identifiers):
            found.extend(self.iter(CATALOG, conditions=c.in_("identifier", batch), fields=fields))
        return found

    def create_catalog_item(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.create(CATALOG, body)

    def patch_catalog_item(self, item_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return self.patch(CATALOG, item_id, replace_ops(changes))

    def categories(self) -> list[dict[str, Any]]:
        return list(self.iter(CATEGORIES))

    def subcategories(self) -> list[dict[str, Any]]:
        return list(self.iter(SUBCATEGORIES))

    def types(self) -> list[dict[str, Any]]:
        return list(self.iter(TYPES))

    def manufacturers(self) -> list[dict[str, Any]]:
        return list(self.iter(MANUFACTURERS))

    def create_manufacturer(self, name: str) -> dict[str, Any]:
        return self.create(MANUFACTURERS, {"name": name, "inactiveFlag": False})

    # --- companies -------------------------------------------------------------------------------

    def find_company(self, identifier: str) -> dict[str, Any] | None:
        return next(iter(self.iter(COMPANIES, conditions=c.eq("identifier", identifier))), None)

    def iter_companies(self, conditions: str | None = None) -> Iterator[dict[str, Any]]:
        return self.iter(COMPANIES, conditions=conditions)

    # --- agreements ------------------------------------------------------------------------------

    def iter_agreements(self, conditions: str | None = None) -> Iterator[dict[str, Any]]:
        return self.iter(AGREEMENTS, conditions=conditions)

    def agreement_types(self) -> list[dict[str, Any]]:
        return list(self.iter(AGREEMENT_TYPES))

    def iter_additions(self, agreement_id: int, conditions: str | None = None) -> Iterator[dict[str, Any]]:
        return self.iter(f"{AGREEMENTS}/{agreement_id}/additions", conditions=conditions)

    def create_addition(self, agreement_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.create(f"{AGREEMENTS}/{agreement_id}/additions", body)

    def patch_addition(self, agreement_id: int, addition_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return self.patch(f"{AGREEMENTS}/{agreement_id}/additions", addition_id, replace_ops(changes))

    # --- purchase orders -------------------------------------------------------------------------

    def purchase_order_statuses(self) -> list[dict[str, Any]]:
        return list(self.iter(PO_STATUSES))

    def create_purchase_order(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.create(PURCHASE_ORDERS, body)

    def iter_purchase_orders(self, conditions: str | None = None) -> Iterator[dict[str, Any]]:
        return self.iter(PURCHASE_ORDERS, conditions=conditions)

    def add_po_line_item(self, po_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.create(f"{PURCHASE_ORDERS}/{po_id}/lineitems", body)

    def iter_po_line_items(self, po_id: int) -> Iterator[dict[str, Any]]:
        return self.iter(f"{PURCHASE_ORDERS}/{po_id}/lineitems")


def batch_for_in(values: Iterable[str], limit: int = MAX_ENCODED_CONDITIONS) -> Iterator[list[str]]:
    """Distinct values split so each ``in (...)`` list, URL-encoded, stays under ``limit`` characters."""
    batch: list[str] = []
    size = 0
    seen: set[str] = set()
    for value in values:
        key = value.casefold()
        if key in seen:
            continue
        seen.add(key)
        cost = len(quote(c.literal(value), safe="")) + 6  # ", " separator, encoded
        if batch and size + cost > limit:
            yield batch
            batch, size = [], 0
        batch.append(value)
        size += cost
    if batch:
        yield batch
