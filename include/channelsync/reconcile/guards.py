"""Plan-level refusals: raised by reconcile before anything is written (preview shows the same message)."""

from __future__ import annotations

from channelsync.errors import ChannelsyncError, define


class PlanRefused(ChannelsyncError):
    """Base of the plan guards: the plan was computed but must not be applied."""


class MassDeactivationRefused(PlanRefused):
    code = define("RECONCILE_MASS_DEACTIVATION", "channelsync", "Too many linked products would be deactivated")

    def __init__(self, *, deactivate: int, linked: int, max_share: float) -> None:
        share = deactivate / linked if linked else 1.0
        super().__init__(
            f"refusing to deactivate {deactivate:,} of {linked:,} linked products ({share:.1%}); the "
            f"limit is {max_share:.0%}. If the source really dropped them (e.g. the category selection "
            "was narrowed), raise max_deactivate_share for one run."
        )
        self.deactivate = deactivate
        self.linked = linked
        self.max_share = max_share


class ProductLimitExceeded(PlanRefused):
    code = define("RECONCILE_PRODUCT_LIMIT", "channelsync", "The plan would grow the PSA past its product limit")

    def __init__(self, *, limit: int, existing: int, creating: int, by_category: list[tuple[str, int]]) -> None:
        over = existing + creating - limit
        top = ", ".join(f"{category} ({count:,} new)" for category, count in by_category)
        super().__init__(
            f"the plan would grow the PSA to {existing + creating:,} products, {over:,} over its limit of "
            f"{limit:,} ({existing:,} existing + {creating:,} new). Narrow the category selection; the "
            f"categories adding the most products are: {top}."
        )
        self.limit = limit
        self.existing = existing
        self.creating = creating
        self.over = over
        self.by_category = by_category


class CrossReferenceMismatch(PlanRefused):
    """Many cross-referenced PSA products are missing from the PSA read: a partial or wrong read (other
    credentials, another tenant) is far likelier than a person deleting them, and planning on it would
    re-create every one of them."""

    code = define("RECONCILE_XREF_MISMATCH", "channelsync", "Linked PSA products are missing from the PSA state")

    def __init__(self, *, missing: int, linked: int, max_share: float) -> None:
        super().__init__(
            f"{missing:,} of {linked:,} cross-referenced PSA products are missing from the PSA state "
            f"(more than {max_share:.0%}); refusing to re-create them. Check the PSA connection/tenant."
        )
        self.missing = missing
        self.linked = linked
        self.max_share = max_share


class KeyTooLong(PlanRefused):
    """A lookup key (SKU, MPN) longer than the PSA field: cutting it would write a product no later run
    can find again. The quality suite quarantines such rows; this guard catches a path that skipped it."""

    code = define("RECONCILE_KEY_TOO_LONG", "channelsync", "A lookup key is longer than the PSA field holding it")

    def __init__(self, *, field: str, limit: int, source_keys: list[str]) -> None:
        shown = ", ".join(source_keys[:5])
        super().__init__(
            f"{len(source_keys):,} item(s) have a {field} longer than the PSA's {limit} characters (e.g. {shown}); "
            "keys are never truncated. Validate the rows first (the catalog suite quarantines them)."
        )
        self.field, self.limit, self.source_keys = field, limit, source_keys
