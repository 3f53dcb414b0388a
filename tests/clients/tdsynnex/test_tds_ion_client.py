"""Ion client against the emulator: token rotation (incl. a crash between refresh and use), paging,
pricing, subscriptions, orders, reports, retries and secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from channelsync.clients.tdsynnex import FileTokenStore, InMemoryTokenStore, TdSynnexIonClient
from channelsync.errors import FatalApiError
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl

SEED_TOKEN = demo_credentials.TDSYNNEX_ION["refresh_token"]
MakeIon = Callable[..., TdSynnexIonClient]


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


class CrashAfterPut(InMemoryTokenStore):
    def put(self, refresh_token: str) -> None:
        super().put(refresh_token)
        raise Crash()


def test_refresh_rotates_and_reuse_is_refused(make_ion: MakeIon, sandbox: SandboxControl) -> None:
    store = InMemoryTokenStore(SEED_TOKEN)
    make_ion(store).ping()
    assert store.get() not in (None, SEED_TOKEN)
    with pytest.raises(FatalApiError) as info:
        make_ion(InMemoryTokenStore(SEED_TOKEN)).ping()  # the seed token was used once already
    assert info.value.code == "TDS_TOKEN_REUSED" and info.value.status == 400


def test_crash_between_refresh_and_use_loses_nothing(make_ion: MakeIon, sandbox: SandboxControl,
                                                     tmp_path: Path) -> None:
    crashing = CrashAfterPut(SEED_TOKEN)
    with pytest.raises(Crash):
        make_ion(crashing).ping()
    assert not any(r["path"].endswith("/customers") for r in sandbox.requests("tdsynnex"))  # never used
    # a new process reads the persisted (rotated) token from a durable store and carries on
    durable = FileTokenStore(tmp_path / "ion.token", initial=crashing.get())
    fresh = make_ion(durable)
    assert len(list(fresh.iter_customers(page_size=2))) > 0
    assert durable.get() != crashing.get() and (tmp_path / "ion.token").stat().st_mode & 0o777 == 0o600
    assert make_ion(FileTokenStore(tmp_path / "ion.token")).validate_access()["access_expires_in"] > 7000


def test_expired_access_token_refreshes_once(ion: TdSynnexIonClient, sandbox: SandboxControl) -> None:
    ion.ping()
    sandbox.advance_clock(seconds=7300)  # access token (7,200 s) expired on the server, not in the client
    ion.ping()
    paths = [r["path"] for r in sandbox.requests("tdsynnex")]
    assert paths.count("/ion/oauth/token") == 2


def test_products_page_through_with_tokens(ion: TdSynnexIonClient, sandbox: SandboxControl) -> None:
    products = list(ion.iter_products(page_size=3))
    assert len(products) == 11 and len({p["id"] for p in products}) == 11
    listing = [r for r in sandbox.requests("tdsynnex") if r["path"].endswith("/products")]
    assert len(listing) == 4 and "pageToken" in listing[-1]["query"]
    only = list(ion.iter_products(mfg_part_number="CFQ7TTC0LH18:0001:P1Y:Y"))
    assert [p["marketing"]["displayName"] for p in only] == ["Microsoft 365 Business Basic"]


def test_pricing(ion: TdSynnexIonClient) -> None:
    plans = ion.pricing(["CFQ7TTC0LH18:0001:P1Y:Y", "CFQ7TTC0LH18:0001:P1M:M", "NOPE:0001:P1Y:Y"])
    assert [p["productId"] for p in plans] == ["CFQ7TTC0LH18:0001:P1Y:Y", "CFQ7TTC0LH18:0001:P1M:M"]
    assert plans[0]["pricebookPrice"] == 5.1 and plans[0]["pricebookMasterPrice"] == 6.0
    assert plans[1]["pricebookPrice"] > plans[0]["pricebookPrice"]


def test_subscriptions_offset_paging(ion: TdSynnexIonClient, sandbox: SandboxControl) -> None:
    everything = list(ion.iter_subscriptions(limit=100))
    paged = list(ion.iter_subscriptions(limit=4))
    assert [s["id"] for s in paged] == [s["id"] for s in everything] and len(everything) > 8
    offsets = [r["query"] for r in sandbox.requests("tdsynnex") if r["path"].endswith("/subscriptions")]
    assert len(offsets) == 1 + -(-len(everything) // 4)


def test_order_lifecycle_validation_and_cancel(ion: TdSynnexIonClient, sandbox: SandboxControl) -> None:
    customer = next(ion.iter_customers(page_size=1))["name"].rsplit("/", 1)[-1]
    item = {"action": "CREATE", "productId": "20001", "skuId": "0001", "planId": "CFQ7TTC0LH18:0001:P1Y:Y",
            "quantity": 3, "attributes": [{"name": "domainName", "value": "x.onmicrosoft.com"}]}
    with pytest.raises(FatalApiError) as info:
        ion.create_order(customer, {"orderItems": [dict(item, attributes=[]), dict(item, action="UPDATE")]})
    assert info.value.code == "TDS_ION_VALIDATION"
    assert sorted(info.value.validation_codes) == ["COMM-VL-003", "COMM-VL-004"]  # type: ignore[attr-defined]
    order = ion.create_order(customer, {"referenceId": "cs-ref-1", "orderItems": [item]})
    assert order["status"] == "NEW"
    before = len(list(ion.iter_subscriptions(customer_id=customer)))
    sandbox.advance_clock(seconds=150)
    assert ion.get_order(customer, order["orderId"])["status"] == "COMPLETED"
    assert len(list(ion.iter_subscriptions(customer_id=customer))) == before + 1
    second = ion.create_order(customer, {"referenceId": "cs-ref-2", "orderItems": [item]})
    assert ion.cancel_order(customer, second["orderId"])["status"] == "CANCELED"
    with pytest.raises(FatalApiError) as info:
        ion.cancel_order(customer, order["orderId"])
    assert info.value.code == "TDS_ION_PRECONDITION"
    assert ion.find_order_by_reference(customer, "cs-ref-2")["orderId"] == second["orderId"]


def test_subscriptions_map_to_the_orders_that_created_them(ion: TdSynnexIonClient, sandbox: SandboxControl) -> None:
    subscriptions = list(ion.iter_subscriptions())
    created = ion.subscription_orders()
    assert {s["subscriptionId"] for s in subscriptions} <= set(created)
    for sub in subscriptions:
        assert created[sub["subscriptionId"]]["customerId"] == sub["customerId"]
    assert [o["orderId"] for o in ion.iter_orders(page_size=3)] == [o["orderId"] for o in ion.iter_orders()]
    customer = subscriptions[0]["customerId"]
    assert {o["customerId"] for o in ion.iter_orders(customer_ids=[customer])} == {customer}
    assert set(ion.subscription_orders(customer_id=customer)) == {
        s["subscriptionId"] for s in subscriptions if s["customerId"] == customer}
    oldest_first = [o["createTime"] for o in ion.iter_orders(sort_by="createTime", sort_order="ASC")]
    assert oldest_first == sorted(oldest_first)
    with pytest.raises(ValueError):
        list(ion.iter_orders(customer_id=customer, sort_by="createTime"))
    # A new order names its subscription once it completed.
    item = {"action": "CREATE", "productId": "20001", "skuId": "0001", "planId": "CFQ7TTC0LH18:0001:P1M:M",
            "quantity": 2, "attributes": [{"name": "domainName", "value": "n.onmicrosoft.com"}]}
    order = ion.create_order(customer, {"referenceId": "cs-ref-sub", "orderItems": [item]})
    assert order["orderId"] not in {o["orderId"] for o in ion.subscription_orders().values()}
    sandbox.advance_clock(seconds=150)
    new = [s for s in ion.iter_subscriptions(customer_id=customer) if s["subscriptionId"] not in created]
    assert len(new) == 1 and ion.subscription_orders()[new[0]["subscriptionId"]]["orderId"] == order["orderId"]
    assert next(ion.iter_orders(sort_by="updateTime"))["orderId"] == order["orderId"]  # the latest change first


def test_create_order_outcome_unknown_resolved_by_reference(ion: TdSynnexIonClient, sandbox: SandboxControl) -> None:
    customer = next(ion.iter_customers(page_size=1))["name"].rsplit("/", 1)[-1]
    ion.ping()
    sandbox.set_faults({"kind": "write_then_drop", "system": "tdsynnex", "path": "/orders$", "method": "POST",
                        "count": 1})
    item = {"action": "UPDATE", "resourceId": "x", "productId": "20001", "skuId": "0001",
            "planId": "CFQ7TTC0LH18:0001:P1Y:Y", "quantity": 5, "attributes": []}
    order = ion.create_order(customer, {"referenceId": "cs-ref-9", "orderItems": [item]})
    assert order["referenceId"] == "cs-ref-9"
    assert sum(1 for r in sandbox.requests("tdsynnex") if r["method"] == "POST" and r["path"].endswith("/orders")) == 1


def test_report_csv_rows(ion: TdSynnexIonClient) -> None:
    report = ion.list_reports()[0]
    rows = ion.report_rows(report["reportId"], start_date="2026-01-01")
    assert rows and {"Customer ID", "Seller Cost (USD)", "Seat Count"} <= set(rows[0])
    for row in rows:
        margin = float(row["Customer Cost (USD)"]) - float(row["Seller Cost (USD)"])
        assert abs(margin - float(row["Margin (USD)"])) < 0.011


def test_429_is_retried_with_retry_after_and_secrets_stay_out_of_logs(
        make_ion: MakeIon, sandbox: SandboxControl, caplog: pytest.LogCaptureFixture) -> None:
    store = InMemoryTokenStore(SEED_TOKEN)
    client = make_ion(store)
    caplog.set_level(logging.DEBUG)
    sandbox.set_faults({"kind": "status", "status": 429, "retry_after": 0, "system": "tdsynnex",
                        "path": "/products$", "count": 2})
    assert len(list(client.iter_products(page_size=50))) == 11
    statuses = [r["status"] for r in sandbox.requests("tdsynnex") if r["path"].endswith("/products")]
    assert statuses == [429, 429, 200]
    secrets = [SEED_TOKEN, store.get() or "", client._access or ""]
    blob = caplog.text + repr(client) + repr(store)
    assert all(secret and secret not in blob for secret in secrets)
