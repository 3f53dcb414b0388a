"""``channelsync mapping``: the customer mappings of subscription billing (distributor customer → PSA
company + recurring contract, with a sync switch per customer), kept in the state store with an audit
row per change (``state/mappings.py``).

    channelsync mapping list     --integration NAME [--json]
    channelsync mapping set      --integration NAME KEY --company ID [--contract ID] [--disabled] [--on DATE]
                                 [--by USER]
    channelsync mapping enable   --integration NAME KEY [--by USER]
    channelsync mapping disable  --integration NAME KEY [--by USER]
    channelsync mapping remove   --integration NAME KEY [--by USER]
    channelsync mapping history  --integration NAME [KEY] [--json]
    channelsync mapping suggest  --integration NAME [--all] [--min-score S] [--limit N] [--on DATE] [--json]
                                 [--apply KEY [KEY ...]] [--by USER]
    channelsync mapping unmapped --integration NAME [--lines FILE] [--json]

KEY is ``distributor:account:customer_id`` as ``list``, ``suggest`` and ``unmapped`` print it (e.g.
``crayon:4401:310007``), the account one that billing reads (subscription_billing's ``accounts``
option, else every Crayon organization the login sees and each Pax8 connection, named by its
connection id: ``adapters/csp_billing.py``).

``set`` reads the PSA through the integration's connection first: the company must exist and the
contract must belong to it, be recurring (Autotask: a Recurring Service contract) and be active on
``--on`` (default today); without ``--contract`` the company's only such contract is taken. It also
reads the customer from the distributor, to check the key and record the customer's name.
Suggestions are never applied unless their keys are named with ``--apply``. ``--by`` defaults to the
OS user.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ACTIONS = ("list", "set", "enable", "disable", "remove", "history", "suggest", "unmapped")


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``mapping`` and its actions to the top-level subparsers (``cli/main.py``)."""
    mapping = commands.add_parser("mapping", help="customer mappings of subscription billing").add_subparsers(
        dest="action", required=True)
    base = argparse.ArgumentParser(add_help=False, parents=[common])
    base.add_argument("--integration", required=True, help="the integration (config/integrations.yaml)")
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument("--by", default=None, help="who makes the change (default: the OS user)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of a table")
    on = argparse.ArgumentParser(add_help=False)
    on.add_argument("--on", type=_date, default=None, help="the date contracts must be active on (default today)")

    mapping.add_parser("list", help="the integration's mappings", parents=[base, as_json])
    set_ = mapping.add_parser("set", help="map a customer to a PSA company and recurring contract",
                              parents=[base, who, on])
    set_.add_argument("key", help="distributor:account:customer_id")
    set_.add_argument("--company", required=True, help="the PSA company id")
    set_.add_argument("--contract", help="the Autotask contract / ConnectWise agreement id (default: the "
                                         "company's only active recurring one)")
    set_.add_argument("--disabled", action="store_true", help="save the mapping with its sync switched off")
    for name, text in (("enable", "switch a customer's billing sync on"),
                       ("disable", "switch a customer's billing sync off"),
                       ("remove", "delete a customer's mapping (its history stays)")):
        switch = mapping.add_parser(name, help=text, parents=[base, who])
        switch.add_argument("key", help="distributor:account:customer_id")
    history = mapping.add_parser("history", help="the audit of mapping changes", parents=[base, as_json])
    history.add_argument("key", nargs="?", help="only this customer")
    suggest = mapping.add_parser("suggest", help="candidate PSA companies for unmapped customers",
                                 parents=[base, who, as_json, on])
    suggest.add_argument("--all", action="store_true", help="also for customers already mapped")
    suggest.add_argument("--min-score", type=float, default=0.0, help="hide suggestions scoring less (0..1)")
    suggest.add_argument("--limit", type=int, default=3, help="suggestions per customer (default 3)")
    suggest.add_argument("--apply", nargs="+", metavar="KEY", default=None,
                         help="save the best suggestion of these customers (only these)")
    unmapped = mapping.add_parser("unmapped", help="customers without a mapping", parents=[base, as_json])
    unmapped.add_argument("--lines", type=Path, help="invoice lines (Parquet or CSV, canonical INVOICE_LINE): "
                                                    "list their unmapped customers with line count and totals")


