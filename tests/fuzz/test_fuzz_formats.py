"""Bad and hostile input (R3): every source format fuzzed with Hypothesis (derandomized: the same cases
on every run; a bounded number of examples) and a hand-made corpus (``corpus/``, expectations in
``corpus/expected.json``). Each malformed record is quarantined with an item-level reason or its input
refused with a typed channelsync error; nothing else escapes and no malformed record passes
(``harness.py``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz import generators as gen
from tests.fuzz import harness
from tests.fuzz.corpus_cases import CORPUS, run_case

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=list(HealthCheck))


def examples(n: int) -> settings:
    return settings(FUZZ, max_examples=n)


@examples(12)
@given(gen.flat_files())
def fuzz_flatfile(case: tuple[bytes, dict, int]) -> None:
    content, expected, _rows = case
    harness.run_flatfile(content, expected).count("flat file")


@examples(30)
@given(gen.pna_answers())
def fuzz_pna(case: tuple) -> None:
    content, skus, expected, _lines = case
    result = harness.run_pna(content, skus, expected or {})
    if expected is None:
        assert result.refused is not None, f"a malformed P&A answer was read: {result.outcomes}"
    result.count("XML P&A")


@examples(30)
@given(gen.po_status_answers())
def fuzz_po_status(case: tuple) -> None:
    content, expected = case
    harness.run_po_status(content, expected).count("XML PO status")


def _listing(system: str, fmt: str):  # type: ignore[no-untyped-def]
    @examples(25)
    @given(gen.listing_answers(system))
    def fuzz(case: tuple) -> None:
        pages, expected = case
        harness.run_json_listing(system, pages, expected).count(fmt)

    return fuzz


def _tokens(system: str, fmt: str):  # type: ignore[no-untyped-def]
    @examples(25)
    @given(gen.token_answers(system))
    def fuzz(case: tuple) -> None:
        body, expected = case
        harness.run_token(system, body, expected).count(fmt)

    return fuzz


def _invoices(system: str, fmt: str):  # type: ignore[no-untyped-def]
    @examples(25)
    @given(gen.invoice_documents(system))
    def fuzz(case: tuple) -> None:
        doc, expected, _lines = case
        harness.run_invoice_lines(system, doc, expected).count(fmt)

    return fuzz


FUZZERS = {
    "flat file": fuzz_flatfile,
    "XML P&A": fuzz_pna,
    "XML PO status": fuzz_po_status,
    **{f"{name} JSON listing": _listing(system, f"{name} JSON listing")
       for system, name in (("ion", "Ion"), ("crayon", "Crayon"), ("pax8", "Pax8"))},
    **{f"{name} JSON token": _tokens(system, f"{name} JSON token")
       for system, name in (("ion", "Ion"), ("crayon", "Crayon"), ("pax8", "Pax8"))},
    "Crayon invoice lines": _invoices("crayon", "Crayon invoice lines"),
    "Pax8 invoice lines": _invoices("pax8", "Pax8 invoice lines"),
}


@pytest.mark.parametrize("name", sorted(FUZZERS))
def test_fuzz(name: str) -> None:
    FUZZERS[name]()


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_corpus(case) -> None:  # type: ignore[no-untyped-def]
    run_case(case)
