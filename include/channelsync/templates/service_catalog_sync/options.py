"""Options of service_catalog_sync (validated when the configuration is loaded; pydantic only: parse time).

What is checked here is what can be checked without the PSA; what names something in the PSA (the billing
code, the vendor company, the ConnectWise subcategory) is checked against it at extract, before anything is read
from the distributor, and an unusable value stops the run with one line listing the allowed ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from channelsync.templates.catalog_sync.options import PSA_NAMES, OptionConflict
from channelsync.templates.options_common import TemplateOptions

CSP_DISTRIBUTORS = ("crayon", "pax8")


class ServiceCatalogSyncOptions(TemplateOptions):
    # Whose price list: one of the integration's CSP distributors; None: the only one it configures.
    distributor: Literal["crayon", "pax8"] | None = None
    # The distributor account whose price list is read (Crayon organization id; Pax8: the connection's partner,
    # leave unset). None: the connection's default.
    account: str | None = None
    # all: every product on the price list. in_use: products on the latest invoice of synced customers (plus
    # the ones already synced, which keep getting prices while they are on the price list).
    mode: Literal["all", "in_use"] = "all"
    # in_use only, until customer mappings decide who is synced: the distributor customer ids (Crayon customer
    # tenant id, Pax8 company id) whose invoice lines count; empty: every customer on the latest invoice.
    in_use_customers: list[str] = Field(default_factory=list)
    # Autotask: the billing code (name or id) of new services, an active code of the Recurring Contract Service
    # use type. ConnectWise: the product type (name or id) of new catalog items. Checked at extract; anything
    # else stops the run listing the allowed ones.
    billing_code: str | None = Field(default=None, min_length=1)
    # The PSA company id set as the vendor of new services (Autotask vendorCompanyID, ConnectWise vendor).
    vendor_company: int | None = Field(default=None, ge=0)
    # ConnectWise only: the procurement subcategory (name or id) of new catalog items (ConnectWise requires one).
    subcategory: str | None = Field(default=None, min_length=1)
    # Currencies the PSA bills in: price-list rows in another currency are quarantined.
    accepted_currencies: list[str] = Field(default_factory=lambda: ["USD"])
    # Record a price-change alert (the integration's alert e-mails) when a run changes prices.
    price_change_alert: bool = True
    # Refuse the run when more than this share of linked services is missing from the PSA at once.
    max_recreate_share: float = Field(default=0.5, ge=0, le=1)

    def check_for_psa(self, psa_system: str) -> None:
        if self.subcategory is not None and psa_system != "connectwise":
            raise OptionConflict("subcategory", f"{PSA_NAMES.get(psa_system, psa_system)} services have no "
                                 "procurement subcategory (a ConnectWise catalog setting); remove subcategory")