def run(args: argparse.Namespace) -> int:
    from channelsync import settings
    from channelsync.cli import checks
    from channelsync.config import load_config

    path = settings.config_path()
    integration = _integration(load_config(path), path, args.integration)
    url = checks.state_store()
    command = _Command(integration, url, args)
    try:
        result: int = getattr(command, f"do_{args.action}")()
    finally:
        command.release_slots()
    return result


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (a container without one)
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


class _Command:
    def __init__(self, integration: Any, url: str, args: argparse.Namespace) -> None:
        from channelsync.mapping_edit import MappingEditor
        from channelsync.runs.context import hook_client_factory

        self.integration, self.url, self.args = integration, url, args
        # The checks and writes shared with the mapping pages of the UI plugin (mapping_edit.py).
        self.editor = MappingEditor(integration, url, client_factory=hook_client_factory)

    # --- plumbing -------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.integration.name)

    @property
    def by(self) -> str:
        return str(getattr(self.args, "by", None) or default_actor())

    @property
    def on(self) -> date:
        chosen = getattr(self.args, "on", None)
        return chosen if isinstance(chosen, date) else datetime.now(UTC).date()

    def client(self, system: str, conn_id: str) -> Any:
        return self.editor.client(system, conn_id)

    def release_slots(self) -> None:
        self.editor.release_slots()

    def accounts(self) -> list[Any]:
        return self.editor.accounts()

    def key(self, text: str) -> Any:
        return self.editor.key(text)

    # --- actions --------------------------------------------------------------------------------------

    def do_list(self) -> int:
        from channelsync.state.mappings import list_mappings

        rows = list_mappings(self.url, self.name)
        if self.args.json:
            return _json(rows)
        if not rows:
            print(f"no customer mappings for integration {self.name} (`channelsync mapping suggest --integration "
                  f"{self.name}` proposes some)")
            return 0
        _table(["key", "customer", "company", "contract", "sync", "updated by", "updated at"],
               [[r["key"], r["customer_name"], r["psa_company_id"], r["psa_contract_id"],
                 "on" if r["sync_enabled"] else "off", r["updated_by"], r["updated_at"][:19]] for r in rows])
        return 0

    def do_set(self) -> int:
        key = self.key(self.args.key)
        target = self.editor.check(key, self.args.company, self.args.contract, on=self.on)
        action = self.editor.save(target, sync_enabled=not self.args.disabled, by=self.by)
        print(f"{_done(action)}: {target.describe(sync_enabled=not self.args.disabled)}")
        self._warn_conflicts(key, target.tenant)
        return 0

    def do_enable(self) -> int:
        return self._switch(True)

    def do_disable(self) -> int:
        return self._switch(False)

    def _switch(self, enabled: bool) -> int:
        from channelsync.state.mappings import set_sync

        key = self.key(self.args.key)
        action = set_sync(self.url, self.name, key, enabled, self.by)
        print(f"{_done(action)}: {key} sync {'on' if enabled else 'off'}")
        return 0

    def do_remove(self) -> int:
        from channelsync.state.mappings import remove_mapping

        key = self.key(self.args.key)
        remove_mapping(self.url, self.name, key, by=self.by)
        print(f"removed: {key} (its history stays: `channelsync mapping history --integration {self.name} {key}`)")
        return 0

    def do_history(self) -> int:
        from channelsync.state.mappings import mapping_history

        key = self.key(self.args.key) if self.args.key else None
        rows = mapping_history(self.url, self.name, key)
        if self.args.json:
            return _json(rows)
        if not rows:
            print("no mapping changes recorded")
            return 0
        _table(["changed at", "by", "action", "key", "change"],
               [[r["changed_at"][:19], r["changed_by"], r["action"], r["key"], _diff(r["before"], r["after"])]
                for r in rows], widths={"change": 140})
        return 0

    def do_suggest(self) -> int:
        from channelsync.adapters.csp_customers import read_customers
        from channelsync.state.mappings import CustomerKey, load_mappings, set_mapping

        apply = [self.key(text) for text in self.args.apply or []]
        customers = read_customers(self.accounts(), self.client)
        mappings = load_mappings(self.url, self.name)
        mapped = {CustomerKey.of(*row) for row in mappings[["distributor", "account", "customer_id"]].itertuples(
            index=False)}
        if not self.args.all:
            keys = [CustomerKey.of(*row) for row in customers[["distributor", "account", "customer_id"]].itertuples(
                index=False)]
            customers = customers[[key not in mapped for key in keys]]
        rows = self.editor.suggestions(customers, on=self.on, limit=self.args.limit, min_score=self.args.min_score,
                                       mapped=mapped)
        if apply:
            return self._apply(apply, rows, set_mapping)
        if self.args.json:
            return _json(rows)
        if not rows:
            print("no suggestions" + ("" if self.args.all else " for unmapped customers"))
            return 0
        _table(["key", "customer", "company", "contract", "score", "reason"],
               [[r["key"], r["customer_name"], f"{r['psa_company_id']} {r['company_name']}",
                 f"{r['psa_contract_id']} {r['contract_name']}" if r["psa_contract_id"] else
                 (f"({r['contracts']} to choose from)" if r["contracts"] else "(no active recurring contract)"),
                 f"{r['score']:.2f}", r["reason"]] for r in rows])
        print(f"\nnothing is applied: `channelsync mapping suggest --integration {self.name} --apply KEY …` saves the "
              f"best suggestion of the customers named, `channelsync mapping set` any other choice", file=sys.stderr)
        return 0

    def _apply(self, keys: Sequence[Any], rows: list[dict[str, Any]], set_mapping: Any) -> int:
        """Save the best suggestion of each named customer; refused whole when any cannot be applied."""
        chosen = []
        for key in keys:
            mine = [r for r in rows if r["key"] == str(key)]
            if not mine:
                raise _usage(f"no suggestion for {key}: `channelsync mapping set --integration {self.name} {key} "
                                 "--company ID` maps it by hand")
            best = mine[0]
            ties = [r for r in mine[1:] if r["score"] == best["score"]]
            if ties:
                raise _usage(f"{key}: companies {best['psa_company_id']} and {ties[0]['psa_company_id']} match "
                                 "equally well: choose with `channelsync mapping set`")
            if not best["psa_contract_id"]:
                raise _usage(f"{key}: company {best['psa_company_id']} has "
                                 f"{best['contracts'] or 'no'} active recurring contracts; choose with "
                                 f"`channelsync mapping set {key} --company {best['psa_company_id']} --contract ID`")
            chosen.append((key, best))
        tenant = self.editor.psa_tenant()
        for key, best in chosen:
            action = set_mapping(self.url, self.name, key, company=best["psa_company_id"],
                                 contract=best["psa_contract_id"], sync_enabled=True, by=self.by,
                                 customer_name=best["customer_name"] or None, psa_tenant=tenant)
            print(f"{_done(action)}: {key} ({best['customer_name']}) → company {best['psa_company_id']} "
                  f"({best['company_name']}), contract {best['psa_contract_id']} ({best['contract_name']}) "
                  f"[{best['reason']}]")
            self._warn_conflicts(key, tenant)
        return 0

    def do_unmapped(self) -> int:
        from channelsync.state.mappings import CustomerKey, load_mappings, unmapped

        mappings = load_mappings(self.url, self.name)
        if self.args.lines is not None:
            report = unmapped(_read_lines(self.args.lines), mappings)
            records = report.astype(object).where(report.notna(), None).to_dict("records")
            for record in records:
                record["key"] = str(CustomerKey.of(record["distributor"], record["account"], record["customer_id"]))
            if self.args.json:
                return _json(records)
            if not records:
                print("every customer of these invoice lines is mapped")
                return 0
            _table(["key", "customer", "reason", "lines", "price total", "cost total", "currency"],
                   [[r["key"], r["customer_name"], r["reason"], r["lines"], f"{r['price_total']:.2f}",
                     f"{r['cost_total']:.2f}", r["currency"]] for r in records])
            return 0
        from channelsync.adapters.csp_customers import read_customers

        customers = read_customers(self.accounts(), self.client)
        with_contract = {CustomerKey.of(d, a, c) for d, a, c, contract in mappings[
            ["distributor", "account", "customer_id", "psa_contract_id"]].itertuples(index=False)
            if _present(contract)}
        mapped = {CustomerKey.of(*row) for row in mappings[["distributor", "account", "customer_id"]].itertuples(
            index=False)}
        records = []
        for row in customers.astype(object).where(customers.notna(), None).to_dict("records"):
            key = CustomerKey.of(row["distributor"], row["account"], row["customer_id"])
            if key in with_contract:
                continue
            records.append({"key": str(key), "distributor": key.distributor, "account": key.account,
                            "customer_id": key.customer_id, "customer_name": row["customer_name"],
                            "reason": "no contract" if key in mapped else "no mapping"})
        if self.args.json:
            return _json(records)
        if not records:
            print("every customer of the distributors is mapped")
            return 0
        _table(["key", "customer", "reason"], [[r["key"], r["customer_name"], r["reason"]] for r in records])
        print(f"\n{len(records)} customer(s) without a mapping; `--lines FILE` adds line counts and totals from "
              "invoice lines", file=sys.stderr)
        return 0

    def _warn_conflicts(self, key: Any, tenant: str | None) -> None:
        for row in self.editor.conflicts(key, tenant):
            print(f"warning: integration {row['integration']} on the same PSA also maps {key} (company "
                  f"{row['psa_company_id']}, contract {row['psa_contract_id']}"
                  f"{'' if row['sync_enabled'] else ', sync off'})", file=sys.stderr)


