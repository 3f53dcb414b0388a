"""Record construction in wire shape, and the recurring-contract unit bookkeeping.

Every record carries every field of its swagger model (``null`` when unset), money as numbers with
4 decimals, and ``userDefinedFields`` on entities that have UDFs, as the real API returns them.

ContractServiceUnits: one row per monthly billing period per contract service, split at the
effective date of each adjustment (docs/vendors/autotask.md §A.7); an adjustment changes units and prices from
its effective date onwards.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from channelsync.sandbox.autotask.indexes import where
from channelsync.sandbox.autotask.metadata import entity_meta
from channelsync.sandbox.store import RecordStore


def new(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    meta = entity_meta(entity)
    record: dict[str, Any] = dict.fromkeys(meta.fields)
    for key, value in values.items():
        if key == "userDefinedFields":
            continue
        record[key] = money(value) if meta.fields.get(key) == "decimal" and value is not None else value
    record["id"] = values.get("id")  # None: the table assigns the next id on insert
    if meta.has_udfs:
        record["userDefinedFields"] = list(values.get("userDefinedFields") or [])
    return record


def money(value: Any) -> float:
    return round(float(value), 4)


def to_date(value: Any) -> date:
    text = str(value)[:10]
    return date.fromisoformat(text)


def iso_day(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _months(start: date, end: date) -> list[tuple[date, date]]:
    periods = []
    cursor = start
    while cursor <= end:
        following = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
        periods.append((cursor, min(end, following - timedelta(days=1))))
        cursor = following
    return periods


def add_contract_service(
    store: RecordStore, contract: dict[str, Any], service: dict[str, Any], *, units: int, effective: date,
    unit_price: float | None = None, unit_cost: float | None = None,
) -> dict[str, Any]:
    """A ContractService plus its unit periods over the contract's dates (units 0 before ``effective``)."""
    price = service.get("unitPrice") if unit_price is None else unit_price
    cost = service.get("unitCost") if unit_cost is None else unit_cost
    contract_service = store.table("ContractServices").insert(new("ContractServices", {
        "contractID": contract["id"], "serviceID": service["id"], "unitPrice": price, "unitCost": cost,
        "internalCurrencyUnitPrice": price, "internalCurrencyAdjustedPrice": price,
        "invoiceDescription": service.get("invoiceDescription"),
    }))
    table = store.table("ContractServiceUnits")
    for start, end in _months(to_date(contract["startDate"]), to_date(contract["endDate"])):
        table.insert(new("ContractServiceUnits", {
            "contractID": contract["id"], "contractServiceID": contract_service["id"], "serviceID": service["id"],
            "startDate": iso_day(start), "endDate": iso_day(end), "units": 0, "price": price, "cost": cost,
            "internalCurrencyPrice": price, "vendorCompanyID": service.get("vendorCompanyID"),
        }))
    if units:
        apply_adjustment(store, contract_service, effective=effective, unit_change=units,
                         unit_price=price, unit_cost=cost)
    return contract_service


def extend_units(store: RecordStore, contract: dict[str, Any]) -> None:
    """A contract whose end date moved later (a renewal): its services get unit periods up to the new end,
    continuing each service's last units and prices. ASSUMPTION: the real API's timing of generating
    future ContractServiceUnits is not in our sources; without them a later adjustment would change nothing."""
    table = store.table("ContractServiceUnits")
    new_end = to_date(contract["endDate"])
    with table.lock:
        rows = where(table, "contractID", contract["id"])
        last_rows: dict[Any, dict[str, Any]] = {}
        for row in rows:
            kept = last_rows.get(row["contractServiceID"])
            if kept is None or to_date(row["endDate"]) > to_date(kept["endDate"]):
                last_rows[row["contractServiceID"]] = row
        for last in last_rows.values():
            following = to_date(last["endDate"]) + timedelta(days=1)
            for start, end in _months(following, new_end):
                tail = dict(last)
                tail.pop("id")
                tail.update(startDate=iso_day(start), endDate=iso_day(end), approveAndPostDate=None)
                table.insert(tail)


def apply_adjustment(
    store: RecordStore, contract_service: dict[str, Any], *, effective: date, unit_change: int,
    unit_price: float | None, unit_cost: float | None,
) -> None:
    """Split the period holding ``effective`` and change units / prices from that date onwards."""
    table = store.table("ContractServiceUnits")
    with table.lock:
        rows = where(table, "contractServiceID", contract_service["id"])
        for row in rows:
            start, end = to_date(row["startDate"]), to_date(row["endDate"])
            if start < effective <= end:
                tail = dict(row)
                tail.pop("id")
                tail["startDate"] = iso_day(effective)
                row["endDate"] = iso_day(effective - timedelta(days=1))
                rows.append(table.insert(tail))
        for row in rows:
            if to_date(row["startDate"]) >= effective:
                row["units"] = max(0, int(row["units"] or 0) + unit_change)
                if unit_price is not None:
                    row["price"] = row["internalCurrencyPrice"] = money(unit_price)
                if unit_cost is not None:
                    row["cost"] = money(unit_cost)
    if unit_price is not None:
        store.table("ContractServices").update(contract_service["id"], {
            "unitPrice": money(unit_price), "internalCurrencyAdjustedPrice": money(unit_price),
        })
    if unit_cost is not None:
        store.table("ContractServices").update(contract_service["id"], {"unitCost": money(unit_cost)})


def now_iso(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
