"""The fault matrix (R6): every landed template on both demo integrations, run once fault-free and once
under the fault mix, each into a freshly reset sandbox with a state store of its own, then compared.

A *cell* is (template, integration). Its set-up (what must exist before the template can write: a catalog
for price_availability, services, customers and an invoice for billing, POs for the order templates) runs
fault-free; then the template runs — fault-free once, or under the fault mix on **every** emulated system
(Autotask, ConnectWise, TD SYNNEX, Crayon, Pax8), rerun (each rerun a new run that re-plans from the target)
until it settles, at most :data:`MAX_RUNS` times. Settled: the run did not fail, and every failed, deferred
or warned item it reports the fault-free run reports too (a duplicate the seed put in the PSA fails there
as well).

What is compared: every table of every emulator (auth tokens aside), record by record. Record ids and
server timestamps differ between two correct runs, so records are labelled by a natural key (a product by
its SKU, a service by its name, a contract service by contract and service, …), references to such records
become their labels, and TD SYNNEX's sales-order numbers (handed out in submission order) become "the
order of PO n" wherever they appear. A doubled write shows as two records under one label.

Write calls are counted from the sandbox's request log (PSA writes; TD SYNNEX PO and Ion order writes);
each write call a fault hit (429, 5xx, timeout, answer lost) may need one more call, and each rerun sends
again what the target refuses anyway (the seed's hand-made Autotask service clash, refused fault-free too),
so a faulty run may make at most ``fault-free writes + write calls hit by a fault + reruns × refused``.

``tests/e2e/test_fault_matrix.py`` asserts this per cell; ``benchmarks/fault_matrix.py`` prints the table.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from channelsync.clients.http import RetryPolicy
from channelsync.config import load_config
from channelsync.connections import SettingsClientFactory, connections_from_settings
from channelsync.imports import load_object
from channelsync.runs import outcomes
from channelsync.runs.context import RunContext
from channelsync.runs.runner import run_in_process
from channelsync.sandbox.control_client import WRITE_METHODS, SandboxControl
from channelsync.state import repository
from channelsync.state.db import upgrade
from channelsync.templates.registry import TEMPLATES
from tests.e2e import billing_world
from tests.e2e.orders_probe import OrderDesk

ROOT = Path(__file__).resolve().parents[2]
SCALE, SEED = "small", 42
MAX_RUNS = 6
TEMPLATES_IN_MATRIX = ("catalog_sync", "price_availability", "service_catalog_sync", "subscription_billing",
                       "submit_orders", "order_status")
INTEGRATIONS = ("demo-autotask", "demo-connectwise")
SYSTEMS = ("autotask", "connectwise", "tdsynnex", "crayon", "pax8")
# The mix of issue 13 (R6), marginal rates. Rules are tried in order and at most one fires per request, so
# each later rule's probability is conditional on the earlier ones not firing.
FAULT_MIX: tuple[tuple[str, float], ...] = (
    ("429", 0.10), ("5xx", 0.05), ("timeout", 0.02), ("write_then_drop", 0.01))
TIMEOUT_S = 0.3  # the sandbox holds the request this long, then closes the socket unanswered
PRICE_CHANGES = 20  # price_availability: TD SYNNEX prices that move before the refresh
CUSTOMERS = 6  # subscription_billing: new customers, 10 seats from 12/01 and 14 from 12/12 each
ORDERS = 16  # submit_orders / order_status: POs of two lines
MONTHLY = "CFQ7TTC0LDPB:0001:P1M:Monthly"


def fault_rules() -> list[dict[str, Any]]:
    """The mix on every emulated system (one rule set per system, so what fired is counted per system)."""
    rules: list[dict[str, Any]] = []
    for system in SYSTEMS:
        left = 1.0
        for name, rate in FAULT_MIX:
            rule: dict[str, Any] = {"system": system, "probability": rate / left}
            if name == "429":
                rule.update(kind="status", status=429, retry_after=1)
            elif name == "5xx":
                rule.update(kind="status", status=503)
            elif name == "timeout":
                rule.update(kind="timeout", timeout_s=TIMEOUT_S)
            else:
                rule.update(kind="write_then_drop")
            rules.append(rule)
            left -= rate
    return rules


def fault_name(rule: dict[str, Any]) -> str:
    return str(rule["status"]) if rule["kind"] == "status" else str(rule["kind"])


# ---- worlds -------------------------------------------------------------------------------------------------

class World:
    """One side of a comparison: a state store and staging of its own, runs with short client retry waits."""

    def __init__(self, sandbox_url: str, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home, self.sandbox_url = home, sandbox_url
        self.control = SandboxControl(sandbox_url)
        self.state_url = f"sqlite:///{home / 'state.db'}"
        self._use()
        upgrade(self.state_url)
        self.config = load_config(ROOT / "config" / "integrations.yaml")
        self.settings = SettingsClientFactory(
            connections_from_settings(ROOT / "airflow_settings.yaml", sandbox_url=sandbox_url),
            state_url=self.state_url)
        self.count = 0
        self.desk: OrderDesk | None = None
        self.numbers: list[str] = []

    def _use(self) -> None:
        os.environ["CHANNELSYNC_HOME"] = str(self.home / "home")
        os.environ["CHANNELSYNC_STATE_URL"] = self.state_url

    def factory(self, system: str, conn_id: str) -> Any:
        client = self.settings(system, conn_id)
        transport = getattr(client, "transport", None)
        if transport is not None:
            # Short waits: the faults are random, not time-based, so waiting Retry-After out in full tests
            # nothing more; the retry decisions (what is retried, what is outcome-unknown) stay the same.
            transport.policy = RetryPolicy(max_attempts=5, backoff_base=0.02, backoff_cap=0.1, read_timeout=5.0)
            transport.sleep = lambda seconds: time.sleep(min(seconds, 0.05))
        return client

    def run(self, template: str, integration: str) -> dict[str, Any]:
        """One run of the template (all five stages, the DAG's failure semantics), with its troubled items."""
        self._use()
        self.count += 1
        spec = TEMPLATES[template]
        config = self.config.get(integration)
        context = RunContext(
            integration=config, template=template,
            options=spec.options_model.model_validate(config.templates[template].options),
            run_key=f"matrix/{self.home.name}/{self.count}", state_url=self.state_url, client_factory=self.factory)
        summary = run_in_process(context, load_object(spec.steps)())
        error = summary.pop("error", None)
        summary["error"] = f"{type(error).__name__}: {error}" if error is not None else None
        summary["troubled"] = troubled_items(self.state_url, summary["run_id"])
        return summary

    # ---- set-up (fault-free) ---------------------------------------------------------------------------
    def prepare(self, template: str, integration: str) -> None:
        prepare: Callable[[str], None] | None = getattr(self, f"_prepare_{template}", None)
        if prepare is not None:
            prepare(integration)

    def _prepare_price_availability(self, integration: str) -> None:
        """The catalog synced; then TD SYNNEX raises the cost of PRICE_CHANGES linked products by 3 %."""
        _must_pass(self.run("catalog_sync", integration))
        linked = sorted(key.split(":", 1)[1] for key, _id, _fp in repository.load_xref(
            self.state_url, integration=integration, entity_type="product"))
        changed = 0
        for sku in linked:
            record = self.control.record("tdsynnex", "products", sku)
            # room under the MSRP: catalog_sync's suite quarantines a cost above it
            if record["status"] == "Active" and record.get("authorized", True) and \
                    float(record["msrp"]) >= float(record["price"]) * 1.2 and changed < PRICE_CHANGES:
                self.control.edit_record("tdsynnex", "products", sku,
                                         {"price": f"{float(record['price']) * 1.03 + 0.01:.2f}"})
                changed += 1

    def _prepare_subscription_billing(self, integration: str) -> None:
        """Services synced; CUSTOMERS new customers with a contract and a mapping, 10 seats from 12/01 and 14
        from 12/12 each (two postings each); the month's invoice published."""
        _must_pass(self.run("service_catalog_sync", integration))
        distributor = billing_world.DISTRIBUTOR_OF[integration]
        for n in range(CUSTOMERS):
            customer = billing_world.new_customer(
                self.control, self.state_url, integration, name=f"Matrix Test {n}", offer=MONTHLY, quantity=10,
                day=1, contract_start="2026-12-01", contract_end="2027-11-30")
            subscription: Any = int(customer.subscription_id) if distributor == "crayon" else customer.subscription_id
            billing_world.change(self.control, distributor, type="seat_change", subscription_id=subscription,
                                 quantity=14, day=12)
        billing_world.publish(self.control, distributor)

    def _prepare_submit_orders(self, integration: str) -> None:
        """ORDERS valid POs of two lines in the PSA's submit state."""
        self.desk = OrderDesk(self.control, integration, self.sandbox_url)
        self.numbers = self.desk.make_valid(ORDERS, lines=2)

    def _prepare_order_status(self, integration: str) -> None:
        """The POs submitted; then TD SYNNEX moves them: a partial shipment, a back-order, a full shipment
        invoiced at once, a cancellation, in turn."""
        self._prepare_submit_orders(integration)
        _must_pass(self.run("submit_orders", integration))
        assert self.desk is not None
        for n, number in enumerate(self.numbers):
            if n % 4 == 0:
                self.desk.move(number, "ship", lines=[1], quantity=1, tracking=f"1ZPART{n:04d}", serials=[f"SN-{n}"])
            elif n % 4 == 1:
                self.desk.move(number, "backorder", lines=[2], eta="2026-12-20")
            elif n % 4 == 2:
                self.desk.move(number, "ship", tracking=f"1ZFULL{n:04d}", invoice=True)
            else:
                self.desk.move(number, "cancel")


def _must_pass(summary: dict[str, Any]) -> None:
    assert summary["status"] in ("success", "warning", "no_change"), summary


def troubled_items(state_url: str, run_id: int) -> list[tuple[str, str, str]]:
    """(source key, outcome, error code) of the run's items that failed, were deferred or need a look."""
    wanted = set(outcomes.names(kind="failure")) | set(outcomes.names(kind="warning"))
    return sorted((str(i["source_key"]), str(i["outcome"]), str(i["error_code"] or ""))
                  for i in repository.list_items(state_url, run_id) if i["outcome"] in wanted)


def settled(summary: dict[str, Any], baseline: dict[str, Any]) -> bool:
    return summary["status"] != "failure" and set(summary["troubled"]) <= set(baseline["troubled"])


# ---- what the sandbox holds, comparable across worlds ---------------------------------------------------------

# Fields whose values differ between two correct runs (ids are replaced by labels or kept where stable).
VOLATILE = frozenset({"id", "_info", "lastUpdated"})
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")
MIDNIGHT = re.compile(r"[T ]00:00:00(\.0+)?(Z|[+-]00:?00)?$")

Label = Callable[[dict[str, Any]], str]
# Tables whose record ids depend on the order records were made (concurrent loads, retries), in the order
# labels are worked out (a label may use a reference resolved from an earlier table).
LABELS: dict[str, list[tuple[str, Label]]] = {
    "autotask": [
        ("Products", lambda r: str(r.get("sku") or f"mpn:{r.get('manufacturerProductName') or r.get('name')}")),
        ("Services", lambda r: str(r["name"])),
        ("ProductVendors", lambda r: f"{r['productID']}|vendor {r.get('vendorID')}"),
        ("ContractServices", lambda r: f"contract {r['contractID']}|{r['serviceID']}"),
        ("ContractServiceUnits", lambda r: f"contract {r['contractID']}|{r['serviceID']}|{r['startDate']}"),
        ("ContractServiceAdjustments", lambda r: f"contract {r['contractID']}|{r['serviceID']}|{r['effectiveDate']}"),
        ("ContractCharges", lambda r: f"contract {r.get('contractID')}|{r.get('name')}"),
    ],
    "connectwise": [
        ("catalogItems", lambda r: str(r["identifier"])),
        ("additions", lambda r: f"agreement {r.get('agreementId')}|{(r.get('product') or {}).get('identifier')}|"
                                f"{r.get('effectiveDate')}"),
    ],
}
# Reference fields holding the id of a record of a labelled table.
REFERENCES: dict[str, dict[str, str]] = {
    "autotask": {"productID": "Products", "serviceID": "Services", "contractServiceID": "ContractServices"},
    "connectwise": {},
}
ID_FIELDS = ("id", "PONumber", "synnexSKU", "orderId", "_id")


def _stable(value: Any, substitute: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v, substitute) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v, substitute) for v in value]
    if isinstance(value, str):
        if TIMESTAMP.match(value) and not MIDNIGHT.search(value):
            return "<timestamp>"
        return substitute(value)
    return value


