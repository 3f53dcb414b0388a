"""service_catalog_sync's planner (pure pandas, no I/O): the CSP price list vs the PSA's services vs the
cross-reference → a :class:`ServicePlan`. Same function for preview and sync.

Input tables: ``products`` (canonical ``CSP_PRODUCT``, validated), ``psa`` (``PSA_SERVICE``: every service in
the PSA, channelsync's or not), ``xref`` (``XREF`` of the integration's ``service`` entity).

The desired service of a product (:func:`desired_services`): name ``PC_`` + SKU; description = the product's
name, invoice description = its description (else its name), both cut to the PSA's lengths (a cut is reported
on the create); unit cost = the distributor's buy price, unit price = its RRP (per billing period, as the price
list states them); period Monthly (monthly billing and usage) or Yearly (annual billing); the configured vendor.

Rules, per product:

1. **Not syncable** → ``skipped`` (reported, never written): a billing cycle no PSA period can carry
   (Triennial: a yearly service would bill the 3-year price every year), or a name longer than the PSA's.
2. **Linked** (xref → a service that exists): only ``unit_cost`` / ``unit_price`` are compared and written
   (after the first sync only prices change): equal → ``unchanged``, else ``update`` of the changed ones. Name,
   descriptions, period, vendor and ``active`` stay as they are in the PSA, so a rename or a service set
   inactive by a person is kept (an inactive service keeps getting prices). Prices are always the
   distributor's, also when a person edited them (the reason says so).
3. **Linked to a service deleted in the PSA** → ``create`` again (its key names the service it replaces, so
   the ledger sees a new write) — unless more than ``max_recreate_share`` of all links vanished at once:
   a partial or wrong PSA read, refused with :class:`ServicesVanished`.
4. **Not linked** → ``create``. A service of the same name (case-insensitive, as Autotask's ``IX_service``
   index compares) that channelsync did not create is never adopted: the create is planned with its id
   (``clash_id``) and the reason tells which service to rename; the PSA refuses the create (Autotask
   ``IX_service``, ConnectWise ``ObjectExists``) and the load reports that item failed, naming it. A same-name
   service already linked to another product, or two products with one name → ``duplicate`` (never written).
5. A product gone from the price list is never deleted nor deactivated: it is simply not in the plan.

Fingerprints (over ``SERVICE_FIELDS``, the values the PSA holds after the write) go to the cross-reference, so
the next run can tell a person's edit (``hand_edited``: current values ≠ the stored fingerprint). An
``unchanged`` row whose fingerprint moved is re-linked without a write (``save_xref``).

Idempotency keys: create ``"{prefix}:create:{source_key}:new"`` (``…:replaces-{old id}`` after a deletion), no
prices in it: a create retried after a price change is still the same create; update
``"{prefix}:update:{source_key}:{psa_id}:{fingerprint[:32]}"``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from channelsync.canonical.billing import (
    DESCRIPTION_MAX,
    INVOICE_DESCRIPTION_MAX,
    PSA_SERVICE,
    SERVICE_FIELDS,
    SERVICE_NAME_PREFIX,
    SERVICE_PRICE_FIELDS,
)
from channelsync.canonical.operation import Operation
from channelsync.errors import define
from channelsync.reconcile.fingerprint import Kind, fingerprint_normalised, normalise_series, normalise_value
from channelsync.reconcile.guards import PlanRefused

SERVICE_KINDS: dict[str, Kind] = {
    name: ("number" if dtype == "float64" else "flag" if dtype == "boolean" else "text")
    for name, dtype in PSA_SERVICE.items()
}
PERIODS = {"Monthly": "Monthly", "None": "Monthly", "Annual": "Yearly"}  # billing cycle → PSA period
PLAN_OPS = ("create", "update", "unchanged", "skipped", "duplicate")
WRITE_OPS = ("create", "update")
TEXT_LIMITED = ("description", "invoice_description")


@dataclass(frozen=True)
class ServiceLimits:
    name: int
    description: int
    invoice_description: int


# Autotask Services: name 100, description 400, invoiceDescription 1000 (docs/vendors/autotask.md §A.7).
# ConnectWise catalog items: the name is the identifier (75); the description (60) is the short name shown
# everywhere and the customer description (6000) what customers see on invoices (§B.7).
SERVICE_LIMITS_BY_PSA: dict[str, ServiceLimits] = {
    "autotask": ServiceLimits(name=100, description=DESCRIPTION_MAX, invoice_description=INVOICE_DESCRIPTION_MAX),
    "connectwise": ServiceLimits(name=75, description=60, invoice_description=6000),
}

SERVICE_UNSUPPORTED = define("SERVICE_UNSUPPORTED", "channelsync",
                             "The product cannot become a PSA service as it stands (billing cycle, name length)")
SERVICE_DUPLICATE = define("SERVICE_DUPLICATE", "channelsync",
                           "Another product already has this service name in the PSA; nothing was written")
SERVICE_TEXT_TRUNCATED = define("SERVICE_TEXT_TRUNCATED", "channelsync",
                                "A service description was longer than the PSA allows and was cut")


class ServicesVanished(PlanRefused):
    """Many linked services are missing from the PSA read at once: a partial or wrong read is likelier than
    people deleting them, and re-creating them all would be the wrong write."""

    code = define("RECONCILE_SERVICES_VANISHED", "channelsync", "Linked PSA services are missing from the PSA state")

    def __init__(self, *, missing: int, linked: int, max_share: float) -> None:
        super().__init__(
            f"{missing:,} of {linked:,} linked PSA services are missing from the PSA state (more than "
            f"{max_share:.0%}); refusing to re-create them. Check the PSA connection/tenant; if they really were "
            "deleted, raise max_recreate_share for one run."
        )
        self.missing, self.linked, self.max_share = missing, linked, max_share


@dataclass(frozen=True)
class ServicePlanOptions:
    key_prefix: str = "service"  # leads every idempotency key (the ledger adds the target tenant)
    limits: ServiceLimits = SERVICE_LIMITS_BY_PSA["autotask"]
    vendor: str | None = None  # canonical vendor of new services ("company #<id>"), None: none
    money_decimals: int = 4  # what both PSAs store (and what the fingerprint compares)
    max_recreate_share: float = 0.5  # of all links: more vanished at once is refused


# ---- desired state ------------------------------------------------------------------------------------------

def _cut(text: pd.Series, limit: int) -> tuple[pd.Series, np.ndarray]:
    """``text`` cut to ``limit`` characters (trailing whitespace of a cut removed), and which rows were cut."""
    long = (text.str.len() > limit).to_numpy(dtype=bool, na_value=False)
    cut = text.where(~long, text.str.slice(0, limit).str.rstrip())
    return cut, long


def desired_services(products: pd.DataFrame, options: ServicePlanOptions) -> pd.DataFrame:
    """One desired service per price-list product: source_key, sku, SERVICE_FIELDS, ``truncated`` (what was cut,
    "" when nothing) and ``unsupported`` (why it cannot be synced, missing when it can)."""
    rows = products.reset_index(drop=True)
    sku = rows["sku"].astype("string").str.strip()
    product_name = rows["name"].astype("string").str.strip()
    product_name = product_name.mask(product_name.fillna("") == "", sku)
    long_text = rows["description"].astype("string").str.strip()
    long_text = long_text.mask(long_text.fillna("") == "", product_name)
    description, cut_description = _cut(product_name, options.limits.description)
    invoice, cut_invoice = _cut(long_text, options.limits.invoice_description)
    name = (SERVICE_NAME_PREFIX + sku).astype("string")
    cycle = rows["billing_cycle"].astype("string")
    period = cycle.map(PERIODS).astype("string")
    decimals = options.money_decimals
    truncated = [
        "; ".join(part for part, hit in (
            (f"description cut from {len(str(full))} to {options.limits.description} characters", d),
            (f"invoice description cut from {len(str(text))} to {options.limits.invoice_description} characters", i),
        ) if hit)
        for full, text, d, i in zip(product_name, long_text, cut_description, cut_invoice, strict=True)
    ]
    unsupported = pd.Series(pd.NA, index=rows.index, dtype="string")
    no_period = period.isna().to_numpy(dtype=bool)
    unsupported[no_period] = [f"billing cycle {c!r} has no PSA service period (Monthly or Yearly); not synced"
                              for c in cycle[no_period].fillna("missing")]
    too_long = (name.str.len() > options.limits.name).to_numpy(dtype=bool, na_value=False)
    unsupported[too_long] = [f"service name {n!r} is longer than the PSA's {options.limits.name} characters "
                             "(a name is never cut)" for n in name[too_long]]
    return pd.DataFrame({
        "source_key": rows["source_key"].astype("string"),
        "sku": sku,
        "name": name,
        "description": description.astype("string"),
        "invoice_description": invoice.astype("string"),
        "unit_cost": pd.to_numeric(rows["unit_cost"]).round(decimals).astype("float64"),
        "unit_price": pd.to_numeric(rows["unit_price"]).round(decimals).astype("float64"),
        "period": period,
        "vendor": pd.Series([options.vendor] * len(rows), dtype="string"),
        "truncated": pd.Series(truncated, dtype="string"),
        "unsupported": unsupported,
    })


def select_products(products: pd.DataFrame, *, mode: str, in_use_skus: Collection[str] = (),
                    linked_keys: Collection[str] = ()) -> pd.DataFrame:
    """The price-list rows a run syncs. ``all``: every row. ``in_use``: rows whose SKU is in use (on invoices of
    synced customers) plus rows already linked to a service — the mode decides what is *created*; a service
    made earlier keeps getting prices while its product is on the price list."""
    if mode == "all":
        return products
    if mode != "in_use":
        raise ValueError(f"unknown mode {mode!r}: all | in_use")
    keep = products["sku"].astype("string").isin(list(in_use_skus)) | \
        products["source_key"].astype("string").isin(list(linked_keys))
    return products[keep.to_numpy(dtype=bool, na_value=False)]


# ---- fingerprints -----------------------------------------------------------------------------------------

def service_fingerprints(frame: pd.DataFrame) -> list[str]:
    """Fingerprint of SERVICE_FIELDS per row (the shared normalisation: text stripped, numbers to 4 places)."""
    if not len(frame):
        return []
    normalised = {name: normalise_series(frame[name], SERVICE_KINDS[name]) for name in SERVICE_FIELDS}
    return fingerprint_normalised(normalised, SERVICE_FIELDS)


def _differs(before: Any, after: Any, name: str) -> bool:
    kind = SERVICE_KINDS[name]
    return normalise_value(before, kind) != normalise_value(after, kind)


# ---- the plan -----------------------------------------------------------------------------------------------

PLAN_COLUMNS: dict[str, str] = {
    "op": "string",
    "source_key": "string",
    "sku": "string",
    "psa_id": "string",
    "idempotency_key": "string",
    "fingerprint": "string",
    "reason": "string",
    "clash_id": "string",  # a same-name service channelsync did not create (the create fails until renamed)
    "replaces": "string",  # the linked service that was deleted in the PSA
    "truncated": "string",  # what a create cuts ("" when nothing)
    "active": "boolean",  # the PSA service's (never written)
    "hand_edited": "boolean",  # the PSA's values differ from what channelsync last wrote
    "save_xref": "boolean",  # unchanged, but the cross-reference's fingerprint is refreshed (no write)
    **{f"desired_{name}": PSA_SERVICE[name] for name in SERVICE_FIELDS},
    **{f"before_{name}": PSA_SERVICE[name] for name in SERVICE_FIELDS},
}


@dataclass
class ServicePlan:
    frame: pd.DataFrame  # PLAN_COLUMNS + changed_fields (list of field names); also the staged plan file
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counted = self.frame["op"].value_counts()
        return {op: int(counted.get(op, 0)) for op in PLAN_OPS}

    def rows(self, *ops: str) -> pd.DataFrame:
        return self.frame[self.frame["op"].isin(list(ops))]

    def xref_only(self) -> pd.DataFrame:
        return self.frame[(self.frame["op"] == "unchanged") & self.frame["save_xref"].fillna(False).astype(bool)]

    def truncations(self) -> pd.DataFrame:
        """The creates that cut a description (the only writes of descriptions)."""
        creates = self.rows("create")
        return creates[creates["truncated"].fillna("") != ""]

    def operations(self, *, tenant_scoped: Collection[str] = ("create",)) -> Iterator[Operation]:
        for row in self.rows(*WRITE_OPS).to_dict("records"):
            op = str(row["op"])
            changed = [str(name) for name in row["changed_fields"]]
            written = SERVICE_FIELDS if op == "create" else changed
            fields = {name: _plain(row[f"desired_{name}"]) for name in written}
            fields.update(sku=_plain(row["sku"]), name=_plain(row["desired_name"]), clash_id=_plain(row["clash_id"]))
            yield Operation(
                key=str(row["idempotency_key"]), op=op, source_key=str(row["source_key"]),
                target_id=_plain(row["psa_id"]), fields=fields, changed_fields=changed,
                fingerprint=str(row["fingerprint"]), scope="tenant" if op in tenant_scoped else "run",
                before={name: _plain(row[f"before_{name}"]) for name in changed if op != "create"},
            )

    def diff_rows(self) -> pd.DataFrame:
        """source_key, op, psa_id, field, before, after: one row per written field; a write with a remark (a name
        clash that will make the create fail, a re-creation, a person's edit kept) and every reported row add one
        row without a field whose ``after`` is the remark."""
        out: list[dict[str, Any]] = []
        for row in self.frame.to_dict("records"):
            if row["op"] in WRITE_OPS:
                for name in row["changed_fields"]:
                    if row["op"] == "create" and _plain(row[f"desired_{name}"]) is None:
                        continue  # nothing to show (no vendor configured)
                    out.append({"source_key": row["source_key"], "op": row["op"], "psa_id": row["psa_id"],
                                "field": name, "before": _text(row[f"before_{name}"]),
                                "after": _text(row[f"desired_{name}"])})
            remark = _plain(row["reason"]) is not None
            if (row["op"] in WRITE_OPS and remark) or row["op"] in ("skipped", "duplicate"):
                out.append({"source_key": row["source_key"], "op": row["op"], "psa_id": row["psa_id"],
                            "field": None, "before": None, "after": row["reason"]})
        return pd.DataFrame(out, columns=["source_key", "op", "psa_id", "field", "before", "after"], dtype="string")

    def price_changes(self) -> pd.DataFrame:
        """The price-change report: one row per service whose cost or price changes (updates), old and new cost,
        price and margin (price − cost, and as a share of the price)."""
        updates = self.rows("update")
        report = pd.DataFrame({
            "source_key": updates["source_key"], "sku": updates["sku"], "psa_id": updates["psa_id"],
            "service": updates["before_name"], "active": updates["active"],
            "old_cost": updates["before_unit_cost"], "new_cost": updates["desired_unit_cost"],
            "old_price": updates["before_unit_price"], "new_price": updates["desired_unit_price"],
        }).reset_index(drop=True)
        for when in ("old", "new"):
            margin = report[f"{when}_price"] - report[f"{when}_cost"]
            report[f"{when}_margin"] = margin.round(4)
            price = report[f"{when}_price"].where(report[f"{when}_price"] != 0)
            report[f"{when}_margin_pct"] = (margin / price * 100).round(2)
        return report


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def _text(value: Any) -> str | None:
    plain = _plain(value)
    return None if plain is None else str(plain)


def _require_unique(values: pd.Series, what: str) -> None:
    repeated = values[values.duplicated()].astype(str).unique()[:5]
    if len(repeated):
        raise ValueError(f"{what} has duplicate keys (e.g. {', '.join(repeated)})")


def build_service_plan(products: pd.DataFrame, psa: pd.DataFrame, xref: pd.DataFrame,
                       options: ServicePlanOptions) -> ServicePlan:
    """Plan the PSA writes for ``products`` (see the module docstring for the rules)."""
    desired = desired_services(products, options)
    _require_unique(desired["source_key"], "desired services")
    _require_unique(psa["psa_id"], "PSA services")
    _require_unique(xref["source_key"], "cross-reference")
    services = {str(r["psa_id"]): r for r in psa.to_dict("records")}
    by_name: dict[str, list[str]] = {}
    for psa_id, service in services.items():
        by_name.setdefault(str(service["name"] or "").strip().lower(), []).append(psa_id)
    links = {str(r["source_key"]): (str(r["psa_id"]), _plain(r["fingerprint"])) for r in xref.to_dict("records")}
    owner = {psa_id: key for key, (psa_id, _) in links.items()}
    missing = sum(1 for psa_id, _ in links.values() if psa_id not in services)
    if missing > 1 and missing > options.max_recreate_share * len(links):
        raise ServicesVanished(missing=missing, linked=len(links), max_share=options.max_recreate_share)
    name_counts = desired["name"].str.lower().value_counts()
    fingerprints = _fingerprints(desired, psa, links)

    planned = [_plan_row(row, services, by_name, links, owner, int(name_counts.get(str(row["name"]).lower(), 0)),
                         fingerprints, options) for row in desired.to_dict("records")]
    frame = pd.DataFrame(planned, columns=[*PLAN_COLUMNS, "changed_fields"])
    frame = frame.astype(PLAN_COLUMNS)
    notes = [f"{missing} linked PSA service(s) were deleted in the PSA; created again"] if missing else []
    return ServicePlan(frame=frame, notes=notes)


@dataclass(frozen=True)
class _Fingerprints:
    """Computed for every row at once (one SHA-256 per row is the only per-row cost worth avoiding twice)."""

    desired: Mapping[str, str]  # source_key → of the desired service (what a create writes)
    current: Mapping[str, str]  # psa_id → of the PSA's service as it is
    after: Mapping[str, str]  # source_key of a linked row → of its service once the prices are written


def _fingerprints(desired: pd.DataFrame, psa: pd.DataFrame, links: Mapping[str, tuple[str, Any]]) -> _Fingerprints:
    keys = desired["source_key"].astype(str)
    psa_ids = psa["psa_id"].astype(str)
    linked_ids = keys.map(lambda key: links[key][0] if key in links else None)
    live = linked_ids.isin(set(psa_ids)).to_numpy(dtype=bool)
    after = psa.set_index(psa_ids).loc[list(linked_ids[live]), list(SERVICE_FIELDS)].reset_index(drop=True)
    for name in SERVICE_PRICE_FIELDS:
        after[name] = desired.loc[live, name].to_numpy()
    return _Fingerprints(desired=dict(zip(keys, service_fingerprints(desired), strict=True)),
                         current=dict(zip(psa_ids, service_fingerprints(psa), strict=True)),
                         after=dict(zip(keys[live], service_fingerprints(after), strict=True)))


def _plan_row(row: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]], by_name: Mapping[str, list[str]],
              links: Mapping[str, tuple[str, Any]], owner: Mapping[str, str], same_name: int,
              fingerprints: _Fingerprints, options: ServicePlanOptions) -> dict[str, Any]:
    key = str(row["source_key"])
    out: dict[str, Any] = {"op": None, "source_key": key, "sku": row["sku"], "psa_id": None,
                           "idempotency_key": None, "fingerprint": None, "reason": None, "clash_id": None,
                           "replaces": None, "truncated": row["truncated"], "active": None, "hand_edited": False,
                           "save_xref": False, "changed_fields": []}
    out.update({f"desired_{name}": row[name] for name in SERVICE_FIELDS})
    out.update({f"before_{name}": None for name in SERVICE_FIELDS})
    if _plain(row["unsupported"]) is not None:
        return {**out, "op": "skipped", "reason": row["unsupported"]}
    linked_id, stored_fp = links.get(key, (None, None))
    if linked_id is not None and linked_id in services:
        return _linked(out, services[linked_id], stored_fp, fingerprints.current[linked_id], fingerprints.after[key],
                       options)
    if same_name > 1:
        return {**out, "op": "duplicate",
                "reason": f"{same_name} price-list products would all be service {row['name']!r}; none is created"}
    clashes = by_name.get(str(row["name"]).strip().lower(), [])
    taken = [psa_id for psa_id in clashes if psa_id in owner and owner[psa_id] != key]
    if taken:
        return {**out, "op": "duplicate", "psa_id": taken[0],
                "reason": f"service {row['name']!r} (id {taken[0]}) is already linked to {owner[taken[0]]}; "
                          "nothing is written"}
    reasons = []
    if linked_id is not None:
        out["replaces"] = linked_id
        reasons.append(f"linked service {linked_id} was deleted in the PSA; created again")
    if clashes:
        clash = services[clashes[0]]
        out["clash_id"] = clashes[0]
        reasons.append(f"a service named {clash['name']!r} (id {clashes[0]}) exists that channelsync did not create: "
                       "rename it in the PSA, or the create fails")
    if row["truncated"]:
        reasons.append(str(row["truncated"]))
    suffix = f"replaces-{linked_id}" if linked_id is not None else "new"
    return {**out, "op": "create", "idempotency_key": f"{options.key_prefix}:create:{key}:{suffix}",
            "fingerprint": fingerprints.desired[key], "reason": "; ".join(reasons) or None,
            "changed_fields": list(SERVICE_FIELDS)}


def _linked(out: dict[str, Any], service: Mapping[str, Any], stored_fp: Any, current_fp: str, after_fp: str,
            options: ServicePlanOptions) -> dict[str, Any]:
    """A product whose service exists: only prices are written; everything else stays the PSA's."""
    psa_id = str(service["psa_id"])
    current = {name: _plain(service[name]) for name in SERVICE_FIELDS}
    after = {**current, **{name: out[f"desired_{name}"] for name in SERVICE_PRICE_FIELDS}}
    changed = [name for name in SERVICE_PRICE_FIELDS if _differs(current[name], after[name], name)]
    edited = stored_fp is not None and stored_fp != current_fp
    active = _plain(service.get("active"))
    reasons = []
    if edited:
        reasons.append("changed in the PSA since channelsync last wrote it: name, descriptions and status kept"
                       + ("; prices set to the distributor's" if changed else ""))
    if active is False:
        reasons.append("inactive in the PSA: stays inactive" + (", prices kept current" if changed else ""))
    out.update({f"desired_{name}": value for name, value in after.items()})
    out.update({f"before_{name}": value for name, value in current.items()})
    out.update(psa_id=psa_id, active=active, hand_edited=edited, fingerprint=after_fp, truncated="",
               reason="; ".join(reasons) or None, changed_fields=changed)
    if not changed:
        return {**out, "op": "unchanged", "save_xref": stored_fp != current_fp}
    key = f"{options.key_prefix}:update:{out['source_key']}:{psa_id}:{after_fp[:32]}"
    return {**out, "op": "update", "idempotency_key": key}
