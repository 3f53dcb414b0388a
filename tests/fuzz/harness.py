"""Bad and hostile input (R3), one harness per source format, shared by the fuzz tests and
``benchmarks/fuzz_report.py``.

Each ``run_*`` function feeds one input through the real parsing path (the client, over a canned HTTP
session where the format arrives over HTTP, then the adapter and quality suite where there is one) and
classifies every record of it:

- ``quarantined``: held back with an item-level reason (the quality suite's, or ``check_invoice_*``'s);
- ``refused``: the whole input refused with a typed channelsync error (:class:`ChannelsyncError` with a
  code), counted once per input;
- ``passed``: handed on as a good record.

and checks the invariants: nothing but a ChannelsyncError escapes (an unhandled exception fails the
test), every reason is non-empty, and every record that passes is one the generator meant to be good,
with the values it wrote (a malformed record passed through fails the test). ``TALLY`` counts outcomes
per format for the report.
"""

from __future__ import annotations

import base64
import io
import json
import math
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from channelsync.errors import ChannelsyncError

TALLY: Counter[tuple[str, str]] = Counter()
INPUTS: Counter[str] = Counter()


@dataclass
class Result:
    """What became of one input: per record key its outcome and reason; ``refused``: the error."""

    outcomes: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    refused: ChannelsyncError | None = None
    passed_values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count(self, fmt: str) -> None:
        INPUTS[fmt] += 1
        if self.refused is not None:
            TALLY[(fmt, "refused")] += 1
        for outcome in self.outcomes.values():
            TALLY[(fmt, outcome)] += 1


def refused(result: Result, exc: ChannelsyncError) -> Result:
    assert exc.code and exc.code != "CHANNELSYNC_ERROR", f"an untyped refusal: {exc!r}"
    assert str(exc).strip(), "a refusal without a message"
    result.refused = exc
    return result