def _order_numbers(tables: dict[str, dict[str, list[dict[str, Any]]]]) -> Callable[[str], str]:
    """TD SYNNEX's sales-order numbers → "<SO of PO n>" in any text."""
    names = {str(item["orderNumber"]): f"<SO of {order['PONumber']}>"
             for order in tables.get("tdsynnex", {}).get("po_orders", [])
             for item in order.get("items") or [] if item.get("orderNumber")}
    if not names:
        return lambda text: text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")\b")
    return lambda text: pattern.sub(lambda m: names[m.group(1)], text)


Snapshot = dict[str, dict[str, list[str]]]  # "system.table" → label → sorted canonical records


def snapshot(control: SandboxControl) -> Snapshot:
    """Every table of every emulator (auth tokens aside), comparable across worlds."""
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for system in SYSTEMS:
        tables = control._call("GET", f"records/{system}")["tables"]
        raw[system] = {name: control.records(system, name) for name in tables if "token" not in name.lower()}
    substitute = _order_numbers(raw)
    out: Snapshot = {}
    for system, tables in raw.items():
        labelled = {name: label for name, label in LABELS.get(system, [])}
        refs = REFERENCES.get(system, {})
        labels: dict[str, dict[Any, str]] = {}
        resolved: dict[str, list[dict[str, Any]]] = {}
        order = [name for name, _ in LABELS.get(system, []) if name in tables]
        order += [name for name in tables if name not in labelled]
        for name in order:
            rows = []
            for record in tables[name]:
                row = dict(record)
                for ref_field, target in refs.items():
                    if ref_field in row and row[ref_field] is not None:
                        row[ref_field] = labels.get(target, {}).get(row[ref_field], f"<missing {target} "
                                                                                      f"{row[ref_field]}>")
                rows.append(row)
            if name in labelled:
                labels[name] = {record["id"]: labelled[name](row) for record, row in zip(tables[name], rows,
                                                                                         strict=True)}
            resolved[name] = rows
        for name, rows in resolved.items():
            by_label: dict[str, list[str]] = defaultdict(list)
            for record, row in zip(tables[name], rows, strict=True):
                if name in labelled:
                    key = labels[name][record["id"]]
                else:
                    key = next((str(record[f]) for f in ID_FIELDS if f in record), "*")
                by_label[substitute(key)].append(json.dumps(_stable(row, substitute), sort_keys=True, default=str))
            out[f"{system}.{name}"] = {key: sorted(records) for key, records in by_label.items()}
    return out


