"""Reading and editing PSA products in the sandbox emulators directly (as a person in the PSA would)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from channelsync.sandbox.control_client import SandboxControl

# integration → (emulator system, products table, price field, vendor SKU field)
PSA_TABLES = {
    "demo-connectwise": ("connectwise", "catalogItems", "price", "vendorSku"),
    "demo-autotask": ("autotask", "Products", "unitPrice", "sku"),
}


def products(control: SandboxControl, integration: str) -> list[dict[str, Any]]:
    system, table, _, _ = PSA_TABLES[integration]
    return control.records(system, table)


def products_per_vendor_sku(control: SandboxControl, integration: str) -> Counter[str]:
    _, _, _, sku_field = PSA_TABLES[integration]
    return Counter(str(p[sku_field]) for p in products(control, integration) if p.get(sku_field))


def edit_price(control: SandboxControl, integration: str, product_id: Any, price: float) -> dict[str, Any]:
    system, table, price_field, _ = PSA_TABLES[integration]
    return control.edit_record(system, table, product_id, {price_field: price})


def price_of(control: SandboxControl, integration: str, product_id: Any) -> float:
    system, table, price_field, _ = PSA_TABLES[integration]
    return float(control.record(system, table, product_id)[price_field])


def lift_hourly_threshold(control: SandboxControl, integration: str) -> None:
    """Medium-scale first syncs need more than Autotask's default 10,000 calls an hour (a real tenant's
    initial load is spread over several hours by the budget guard; tests don't wait for that)."""
    if PSA_TABLES[integration][0] == "autotask":
        control.control("autotask", "limits", json={"hourly_threshold": 1_000_000})
