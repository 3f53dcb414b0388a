"""Product helpers the catalog-sync template calls (Products and their ProductVendors).

The manufacturer part number lives in ``manufacturerProductName`` (the swagger's ProductModel has no
``manufacturerProductNumber``; Autotask's UI labels that field "Manufacturer Product Number").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from channelsync.clients.autotask.filters import DEFAULT_IN_CHUNK, Filter, chunked_in

MPN_FIELD = "manufacturerProductName"


class ProductsMixin:
    if TYPE_CHECKING:  # provided by AutotaskClient
        def iter_query(
            self, entity: str, filters: Filter | Sequence[Filter] | None = None, *,
            include_fields: Sequence[str] | None = None, max_records: int = 500,
        ) -> Iterator[dict[str, Any]]: ...

        def create(self, entity: str, fields: dict[str, Any]) -> int: ...

        def update(self, entity: str, fields: dict[str, Any]) -> int: ...

        def create_child(self, parent_entity: str, parent_id: int, child: str, fields: dict[str, Any]) -> int: ...

        def update_child(self, parent_entity: str, parent_id: int, child: str, fields: dict[str, Any]) -> int: ...

    def iter_products(
        self, include_fields: Sequence[str] | None = None, filters: Filter | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every product (or those matching ``filters``), 500 per call."""
        return self.iter_query("Products", filters, include_fields=include_fields)

    def find_products(
        self, mpns: Iterable[str], *, include_fields: Sequence[str] | None = None,
        chunk: int = DEFAULT_IN_CHUNK,
    ) -> Iterator[dict[str, Any]]:
        """Products whose MPN is one of ``mpns`` (batched ``in`` filters; matching is case-insensitive)."""
        for condition in chunked_in(MPN_FIELD, [m for m in mpns if m], chunk):
            yield from self.iter_query("Products", condition, include_fields=include_fields)

    def create_product(self, fields: dict[str, Any]) -> int:
        return self.create("Products", fields)

    def update_product(self, fields: dict[str, Any]) -> int:
        return self.update("Products", fields)

    def create_product_vendor(self, product_id: int, fields: dict[str, Any]) -> int:
        """POST Products/{id}/Vendors (ProductVendors are written through their parent)."""
        return self.create_child("Products", product_id, "Vendors", fields)

    def update_product_vendor(self, product_id: int, fields: dict[str, Any]) -> int:
        return self.update_child("Products", product_id, "Vendors", fields)

    def iter_product_vendors(
        self, product_ids: Iterable[int] | None = None, *, vendor_id: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """ProductVendors through their own root query (no ``Products/{id}/Vendors/query`` exists)."""
        extra = [Filter.eq("vendorID", vendor_id)] if vendor_id is not None else []
        if product_ids is None:
            yield from self.iter_query("ProductVendors", extra or Filter.everything())
            return
        for condition in chunked_in("productID", list(product_ids)):
            yield from self.iter_query("ProductVendors", [condition, *extra])