def differences(expected: Snapshot, actual: Snapshot, show: int = 12) -> list[str]:
    lines = []
    for table in sorted(set(expected) | set(actual)):
        want_table, got_table = expected.get(table, {}), actual.get(table, {})
        for key in sorted(set(want_table) | set(got_table)):
            want, got = want_table.get(key, []), got_table.get(key, [])
            if want == got:
                continue
            if len(want) != len(got):
                lines.append(f"{table} {key}: {len(want)} record(s) expected, {len(got)} found")
                continue
            for before_text, after_text in zip(want, got, strict=True):
                before, after = json.loads(before_text), json.loads(after_text)
                names = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
                if names:
                    lines.append(f"{table} {key}: " + ", ".join(
                        f"{n}={before.get(n)!r}→{after.get(n)!r}" for n in names))
    return lines[:show] + ([f"... {len(lines) - show} more"] if len(lines) > show else [])


# ---- write calls ------------------------------------------------------------------------------------------------

def is_write(entry: dict[str, Any]) -> bool:
    """A call that changes the target: PSA writes (Autotask POST queries are reads); TD SYNNEX's PO and Ion
    order writes (its other XML services are POSTs that read); nothing on Crayon or Pax8 but token POSTs."""
    system, method, path = entry["system"], entry["method"], entry["path"].lower().rstrip("/")
    if method not in WRITE_METHODS:
        return False
    if system == "autotask":
        return not path.endswith(("/query", "/count")) and "/query/" not in path
    if system == "connectwise":
        return True
    if system == "tdsynnex":
        return path.endswith("synnexxml/po") or ("/orders" in path and "/ion/" in path and "reports" not in path)
    return "token" not in path


