"""What a PSA product adapter offers the catalog templates (one implementation per PSA)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from channelsync.runs.loader import Operation


class PsaProductAdapter(Protocol):
    psa_system: str
    entity_type: str
    records_xref: bool  # see runs/loader.OperationExecutor

    def read_products(self) -> pd.DataFrame:
        """Every product in the PSA as the canonical PSA_PRODUCT table (paging hidden, one pass)."""
        ...

    def execute(self, operation: Operation) -> str:
        """Create / update / deactivate one product; returns its PSA id."""
        ...

    def resolve_unknown(self, operation: Operation) -> str | None:
        """After a create's lost answer: the id of the product if it is found in the PSA, else None."""
        ...

    def category_names(self) -> list[str]:
        """The categories a product can be filed under (what a category mapping may name), by name."""
        ...


def product_adapter(psa_system: str, client: object) -> PsaProductAdapter:
    if psa_system == "connectwise":
        from channelsync.adapters.connectwise_products import ConnectWiseProducts

        return ConnectWiseProducts(client)  # type: ignore[arg-type]
    if psa_system == "autotask":
        from channelsync.adapters.autotask_products import AutotaskProducts

        return AutotaskProducts(client)  # type: ignore[arg-type]
    raise ValueError(f"no product adapter for {psa_system}")
