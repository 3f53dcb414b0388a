"""Ion catalog: ``GET /products`` (pageSize / pageToken, filters), ``GET /products/{id}`` and
``POST /products:pricing``, drawn from ``world.offers`` (Microsoft NCE offers).

One Ion product per Microsoft product id; its SKU carries one plan per term / billing cycle. The
manufacturer part number is the NCE form ``ProductId:SkuId:Term:BillingFrequency`` with frequency
``M`` / ``Y`` (spec example ``CFQ7TTC0LH18:0001:P1Y:Y``).
ASSUMPTION: the spec has no field for a plan's part number; the emulator puts it in the plan's
``pricebookDetails`` (a free string map) as ``MfgPartNumber``, next to ``Term`` and ``BillingFrequency``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channelsync.sandbox.framework import SandboxRequest
from channelsync.sandbox.tdsynnex.ion_common import IonError, int_arg, invalid, json_body, not_found, page, page_window
from channelsync.sandbox.world import CloudOffer

MICROSOFT_PROVIDER_ID = 30
CREATED = "2024-01-02T10:00:00Z"


def mfg_part_number(offer: CloudOffer) -> str:
    frequency = {"Monthly": "M", "Annual": "Y"}.get(offer.billing_cycle, "NONE")
    return f"{offer.product_id}:{offer.sku_id}:{offer.term}:{frequency}"


def product_records(account_id: str, offers: Iterable[CloudOffer]) -> list[dict[str, Any]]:
    grouped: dict[str, list[CloudOffer]] = {}
    for offer in offers:
        grouped.setdefault(offer.product_id, []).append(offer)
    out = []
    for index, (product_id, product_offers) in enumerate(grouped.items()):
        ion_id = str(20001 + index)
        first = product_offers[0]
        plans = []
        for offer in product_offers:
            mpn = mfg_part_number(offer)
            plans.append({
                "id": mpn, "displayName": f"{offer.name} {offer.term} {offer.billing_cycle}",
                "billingPeriod": {"Monthly": "MONTHLY", "Annual": "ANNUAL"}.get(offer.billing_cycle, "MONTHLY"),
                "productId": ion_id, "pricebookPrice": float(offer.unit_cost), "pricebookCurrency": "USD",
                "productAvailability": not offer.usage_based, "pricebookMasterPrice": float(offer.rrp),
                "pricebookDetails": {"MfgPartNumber": mpn, "Term": offer.term,
                                     "BillingFrequency": offer.billing_cycle, "SkuDescription": offer.name},
            })
        out.append({
            "name": f"accounts/{account_id}/products/{ion_id}", "id": ion_id,
            "type": "CLOUD_REBILLING_PRODUCT" if first.usage_based else "SUBSCRIPTION_PRODUCTS",
            "disabled": False, "categories": ["Productivity" if not first.usage_based else "Infrastructure"],
            "hasPublishedVersions": True,
            "marketing": {"displayName": first.name, "caption": f"{first.name} (Microsoft CSP NCE)"},
            "definition": {
                "productLanguage": "en", "supportedCurrencies": ["USD"],
                "billingMode": "POSTPAY" if first.usage_based else "PREPAY",
                "skus": [{"id": first.sku_id, "displayName": first.name, "productId": ion_id,
                          "productCloudProviderName": "Microsoft", "plans": plans}],
            },
            "cloudConsumption": {"cloudProvider": "AZURE", "hasConsumptionBilling": first.usage_based},
            "createTime": CREATED, "updateTime": CREATED,
            "_microsoftProductId": product_id,  # internal index field, stripped on the wire
        })
    return out


def wire(product: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in product.items() if not k.startswith("_")}


def _plans(product: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan for sku in product["definition"]["skus"] for plan in sku["plans"]]


def list_products(request: SandboxRequest, products: list[dict[str, Any]]) -> dict[str, Any]:
    offset, size = page_window(request)
    provider = int_arg(request, "filter.cloudProviderId")
    name = (request.arg("filter.name") or "").lower()
    mpn = request.arg("filter.mfgPartNumber") or ""
    sku_id = request.arg("filter.skuId") or ""
    rows = [
        p for p in products
        if (provider is None or provider == MICROSOFT_PROVIDER_ID)
        and (not name or name in p["marketing"]["displayName"].lower())
        and (not mpn or any(plan["id"] == mpn for plan in _plans(p)))
        and (not sku_id or any(sku["id"] == sku_id for sku in p["definition"]["skus"]))
    ]
    chunk, next_token = page(rows, offset, size)
    return {"products": [wire(p) for p in chunk], "nextPageToken": next_token}


def get_product(account_id: str, product_id: str, products: list[dict[str, Any]]) -> dict[str, Any]:
    for product in products:
        if product["id"] == product_id:
            return wire(product)
    raise not_found(f"accounts/{account_id}/products/{product_id}")


def pricing(request: SandboxRequest, products: list[dict[str, Any]]) -> dict[str, Any]:
    body = json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("externalProductWithProvider"), list):
        raise invalid("must have required property 'externalProductWithProvider'")
    customer = body.get("priceBookCustomerId")
    if customer is not None and not isinstance(customer, int):
        raise invalid("invalid value for priceBookCustomerId: must be an integer")
    by_mpn = {plan["id"]: plan for product in products for plan in _plans(product)}
    out = []
    for group in body["externalProductWithProvider"]:
        externals = group.get("externalProducts") if isinstance(group, dict) else None
        if not isinstance(externals, list) or not all(isinstance(x, str) for x in externals):
            raise invalid("externalProductWithProvider[].externalProducts must be a list of strings")
        for external in externals:
            plan = by_mpn.get(external)
            if plan is None:
                continue  # unknown to the catalog: no plan in the answer
            product_id, sku_id = external.split(":")[:2]
            out.append({
                "productId": external, "pricebookPrice": plan["pricebookPrice"], "pricebookCurrency": "USD",
                "productAvailability": plan["productAvailability"],
                "pricebookMasterPrice": plan["pricebookMasterPrice"],
                "pricebookDetails": {"SkuDescription": plan["pricebookDetails"]["SkuDescription"], "Market": "US",
                                     "ProductId": product_id, "SkuId": int(sku_id),
                                     "UnitOfMeasure": "Licenses"},
                "supportPlan": {"pricebookCost": 0, "accountCost": 0},
            })
    return {"plans": out}


__all__ = ["IonError", "get_product", "list_products", "pricing", "product_records"]