def hit_by_fault(entry: dict[str, Any]) -> bool:
    """Answered as the mix answers (429, 503), or not at all (held then closed, or applied with the answer
    lost). A refusal of the emulator's own (Autotask's 500 for a duplicate) is not a fault."""
    return int(entry["status"]) in (0, 429, 503)


# ---- one cell ---------------------------------------------------------------------------------------------------

@dataclass
class Cell:
    template: str
    integration: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    baseline: dict[str, Any] = field(default_factory=dict)
    clean_writes: int = 0
    writes: int = 0
    write_faults: int = 0
    fired: Counter[str] = field(default_factory=Counter)
    fired_by_system: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    diff: list[str] = field(default_factory=list)
    after: dict[str, Any] = field(default_factory=dict)
    writes_after: int = 0
    seconds: float = 0.0

    @property
    def settled(self) -> bool:
        return bool(self.runs) and settled(self.runs[-1], self.baseline)

    @property
    def identical(self) -> bool:
        return not self.diff

    @property
    def refused(self) -> int:
        """Writes the fault-free run sends and the target refuses (the seeded Autotask service clash): every
        run sends them again, fault-free or not."""
        return sum(1 for _key, outcome, _code in self.baseline["troubled"]
                   if outcome in outcomes.names(kind="failure"))

    @property
    def write_bound(self) -> int:
        """The fault-free run's write calls, one more per write call a fault hit, and each rerun's retries of
        what the target refuses anyway."""
        return self.clean_writes + self.write_faults + max(0, len(self.runs) - 1) * self.refused

    @property
    def quiet_after(self) -> bool:
        """The run after: nothing written, and no write call but a retry of what the target refuses anyway."""
        if not self.after or not settled(self.after, self.baseline):
            return False
        written = sum(n for name, n in self.after["counts"].items() if name in outcomes.names(kind="write"))
        return written == 0 and self.writes_after <= self.refused

    def passed(self) -> bool:
        return self.settled and self.identical and self.writes <= self.write_bound and self.quiet_after

    def row(self) -> dict[str, Any]:
        return {"template": self.template, "psa": self.integration, "runs": len(self.runs),
                "writes": self.writes, "clean_writes": self.clean_writes, "write_faults": self.write_faults,
                "refused": self.refused, "write_bound": self.write_bound, "fired": sum(self.fired.values()),
                "fired_by_kind": dict(self.fired), "requests": self.requests,
                "identical": self.identical, "settled": self.settled, "writes_after": self.writes_after,
                "seconds": round(self.seconds, 1)}


