"""Mapping suggestions and the unmapped report (state/mappings.py), pure: expectations by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from channelsync.canonical import empty
from channelsync.canonical.billing import INVOICE_LINE
from channelsync.state.mappings import (
    FUZZY_THRESHOLD,
    MAPPING,
    UNMAPPED,
    CustomerKey,
    domain_name,
    normalise_domain,
    normalise_name,
    suggest,
    unmapped,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Contoso, Inc.", "contoso"),
    ("CONTOSO LLC", "contoso"),
    ("Contoso Ltd", "contoso"),
    ("Müller GmbH & Co. KG", "muller"),
    ("The Fabrikam Company", "fabrikam"),
    ("Acme L.L.C.", "acme"),
    ("Smith & Sons Ltd", "smith and sons"),
    ("Northwind Traders Pty Ltd", "northwind traders"),
    ("Company", "company"),  # a name that is only a legal form stays a name
    ("  Tailspin   Toys  ", "tailspin toys"),
    (None, ""),
])
def test_normalised_names(raw: str | None, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(("raw", "host", "label"), [
    ("https://www.Contoso.com/about", "contoso.com", "contoso"),
    ("admin@contoso.com", "contoso.com", "contoso"),
    ("contoso.onmicrosoft.com", "contoso.onmicrosoft.com", "contoso"),
    ("http://shop.fabrikam.co.uk:8080/x", "shop.fabrikam.co.uk", "shop"),
    ("localhost", "", ""),
    ("", "", ""),
])
def test_normalised_domains(raw: str, host: str, label: str) -> None:
    assert normalise_domain(raw) == host
    assert domain_name(host) == label


def _customer(customer_id: str, name: str, domain: str | None = None, reference: str | None = None,
              distributor: str = "crayon", account: str = "4401") -> dict[str, str | None]:
    return {"distributor": distributor, "account": account, "customer_id": customer_id, "customer_name": name,
            "customer_domain": domain, "reference": reference}


COMPANIES = pd.DataFrame([
    {"psa_company_id": "10", "name": "Contoso Ltd", "domain": "https://www.contoso.com", "number": "C0001"},
    {"psa_company_id": "11", "name": "Fabrikam, Inc.", "domain": "fabrikam.example.com", "number": None},
    {"psa_company_id": "12", "name": "Contoso Pharmaceutical", "domain": None, "number": None},
    {"psa_company_id": "13", "name": "Northwind Traders", "domain": "https://northwindtraders.com", "number": None},
    {"psa_company_id": "14", "name": "Tailspin Toys", "domain": None, "number": "C0042"},
    {"psa_company_id": "15", "name": "Tailspin Toys LLC", "domain": None, "number": None},
])


def _by_customer(customers: list[dict[str, str | None]], **kwargs: int) -> dict[str, list[tuple[str, float, str]]]:
    out: dict[str, list[tuple[str, float, str]]] = {}
    for s in suggest(pd.DataFrame(customers), COMPANIES, **kwargs):
        out.setdefault(s.key.customer_id, []).append((s.psa_company_id, s.score, s.reason))
    return out


def test_each_reason_with_its_score() -> None:
    found = _by_customer([
        _customer("1", "Contoso Ltd"),  # exact
        _customer("2", "FABRIKAM LLC"),  # normalised ("fabrikam")
        _customer("3", "Something Else", domain="admin@contoso.com"),  # same host as company 10
        _customer("4", "Other Name", domain="northwindtraders.onmicrosoft.com"),  # tenant prefix = first label
        _customer("5", "Contoso Pharmaceuticals"),  # fuzzy: 2 × 22 / 45 = 0.9778
        _customer("6", "Unrelated Dental"),
        _customer("7", "Anything", reference="c0042"),  # the MSP's reference = the company number
    ])
    assert found["1"] == [("10", 1.0, "exact name, normalised name")]
    assert found["2"] == [("11", 0.9, "normalised name")]
    assert found["3"] == [("10", 0.95, "domain, domain name")]
    assert found["4"] == [("13", 0.85, "domain name")]
    assert found["5"] == [("12", round(0.8 * 44 / 45, 3), "fuzzy name 0.98")]
    assert "6" not in found
    assert found["7"] == [("14", 0.98, "reference")]


def test_fuzzy_matches_below_the_threshold_are_not_suggested() -> None:
    # "contoso pharma" vs "contoso pharmaceutical": 2 × 14 / 36 = 0.78; vs "contoso": 2 × 7 / 21 = 0.67
    assert FUZZY_THRESHOLD > 2 * 14 / 36
    assert _by_customer([_customer("1", "Contoso Pharma")]) == {}


def test_equally_good_companies_are_all_listed_and_the_limit_holds() -> None:
    found = _by_customer([_customer("1", "Tailspin Toys Limited")])
    # both normalise to "tailspin toys": a person chooses
    assert found["1"] == [("14", 0.9, "normalised name"), ("15", 0.9, "normalised name")]
    assert _by_customer([_customer("1", "Tailspin Toys Limited")], limit=1)["1"] == [("14", 0.9, "normalised name")]
    # the exact one first, the normalised twin after it
    assert _by_customer([_customer("1", "Tailspin Toys")])["1"] == [
        ("14", 1.0, "exact name, normalised name"), ("15", 0.9, "normalised name")]


def test_invoice_lines_give_one_suggestion_per_customer_and_keys_are_normalised() -> None:
    lines = pd.DataFrame([_customer("310007", "Contoso Ltd"), _customer("310007", "Contoso Ltd"),
                          _customer("9", "Contoso Ltd", distributor="PAX8", account="p1")])
    found = suggest(lines, COMPANIES.to_dict("records"))
    assert [s.key for s in found] == [CustomerKey("crayon", "4401", "310007"), CustomerKey("pax8", "p1", "9")]
    assert str(found[0].key) == "crayon:4401:310007"


def test_no_companies_or_no_customers_suggest_nothing() -> None:
    assert suggest(pd.DataFrame([_customer("1", "Contoso Ltd")]), pd.DataFrame(
        columns=["psa_company_id", "name", "domain", "number"])) == []
    assert suggest([], COMPANIES) == []


# --- the unmapped report ---------------------------------------------------------------------------------


def _line(customer_id: str | int, name: str | None, price: float, cost: float, *, currency: str = "USD",
          distributor: str = "crayon", account: str = "4401") -> dict[str, object]:
    return {"distributor": distributor, "account": account, "customer_id": customer_id, "customer_name": name,
            "price_total": price, "cost_total": cost, "currency": currency}


MAPPED = pd.DataFrame([
    {"distributor": "crayon", "account": "4401", "customer_id": "1", "customer_name": "Mapped",
     "psa_company_id": "10", "psa_contract_id": "20", "sync_enabled": True},
    {"distributor": "crayon", "account": "4401", "customer_id": "2", "customer_name": "Company only",
     "psa_company_id": "11", "psa_contract_id": None, "sync_enabled": True},
    {"distributor": "crayon", "account": "4401", "customer_id": "3", "customer_name": "Switched off",
     "psa_company_id": "12", "psa_contract_id": "22", "sync_enabled": False},
]).astype(MAPPING)


def test_unmapped_customers_with_line_count_and_totals() -> None:
    lines = pd.DataFrame([
        _line(1, "Mapped", 100.0, 80.0),
        _line(2, "Company only", 10.0, 8.0),
        _line(3, "Switched off", 50.0, 40.0),
        _line(4, "New Tenant", 30.0, 25.5),
        _line(4, "New Tenant", -5.25, -4.0),  # a credit line of the same customer
        _line(4, None, 1.0, 0.5),  # name missing on one line: the others name it
        _line(5, "Other Account", 99.0, 90.0, account="4402"),  # customer 5 of another account: unmapped
        _line(1, "Same id, Pax8", 7.0, 6.0, distributor="pax8", account="p1"),  # not the Crayon customer 1
    ])
    report = unmapped(lines, MAPPED)
    assert list(report.columns) == list(UNMAPPED)
    assert report[["distributor", "account", "customer_id", "customer_name", "reason", "lines", "price_total",
                   "cost_total", "currency"]].astype(object).values.tolist() == [
        ["crayon", "4402", "5", "Other Account", "no mapping", 1, 99.0, 90.0, "USD"],
        ["crayon", "4401", "4", "New Tenant", "no mapping", 3, 25.75, 22.0, "USD"],
        ["crayon", "4401", "2", "Company only", "no contract", 1, 10.0, 8.0, "USD"],
        ["pax8", "p1", "1", "Same id, Pax8", "no mapping", 1, 7.0, 6.0, "USD"],
    ]


def test_unmapped_with_several_currencies_no_mappings_and_no_lines() -> None:
    lines = pd.DataFrame([_line("7", "Two Currencies", 1.0, 1.0), _line("7", "Two Currencies", 2.0, 1.0,
                                                                        currency="EUR")])
    report = unmapped(lines, empty(MAPPING))
    assert report[["customer_id", "lines", "price_total", "currency"]].astype(object).values.tolist() == [
        ["7", 2, 3.0, "EUR,USD"]]
    assert unmapped(empty(INVOICE_LINE), MAPPED).empty
    assert list(unmapped(empty(INVOICE_LINE), MAPPED).columns) == list(UNMAPPED)
    everything_mapped = pd.DataFrame([_line(1, "Mapped", 1.0, 1.0)])
    assert unmapped(everything_mapped, MAPPED).empty


def test_unmapped_reads_canonical_invoice_lines() -> None:
    row: dict[str, object] = {column: None for column in INVOICE_LINE}
    row.update(distributor="pax8", account="p1", customer_id="c-1", customer_name="Canonical", price_total=12.5,
               cost_total=10.0, currency="USD")
    lines = pd.DataFrame([row]).astype(INVOICE_LINE)
    report = unmapped(lines, MAPPED)
    assert report[["customer_id", "lines", "price_total", "cost_total"]].astype(object).values.tolist() == [
        ["c-1", 1, 12.5, 10.0]]
