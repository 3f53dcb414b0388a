"""What a PSA service adapter offers service_catalog_sync (one implementation per PSA): Autotask Services,
ConnectWise catalog items of a recurring, non-inventory kind.

Canonical ``PSA_SERVICE`` (``channelsync.canonical.billing``) is what both read into, and the plan's operations
carry canonical field names (name, description, invoice_description, unit_cost, unit_price, period, vendor),
so reconcile never sees a PSA's own shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from channelsync.errors import ConfigError, define

if TYPE_CHECKING:
    import pandas as pd

    from channelsync.canonical.operation import Operation

SERVICE_CONFIG_INVALID = define("SERVICE_CONFIG_INVALID", "channelsync",
                                "service_catalog_sync's billing code, vendor or category is not usable in the PSA")


class ServiceConfigError(ConfigError):
    """An option that names something the PSA does not have (or not of the right kind): one line, listing what
    is allowed. Raised at extract, before anything is read from the distributor or written."""

    code = SERVICE_CONFIG_INVALID


@dataclass(frozen=True)
class ServiceSettings:
    """The template's options as the adapter needs them (names as configured; resolved against the PSA)."""

    billing_code: str | None  # Autotask: a recurring-contract billing code; ConnectWise: a product type
    vendor_company: int | None = None  # the PSA company id set as the services' vendor
    subcategory: str | None = None  # ConnectWise only: the procurement subcategory of new catalog items


class PsaServiceAdapter(Protocol):
    psa_system: str
    entity_type: str
    records_xref: bool  # see runs/loader.OperationExecutor

    def check_settings(self) -> None:
        """Resolve the settings against the PSA; :class:`ServiceConfigError` (listing the allowed values) if
        one cannot be used."""
        ...

    def read_services(self) -> pd.DataFrame:
        """Every service in the PSA as ``PSA_SERVICE`` (channelsync's and the others: names are unique)."""
        ...

    def execute(self, operation: Operation) -> str:
        """Create a service or write its prices; returns its PSA id."""
        ...

    def resolve_unknown(self, operation: Operation) -> str | None:
        """After a create's lost answer: the service it made (by name), else None."""
        ...


def service_adapter(psa_system: str, client: object, settings: ServiceSettings) -> PsaServiceAdapter:
    if psa_system == "autotask":
        from channelsync.adapters.autotask_services import AutotaskServices

        return AutotaskServices(client, settings)  # type: ignore[arg-type]
    if psa_system == "connectwise":
        from channelsync.adapters.connectwise_services import ConnectWiseServices

        return ConnectWiseServices(client, settings)  # type: ignore[arg-type]
    raise ValueError(f"no service adapter for {psa_system}")


def vendor_label(company_id: object) -> str | None:
    """The canonical ``vendor`` of a service: ``company #<id>``, missing when there is none."""
    return None if company_id in (None, "") else f"company #{int(company_id)}"  # type: ignore[call-overload]


def vendor_id(label: object) -> int | None:
    text = str(label or "")
    return int(text.removeprefix("company #")) if text.startswith("company #") else None


def name_taken_message(psa: str, name: str, clash: str | None, vendor_message: str | None) -> str:
    """The item failure of a create refused for its name: which service to rename, and what happens next."""
    which = f"{psa} service {name!r}" + (f" (id {clash})" if clash else "")
    said = f" {psa} said: {vendor_message}" if vendor_message else ""
    return (f"{which} already exists and channelsync did not create it: rename (or delete) it in {psa}, then sync "
            f"again; channelsync then creates {name!r} and keeps its prices current even if it is renamed later."
            f"{said}")