def _last_seq(control: SandboxControl) -> int:
    entries = control.requests()
    return int(entries[-1]["seq"]) if entries else 0


def shift_faults(sandbox_url: str, draws: int) -> None:
    """Move the fault book's seeded random stream on by about ``draws`` (requests that meet the rules and are
    thrown away), so a rerun hits other requests. The rules must be set (again) afterwards."""
    for _ in range(draws):
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{sandbox_url}/crayon/_fault_matrix_shift", timeout=5)


def measure(sandbox_url: str, workdir: Path, template: str, integration: str,
            rules: list[dict[str, Any]] | None = None, shift: int = 0) -> Cell:
    """The cell fault-free, then under the fault mix (or ``rules``), each into a freshly reset sandbox;
    compared. ``shift``: see :func:`shift_faults`."""
    started = time.perf_counter()
    control = SandboxControl(sandbox_url)
    cell = Cell(template, integration)
    base = workdir / f"{template}-{integration}"

    control.reset(scale=SCALE, seed=SEED)
    clean = World(sandbox_url, base / "clean")
    clean.prepare(template, integration)
    mark = _last_seq(control)
    cell.baseline = clean.run(template, integration)
    assert cell.baseline["status"] != "failure", cell.baseline
    cell.clean_writes = sum(1 for e in control.requests(since=mark) if is_write(e))
    expected = snapshot(control)

    control.reset(scale=SCALE, seed=SEED)
    faulty = World(sandbox_url, base / "faulty")
    faulty.prepare(template, integration)
    if shift:
        control.set_faults(*fault_rules())
        shift_faults(sandbox_url, shift)
    control.set_faults(*(fault_rules() if rules is None else rules))  # counters from 0, the stream moved on
    mark = _last_seq(control)
    try:
        for _ in range(MAX_RUNS):
            cell.runs.append(faulty.run(template, integration))
            if settled(cell.runs[-1], cell.baseline):
                break
    finally:
        fired = control.faults()
        control.clear_faults()
    for rule in fired:
        cell.fired[fault_name(rule)] += int(rule["fired"])
        cell.fired_by_system[rule["system"]] = cell.fired_by_system.get(rule["system"], 0) + int(rule["fired"])
    entries = control.requests(since=mark)
    cell.requests = len(entries)
    cell.writes = sum(1 for e in entries if is_write(e))
    cell.write_faults = sum(1 for e in entries if is_write(e) and hit_by_fault(e))
    cell.diff = differences(expected, snapshot(control))
    # Quiet means quiet: one more run, fault-free, has nothing left to write.
    mark = _last_seq(control)
    cell.after = faulty.run(template, integration)
    cell.writes_after = sum(1 for e in control.requests(since=mark) if is_write(e))
    cell.seconds = time.perf_counter() - started
    return cell
