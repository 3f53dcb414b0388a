"""Checking a customer mapping against the systems and saving it: one implementation for
``channelsync mapping`` (``cli/mapping.py``) and the mapping pages of the Airflow UI plugin
(``plugins/channelsync_ui``), so both refuse and accept exactly the same mappings.

A mapping is saved only after :meth:`MappingEditor.check` has read both sides: the customer from the
distributor (its key names one of the accounts billing reads, and the distributor knows it: its name is
recorded) and the target from the PSA through the integration's connection (the company exists, the
contract is its own, recurring and active on the date; without a contract the company's only such
contract is taken). Every problem is a :class:`~channelsync.state.mappings.MappingError` or
:class:`~channelsync.adapters.psa_companies.MappingTargetInvalid` with a one-line reason. Saving goes
through ``state/mappings.py``, which writes the audit row (who, when, before, after) in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from channelsync.integration_clients import ClientFactory, IntegrationClients


@dataclass(frozen=True)
class CheckedTarget:
    """What :meth:`MappingEditor.check` read: the distributor's customer and the PSA company / contract."""

    key: Any  # state.mappings.CustomerKey
    customer: dict[str, Any]  # adapters.csp_customers.CSP_CUSTOMER row
    company: dict[str, Any]  # adapters.psa_companies.PSA_COMPANY row
    contract: dict[str, Any] | None  # adapters.psa_companies.PSA_CONTRACT row
    tenant: str | None  # the PSA tenant the target was read from (recorded on the mapping)
    psa_system: str

    @property
    def contract_noun(self) -> str:
        return "agreement" if self.psa_system == "connectwise" else "contract"

    def describe(self, *, sync_enabled: bool) -> str:
        contract = self.contract
        return (f"{self.key} ({self.customer.get('customer_name') or '?'}) → company "
                f"{self.company['psa_company_id']} ({self.company['name']}), {self.contract_noun} "
                f"{contract['psa_contract_id'] if contract else '-'} ({contract['name'] if contract else '-'}), "
                f"sync {'on' if sync_enabled else 'off'}")