def _present(value: Any) -> bool:
    import pandas as pd

    return value is not None and not pd.isna(value) and bool(str(value).strip())


def _usage(message: str) -> Exception:
    """A mistake on the command line (``cli/checks.py``: one line, exit 2); imported when raised, so
    building the parser stays cheap."""
    from channelsync.cli.checks import UsageError

    return UsageError(message)


def _integration(configuration: Any, path: Path, name: str) -> Any:
    names = [i.name for i in configuration.integrations]
    if name not in names:
        raise _usage(f"no integration {name!r} in {path} (configured: {', '.join(names) or 'none'})")
    return configuration.get(name)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _read_lines(path: Path) -> Any:
    import pandas as pd

    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype={"account": "string", "customer_id": "string"})
    return pd.read_parquet(path)


def _done(action: str | None) -> str:
    return {"create": "created", "update": "updated", "enable": "enabled", "disable": "disabled",
            None: "unchanged"}.get(action, str(action))


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if before is None:
        return ", ".join(f"{k}={v}" for k, v in (after or {}).items() if v is not None)
    if after is None:
        return "removed (" + ", ".join(f"{k}={v}" for k, v in before.items() if v is not None) + ")"
    return ", ".join(f"{k}: {before.get(k)} → {after.get(k)}" for k in after if before.get(k) != after.get(k))


def _json(rows: Any) -> int:
    print(json.dumps(rows, indent=2, default=str))
    return 0


def _table(headers: list[str], rows: list[list[Any]], *, widths: dict[str, int] | None = None) -> None:
    cells = [[str(v) if _present(v) else "" for v in row] for row in rows]
    caps = {h: (widths or {}).get(h, 80 if h in ("key", "reason", "change") else 40) for h in headers}
    sizes = [min(caps[h], max([len(h), *(len(row[i]) for row in cells)])) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(sizes[i]) for i, h in enumerate(headers)).rstrip())
    for row in cells:
        print("  ".join(_cut(v, sizes[i]).ljust(sizes[i]) for i, v in enumerate(row)).rstrip())


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
