"""The hand-made corpus (``corpus/``): one file per case, what must become of it in ``corpus/expected.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.fuzz import harness

CORPUS_DIR = Path(__file__).parent / "corpus"
FORMATS = {"flatfile": "flat file", "flatfile-archive": "flat file", "pna": "XML P&A", "po-status": "XML PO status",
           "token": "JSON token", "listing": "JSON listing", "invoice": "invoice lines",
           "invoice-answer": "invoice lines"}


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    spec: dict[str, Any]

    @property
    def format(self) -> str:
        label = FORMATS[self.spec["format"]]
        system = self.spec.get("system")
        return f"{ {'ion': 'Ion', 'crayon': 'Crayon', 'pax8': 'Pax8'}[system]} {label}" if system else label


def _load() -> list[Case]:
    expected = json.loads((CORPUS_DIR / "expected.json").read_text(encoding="utf-8"))
    return [Case(name, CORPUS_DIR / name, spec) for name, spec in sorted(expected.items())]


CORPUS = _load()


def run_case(case: Case) -> harness.Result:
    data, spec = case.path.read_bytes(), case.spec
    kind = spec["format"]
    if kind in ("flatfile", "flatfile-archive"):
        result = _flatfile_passing(data, set(spec.get("passed", [])), archive=kind == "flatfile-archive")
        if spec.get("refused"):
            assert result.refused is not None, f"{case.name}: expected a refusal"
        else:
            assert result.refused is None, f"{case.name}: refused: {result.refused}"
    elif kind == "pna":
        want = None if spec.get("refused") else {k: Decimal(v) for k, v in spec["passed"].items()}
        result = harness.run_pna(data, spec["skus"], want or {})
        if want is None:
            assert result.refused is not None, f"{case.name}: expected a refusal, got {result.outcomes}"
    elif kind == "po-status":
        want = spec["expected"]
        if want is not None:
            want = {"code": want["code"], "items": [(a, b, c, d, Decimal(e)) for a, b, c, d, e in want["items"]]}
        result = harness.run_po_status(data, want)
    elif kind == "token":
        result = harness.run_token(spec["system"], data, spec["token"])
    elif kind == "listing":
        result = harness.run_json_listing(spec["system"], [data], spec["records"])
    elif kind == "invoice":
        passed = spec["passed"]
        result = harness.run_invoice_lines(spec["system"], data, None if passed is None else set(passed))
    elif kind == "invoice-answer":
        result = harness.run_crayon_file_answer(data)
    else:
        raise AssertionError(kind)
    result.count(case.format)
    return result


def _flatfile_passing(data: bytes, passing: set[str], *, archive: bool) -> harness.Result:
    """Run a flat-file case whose rows in ``passing`` must pass with the values the file holds for them."""
    import io
    import zipfile

    from channelsync.clients.tdsynnex.flatfile_layout import COL, COLUMNS, DELIMITER

    text = data
    if archive and passing:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            text = bundle.read(bundle.namelist()[0])
    values: dict[str, dict[str, Any]] = {}
    for line in text.decode("cp1252", errors="replace").splitlines():
        cells = line.split(DELIMITER)
        if len(cells) == COLUMNS and cells[COL["sku"]].strip() in passing:
            values[cells[COL["sku"]].strip()] = {"mpn": cells[COL["mpn"]], "category": cells[COL["category"]],
                                                 "price": cells[COL["price"]], "msrp": cells[COL["msrp"]],
                                                 "status": cells[COL["status"]]}
    return harness.run_flatfile(data, values, archive=archive)
