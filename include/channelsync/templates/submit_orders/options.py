"""Options of submit_orders (validated when the configuration is loaded; pydantic only: parse time)."""

from __future__ import annotations

from pydantic import Field

from channelsync.templates.options_common import TemplateOptions

# Per PSA: (the status a person sets to have a PO sent, the status once TD SYNNEX accepted it, the status
# of a PO that failed validation or that TD SYNNEX rejected). Autotask's statuses are its fixed picklist
# (New, Submitted, Received Partial, Received Full, Cancelled): a person submits the PO in Autotask, and
# channelsync transmits it; ConnectWise's are the tenant's own (create "Send to TDS" and "TDS Error").
PSA_STATUSES = {
    "autotask": ("Submitted", "Submitted", "New"),
    "connectwise": ("Send to TDS", "Submitted", "TDS Error"),
}


class SubmitOrdersOptions(TemplateOptions):
    # The distributor's company in the PSA: Autotask company name; ConnectWise company identifier or name.
    vendor: str = Field(default="TD SYNNEX", min_length=1)
    submit_status: str | None = None  # None: the PSA's default above
    submitted_status: str | None = None
    invalid_status: str | None = None
    # Prepended to the PSA PO number to make the TD SYNNEX customer PO number (unique per TD SYNNEX account):
    # needed when two PSAs order on one account and their PO numbers could collide. Never change it while POs
    # are in flight (the number is the exactly-once key).
    po_number_prefix: str = Field(default="", max_length=10, pattern=r"^[A-Za-z0-9-]*$")
    # A line's unit cost may differ from TD SYNNEX's current price by this much (currency units) or this share;
    # TD SYNNEX itself holds a line beyond 1 cent (US) for manual handling by its sales rep.
    price_tolerance: float = Field(default=0.01, ge=0)
    price_tolerance_percent: float = Field(default=0.0, ge=0, le=100)
    # A PO still in the submit state this long without an accepted TD SYNNEX order is reported (Warning + alert).
    stuck_after_hours: float = Field(default=4.0, gt=0)
    ship_method: str = Field(default="FG", pattern=r"^[A-Z0-9]{1,5}$")  # XML PO Appendix B code
    default_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")  # when the PSA PO has no country
    drop_ship: bool = True
    backorder_allowed: bool = True

    def check_for_psa(self, psa_system: str) -> None:
        """The configuration check: the submit state must differ from the invalid one (else an invalid PO
        would be picked up again at once)."""
        submit = self.submit_status or PSA_STATUSES[psa_system][0]
        invalid = self.invalid_status or PSA_STATUSES[psa_system][2]
        if submit.casefold() == invalid.casefold():
            raise ValueError(f"invalid_status {invalid!r} must differ from submit_status {submit!r}")