class Canned(requests.Session):
    """A session that answers every request with the next canned body (the last one again when they
    run out: a server repeating its last page), status 200 unless given as ``(status, body)``."""

    def __init__(self, bodies: Iterable[bytes | tuple[int, bytes]]) -> None:
        super().__init__()
        self.bodies = list(bodies)
        self.sent: list[tuple[str, str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        method, url = str(method), str(url)
        self.sent.append((method, url, kwargs.get("data") or kwargs.get("json")))
        body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        status, content = body if isinstance(body, tuple) else (200, body)
        response = requests.Response()
        response.status_code, response._content, response.url = status, content, url
        response._content_consumed, response.raw = True, io.BytesIO(content)
        response.headers["Content-Type"] = "application/json"
        response.request = requests.Request(method, url).prepare()
        return response


def guarded(result: Result, call: Callable[[], Result]) -> Result:
    """Run one input: a typed refusal is an outcome; anything else escaping is a defect (re-raised)."""
    try:
        return call()
    except ChannelsyncError as exc:
        return refused(result, exc)


# --- TD SYNNEX flat file → catalog_frame → catalog suite -----------------------------------------------

def catalog_options() -> Any:
    from channelsync.quality.catalog import CatalogSuiteOptions

    return CatalogSuiteOptions.create(currencies=["USD"], mapped_categories=["NBK", "MON"], name_max=100,
                                      description_max=2000)


class _LocalFile:
    """The flat-file client's reading, with the download replaced by a file on disk (or, for an archive,
    the real download over a canned session)."""

    def __init__(self, path: Path | None, archive: bytes | None = None) -> None:
        from channelsync.clients.tdsynnex.flatfile import TdSynnexFlatFileClient

        self.path = path
        self.client = TdSynnexFlatFileClient(base_url="http://ftp.invalid", customer_number="700001",
                                             username="u", password="ftp-fuzz-secret",
                                             session=Canned([archive or b""]))
        self.iter_items = self.client.iter_items

    def download(self, staging: Path) -> Path:
        return self.path if self.path is not None else self.client.download(staging)


def run_flatfile(content: bytes, expected_pass: dict[str, dict[str, Any]], *, archive: bool = False) -> Result:
    """``content``: a whole ``.ap`` file (``archive``: the ``c700001.zip`` the site serves); read as
    catalog_sync's extract reads it (categories NBK and MON selected), then the catalog suite.
    ``expected_pass``: {SKU: values} of the rows meant to pass."""
    from channelsync.adapters.tdsynnex_catalog import extract_flat_file
    from channelsync.quality.catalog import catalog_suite
    from channelsync.quality.suite import validate

    result = Result()

    def call() -> Result:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "700001.ap"
            if not archive:
                path.write_bytes(content)
            source = _LocalFile(None if archive else path, content if archive else None)
            frame = extract_flat_file(source, Path(folder) / "staging", categories=["NBK", "MON"], currency="USD",
                                      price_flagged=[])
        if frame.empty:
            return result
        outcome = validate(frame, catalog_suite(catalog_options()))
        for row in outcome.quarantine_items().itertuples():
            result.outcomes[str(row.source_key)] = "quarantined"
            result.reasons[str(row.source_key)] = str(row.reason)
        for row in outcome.good.to_dict("records"):
            key = str(row["source_key"])
            assert key not in result.outcomes, f"{key} both quarantined and passed"
            result.outcomes[key] = "passed"
            result.passed_values[key] = row
        return result

    guarded(result, call)
    check_flatfile(result, expected_pass, archive=archive)
    return result


def check_flatfile(result: Result, expected_pass: dict[str, dict[str, Any]], *, archive: bool = False) -> None:
    if result.refused is not None:
        assert archive and not expected_pass, f"a flat file is refused only as an unreadable archive: {result.refused}"
        return
    for key, reason in result.reasons.items():
        assert reason.strip(), f"{key} quarantined without a reason"
    for key, row in result.passed_values.items():
        sku = str(row["sku"])
        assert sku in expected_pass, f"a malformed row passed: {key} {row}"
        want = expected_pass[sku]
        for column, name in (("mpn", "mpn"), ("category_code", "category")):
            assert str(row[column]) == str(want[name]).strip(), (key, column, row[column], want[name])
        for name, column in (("price", "cost"), ("msrp", "msrp")):
            assert math.isclose(float(row[column]), float(want[name])), (key, column, row[column], want[name])
        assert row["status"] == {"A": "Active", "D": "Discontinued"}[str(want.get("status", "A")).strip()], (key, row)
    missing = {f"tdsynnex:{sku}" for sku in expected_pass} - set(result.passed_values)
    assert not missing, f"good rows did not pass: {sorted(missing)[:5]} {[result.reasons.get(k) for k in missing]}"


# --- TD SYNNEX XML: P&A → pna_frame → P&A suite; PO status -----------------------------------------------

def xml_client(bodies: Iterable[bytes]) -> Any:
    from channelsync.clients.http import RetryPolicy
    from channelsync.clients.tdsynnex.xml import TdSynnexXmlClient

    return TdSynnexXmlClient(base_url="http://tds.invalid", customer_number="700001", username="u",
                             password="xml-fuzz-secret", session=Canned(bodies),
                             policy=RetryPolicy(max_attempts=1))


def run_pna(content: bytes, skus: list[str], expected_pass: dict[str, Decimal]) -> Result:
    """``expected_pass``: {SKU: cost} of the lines meant to pass."""
    from channelsync.quality.price_availability import pna_suite
    from channelsync.quality.suite import validate
    from channelsync.templates.price_availability.steps import PnaIncomplete, pna_frame

    result = Result()

    def call() -> Result:
        results = xml_client([content]).price_availability(skus=skus)
        answered = {r.requested for r in results}
        if [s for s in skus if s not in answered]:  # what the template's extract does
            raise PnaIncomplete("P&A did not answer every SKU")
        frame = pna_frame(results, currency="USD")
        if frame.empty:
            return result
        outcome = validate(frame, pna_suite(["USD"]))
        for row in outcome.quarantine_items().itertuples():
            result.outcomes[str(row.source_key)] = "quarantined"
            result.reasons[str(row.source_key)] = str(row.reason)
        for row in outcome.good.to_dict("records"):
            result.outcomes[str(row["source_key"])] = "passed"
            result.passed_values[str(row["source_key"])] = row
        return result

    guarded(result, call)
    for key, row in result.passed_values.items():
        sku = str(row["sku"])
        assert sku in expected_pass, f"a malformed P&A line passed: {key} {row}"
        cost = row["cost"]
        assert not pd.isna(cost) and math.isclose(float(cost), float(expected_pass[sku])), (key, cost)
    if result.refused is None:
        missing = {f"tdsynnex:{s}" for s in expected_pass} - set(result.passed_values)
        assert not missing, f"good P&A lines did not pass: {missing} {result.reasons}"
    return result


def run_po_status(content: bytes, expected: dict[str, Any] | None) -> Result:
    """``expected``: the PO status's values when the answer is meant to be read, None when it must be
    refused."""
    result = Result()

    def call() -> Result:
        status = xml_client([content]).po_status("PO-1")
        result.outcomes["PO-1"] = "passed"
        result.passed_values["PO-1"] = {"code": status.code, "items": [
            (i.line_number, i.sku, i.order_quantity, i.ship_quantity, i.unit_price) for i in status.items]}
        return result

    guarded(result, call)
    if expected is None:
        assert result.refused is not None, f"a malformed PO status was read: {result.passed_values}"
    elif result.refused is None:
        assert result.passed_values["PO-1"] == expected, (result.passed_values, expected)
    else:
        raise AssertionError(f"a good PO status was refused: {result.refused}")
    return result


# --- JSON: Ion, Crayon, Pax8 -------------------------------------------------------------------------

def ion_client(bodies: Iterable[bytes]) -> Any:
    from channelsync.clients.http import RetryPolicy
    from channelsync.clients.tdsynnex.ion import TdSynnexIonClient
    from channelsync.clients.tdsynnex.tokens import InMemoryTokenStore

    return TdSynnexIonClient(base_url="http://ion.invalid", account_id="100001",
                             token_store=InMemoryTokenStore("ion-fuzz-refresh"), session=Canned(bodies),
                             policy=RetryPolicy(max_attempts=1))


def crayon_client(bodies: Iterable[bytes]) -> Any:
    from channelsync.clients.crayon import CrayonClient
    from channelsync.clients.http import RetryPolicy

    return CrayonClient(base_url="http://crayon.invalid", client_id="c", client_secret="crayon-fuzz-secret",
                        username="u", password="crayon-fuzz-pass", session=Canned(bodies),
                        policy=RetryPolicy(max_attempts=1), page_size=2)


def pax8_client(bodies: Iterable[bytes]) -> Any:
    from channelsync.clients.http import RetryPolicy
    from channelsync.clients.pax8 import Pax8Client

    return Pax8Client(base_url="http://pax8.invalid", client_id="c", client_secret="pax8-fuzz-secret",
                      session=Canned(bodies), policy=RetryPolicy(max_attempts=1), page_size=2)


TOKEN_ANSWERS = {
    "ion": b'{"access_token": "ionat-1", "refresh_token": "ionrt-2", "expires_in": 7200, "token_type": "Bearer"}',
    "crayon": b'{"AccessToken": "crayon-at-1", "ExpiresIn": 3600, "TokenType": "Bearer"}',
    "pax8": b'{"access_token": "pax8-at-1", "expires_in": 86400, "token_type": "Bearer"}',
}


def run_json_listing(system: str, pages: list[bytes], expected: list[dict[str, Any]] | None) -> Result:
    """A paged listing of ``system`` (``ion`` products, ``crayon`` customer tenants, ``pax8``
    companies) answered with ``pages`` after a good token: the records as read, or a refusal.
    ``expected``: the records meant to come out, None when the answer must be refused."""
    result = Result()

    def call() -> Result:
        bodies = [TOKEN_ANSWERS[system], *pages]
        if system == "ion":
            records = list(ion_client(bodies).iter_products(page_size=2))
        elif system == "crayon":
            records = list(crayon_client(bodies).iter_customer_tenants())
        else:
            records = list(pax8_client(bodies).iter_companies())
        for at, record in enumerate(records):
            assert isinstance(record, dict), f"a record that is not an object passed: {record!r}"
            result.outcomes[f"#{at}"] = "passed"
            result.passed_values[f"#{at}"] = record
        return result

    guarded(result, call)
    _check_records(result, expected)
    return result


def run_token(system: str, answer: bytes, expected_token: str | None) -> Result:
    """A token answer (Ion's refresh, Crayon's / Pax8's bearer token): the token kept, or a refusal."""
    result = Result()

    def call() -> Result:
        if system == "ion":
            client = ion_client([answer])
            client.refresh()
            token, kept = client._access, client.token_store.get()
            assert kept != "ion-fuzz-refresh", "the rotated refresh token was not kept"
        elif system == "crayon":
            token, _ = crayon_client([answer])._fetch_token()
        else:
            token, _ = pax8_client([answer])._fetch_token()
        result.outcomes["token"] = "passed"
        result.passed_values["token"] = {"token": token}
        return result

    guarded(result, call)
    if expected_token is None:
        assert result.refused is not None, f"a malformed token answer was used: {result.passed_values}"
    else:
        assert result.refused is None, f"a good token answer was refused: {result.refused}"
        assert result.passed_values["token"]["token"] == expected_token
    return result


def _check_records(result: Result, expected: list[dict[str, Any]] | None) -> None:
    if expected is None:
        assert result.refused is not None, f"a malformed answer was read: {list(result.passed_values.values())[:3]}"
        return
    assert result.refused is None, f"a good answer was refused: {result.refused}"
    assert list(result.passed_values.values()) == expected


def run_invoice_lines(system: str, lines_doc: bytes, expected_pass: set[str] | None) -> Result:
    """Invoice lines: Crayon's billing records file (``lines_doc``: the JSON, served base64 in the
    ``billingrecordsfile`` answer) or a Pax8 invoice's items page (``lines_doc``: the items' JSON list);
    each line checked by ``check_invoice_*``. ``expected_pass``: ids of the lines meant to pass; None: the
    document must be refused whole."""
    from channelsync.clients.crayon import check_invoice_lines
    from channelsync.clients.pax8 import check_invoice_items

    result = Result()

    def call() -> Result:
        if system == "crayon":
            answer = json.dumps({"fileName": "BillingRecords_1.json",
                                 "data": base64.b64encode(lines_doc).decode()}).encode()
            lines = crayon_client([TOKEN_ANSWERS["crayon"], answer]).get_invoice_lines(1)
            checked = check_invoice_lines(lines)
        else:
            page = b'{"page": {"size": 200, "totalElements": 1, "totalPages": 1, "number": 0}, "content": ' + \
                lines_doc + b"}"
            items = list(pax8_client([TOKEN_ANSWERS["pax8"], page]).iter_invoice_items("inv-1"))
            checked = check_invoice_items(items)
        for bad in checked.quarantined:
            key = f"{bad.key}@{bad.index}"
            result.outcomes[key] = "quarantined"
            result.reasons[key] = bad.reason
            assert bad.reason.strip()
        for at, line in enumerate(checked.good):
            key = f"{line['id']}"
            result.outcomes[f"{key}@good{at}"] = "passed"
            result.passed_values[key] = line
        return result

    guarded(result, call)
    if expected_pass is None:
        assert result.refused is not None, "a malformed invoice document was read"
        return result
    assert result.refused is None, f"a readable invoice document was refused: {result.refused}"
    assert set(result.passed_values) == expected_pass, (sorted(result.passed_values), sorted(expected_pass),
                                                        result.reasons)
    return result


def run_crayon_file_answer(answer: bytes) -> Result:
    """A ``billingrecordsfile`` answer as Crayon sends it (``{fileName, data}``): must be refused when its
    ``data`` is not base64 of a JSON list of objects."""
    result = Result()

    def call() -> Result:
        lines = crayon_client([TOKEN_ANSWERS["crayon"], answer]).get_invoice_lines(1)
        for at, _line in enumerate(lines):
            result.outcomes[f"#{at}"] = "passed"
        return result

    guarded(result, call)
    assert result.refused is not None, "a malformed billing records file was read"
    return result