class MappingEditor(IntegrationClients):
    """The mapping checks and writes of one integration. Clients are made once per (system, connection)
    and hold cross-process slots (Autotask's thread leases): call :meth:`release_slots` when done."""

    def __init__(self, integration: Any, url: str, *, client_factory: ClientFactory | None = None) -> None:
        super().__init__(integration, client_factory=client_factory)
        self.url = url

    @property
    def name(self) -> str:
        return str(self.integration.name)

    def psa(self) -> Any:
        from channelsync.adapters.psa_companies import companies_adapter

        return companies_adapter(self.integration.psa.system, self.psa_client())

    def psa_tenant(self) -> str | None:
        tenant = getattr(self.psa_client(), "tenant_id", None)
        return str(tenant) if tenant else None

    # --- the integration's billing setup ----------------------------------------------------------------

    def distributors(self) -> list[str]:
        from channelsync.adapters.csp_customers import CSP_DISTRIBUTORS
        from channelsync.state.mappings import MappingError

        found = [name for name in self.integration.distributors if name in CSP_DISTRIBUTORS]
        if not found:
            raise MappingError(f"integration {self.name!r} has no Crayon or Pax8 distributor under 'distributors': "
                               "customer mappings are for CSP billing")
        return found

    def accounts(self) -> list[Any]:
        """The distributor accounts billing reads (subscription_billing's ``accounts`` option, else every
        account of its Crayon / Pax8 connections)."""
        from channelsync.adapters.csp_billing import accounts_from_options

        self.distributors()
        template = self.integration.templates.get("subscription_billing")
        configured = (template.options.get("accounts") if template is not None else None) or None
        return accounts_from_options(self.integration, configured, clients=self.client)

    def contract_kind(self) -> str | None:
        """subscription_billing's ``contract_kind`` option: the kind of contract it bills, if configured."""
        template = self.integration.templates.get("subscription_billing")
        kind = (template.options.get("contract_kind") if template is not None else None) or None
        return str(kind) if kind else None

    def key(self, text: str) -> Any:
        """The customer key, its distributor one of the integration's (no call: state-only actions work
        whatever the distributor answers)."""
        from channelsync.state.mappings import CustomerKey, MappingError

        key = CustomerKey.parse(text)
        distributors = self.distributors()
        if key.distributor not in distributors:
            raise MappingError(f"integration {self.name!r} has no distributor {key.distributor!r} (its CSP "
                               f"distributors: {', '.join(sorted(distributors))})")
        return key

    def account_of(self, key: Any) -> Any:
        """The billed account a key names; a key of an account billing does not read is refused."""
        from channelsync.state.mappings import MappingError

        accounts = self.accounts()
        for account in accounts:
            if (account.distributor, str(account.account)) == (key.distributor, key.account):
                return account
        listed = ", ".join(f"{a.distributor}:{a.account}" for a in accounts) or "none"
        raise MappingError(f"integration {self.name!r} bills no {key.distributor} account {key.account!r} (its "
                           f"accounts: {listed}); keys are distributor:account:customer_id")

    # --- checks -----------------------------------------------------------------------------------------

    def customer(self, key: Any) -> dict[str, Any]:
        """The distributor's record of the customer (its name, domain, reference); refused when the
        distributor has no such customer or it belongs to another account."""
        from channelsync.adapters.csp_customers import find_customer
        from channelsync.state.mappings import MappingError

        account = self.account_of(key)
        found = find_customer(key.distributor, self.client(key.distributor, account.conn_id), key.customer_id,
                              account=key.account)
        if found is None:
            raise MappingError(f"{key.distributor} has no customer {key.customer_id} (connection {account.conn_id!r}): "
                               f"`channelsync mapping unmapped --integration {self.name}` lists the customers")
        if found["account"] != key.account:
            raise MappingError(f"{key.distributor} customer {key.customer_id} is in account {found['account']}, not "
                               f"{key.account}: use the key {key.distributor}:{found['account']}:{key.customer_id}")
        return dict(found)

    def eligible_contracts(self, company: str, *, on: date) -> list[dict[str, Any]]:
        """The company's contracts billing can post to on ``on`` (recurring and active), by id."""
        from channelsync.adapters.psa_companies import eligible_contracts

        return eligible_contracts(self.psa(), company, on=on)

    def check(self, key: Any, company: str, contract: str | None, *, on: date) -> CheckedTarget:
        """Read the customer from the distributor and the company / contract from the PSA; refuse with the
        reason when the mapping could not be billed (see the module's doc)."""
        from channelsync.adapters.psa_companies import MappingTargetInvalid, check_target
        from channelsync.state.mappings import MappingError

        company = str(company or "").strip()
        contract = str(contract or "").strip() or None
        if not company:
            raise MappingError("the PSA company id is required")
        customer = self.customer(key)
        adapter = self.psa()
        if contract is None:
            options = self.eligible_contracts(company, on=on)
            if len(options) != 1:
                check_target(adapter, company, None, on=on)  # the company itself first
                listed = ", ".join(f"{c['psa_contract_id']} ({c['name']})" for c in options)
                raise MappingTargetInvalid(
                    f"company {company} has {len(options) or 'no'} active recurring contracts on "
                    f"{on.isoformat()}{': ' + listed + '; pass --contract' if options else ''}")
            contract = str(options[0]["psa_contract_id"])
        found_company, found_contract = check_target(adapter, company, contract, on=on)
        return CheckedTarget(key=key, customer=customer, company=found_company, contract=found_contract,
                             tenant=self.psa_tenant(), psa_system=adapter.psa_system)

    # --- writes -----------------------------------------------------------------------------------------

    def save(self, target: CheckedTarget, *, sync_enabled: bool, by: str) -> str | None:
        """Save a checked mapping (audited as ``by``); the action recorded, or None when unchanged."""
        from channelsync.state.mappings import set_mapping

        return set_mapping(self.url, self.name, target.key, company=str(target.company["psa_company_id"]),
                           contract=target.contract["psa_contract_id"] if target.contract else None,
                           sync_enabled=sync_enabled, by=by, customer_name=target.customer.get("customer_name"),
                           psa_tenant=target.tenant)

    def conflicts(self, key: Any, tenant: str | None) -> list[dict[str, Any]]:
        """Other integrations on the same PSA tenant that map this customer too (their company, contract
        and sync switch): someone should decide which one bills it."""
        from channelsync.state.mappings import conflicting_mappings

        if not tenant:
            return []
        found = conflicting_mappings(self.url, psa_tenant=tenant)
        mine = found[(found["distributor"] == key.distributor) & (found["account"] == key.account)
                     & (found["customer_id"] == key.customer_id) & (found["integration"] != self.name)]
        return [{"integration": row.integration, "psa_company_id": row.psa_company_id,
                 "psa_contract_id": row.psa_contract_id, "sync_enabled": bool(row.sync_enabled)}
                for row in mine.itertuples(index=False)]

    # --- suggestions ------------------------------------------------------------------------------------

    def suggestions(self, customers: Any, *, on: date, limit: int = 3, min_score: float = 0.0,
                    mapped: set[Any] | None = None) -> list[dict[str, Any]]:
        """Candidate PSA companies for ``customers`` (a CSP_CUSTOMER frame or rows), best first, each with
        the company's contract when it has exactly one of the billed kind that is recurring and active on
        ``on``. Nothing is saved: a person chooses."""
        from channelsync.state.mappings import suggest

        adapter = self.psa()
        found = [s for s in suggest(customers, adapter.read_companies(), limit=max(1, limit)) if s.score >= min_score]
        contracts = adapter.read_contracts(sorted({s.psa_company_id for s in found}), on=on) if found else None
        by_company: dict[str, list[dict[str, Any]]] = {}
        if contracts is not None:
            usable = contracts[contracts["recurring"].fillna(False) & contracts["active"].fillna(False)]
            kind = self.contract_kind()
            if kind:  # several agreements per company (Managed Services, Microsoft 365): the billed kind only
                usable = usable[usable["kind"].astype("string").str.casefold() == kind.casefold()]
            for record in usable.astype(object).where(usable.notna(), None).to_dict("records"):
                by_company.setdefault(str(record["psa_company_id"]), []).append(record)
        rows = []
        for s in found:
            options = by_company.get(s.psa_company_id, [])
            rows.append({"key": str(s.key), "customer_name": s.customer_name, "psa_company_id": s.psa_company_id,
                         "company_name": s.company_name, "score": s.score, "reason": s.reason,
                         "psa_contract_id": options[0]["psa_contract_id"] if len(options) == 1 else None,
                         "contract_name": options[0]["name"] if len(options) == 1 else None,
                         "contracts": len(options), "mapped": s.key in (mapped or set())})
        return rows

    def find_companies(self, text: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """PSA companies whose name, number or web address contains ``text`` (case-insensitive), by name."""
        wanted = " ".join(str(text or "").split()).casefold()
        if not wanted:
            return []
        frame = self.psa().read_companies()
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        hits = [r for r in rows if any(wanted in str(r.get(f) or "").casefold() for f in ("name", "number", "domain"))
                or wanted == str(r.get("psa_company_id") or "")]
        return sorted(hits, key=lambda r: (str(r.get("name") or "").casefold(), str(r["psa_company_id"])))[:limit]
