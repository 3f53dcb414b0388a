"""TD SYNNEX daily flat file (per-account FTP site; served over HTTP by the sandbox) and
``category_list.txt``.

``download()`` streams ``c<customerNo>.zip`` to disk and extracts ``<customerNo>.ap``;
``iter_items()`` streams its rows (``~``-delimited, cp1252-encoded: see
:mod:`channelsync.clients.tdsynnex.flatfile_layout` for the column layout and what is assumed). The file
is decoded as cp1252 with undecodable bytes replaced, never as UTF-8: TD SYNNEX produces it on Windows
and French descriptions / trademark signs are not UTF-8.

A row is never dropped and never read by position unless it has exactly the layout's 70 cells: the
format has no quoting, so a ``~`` inside a value or a line cut short shifts or loses columns. Such a row,
and a row whose numeric cell holds something that is not a number, is yielded with ``parse_error`` set
(why, with the line number) so the quality suite quarantines it with that reason. So is a row whose
status code is neither ``A`` nor ``D``: it is never taken for a discontinued product (that would
deactivate it in the PSA). An archive that cannot be read (cut short, not a zip, a bad CRC) is
``TDS_FLATFILE_CORRUPT``, retried by Airflow: the next download may be whole.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import requests

from channelsync.clients.http import HttpTransport, RetryPolicy
from channelsync.clients.tdsynnex.codes import TDS_FLATFILE_MISSING
from channelsync.clients.tdsynnex.flatfile_layout import (
    COL,
    COLUMNS,
    DELIMITER,
    DETAIL_RECORD,
    ENCODING,
    WAREHOUSE_COLUMNS,
)
from channelsync.errors import FatalApiError, RetriableApiError, define

SYSTEM = "tdsynnex_ftp"
CHUNK = 1 << 20
TDS_FLATFILE_CORRUPT = define("TDS_FLATFILE_CORRUPT", "tdsynnex",
                              "The daily flat file archive cannot be read (cut short, not a zip or a bad CRC)")
STATUS_CODES = {"A": "Active", "D": "Discontinued"}


# What a SKU read from a row that cannot be parsed must look like to be used as its key (else the line
# number is): the cell at the SKU's position may hold a shifted value.
_SKU_GUESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,49}")
_INT64 = 2**63


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else f"{text[:40]}...")


def _decimal(value: str, name: str, problems: list[str]) -> Decimal | None:
    """The cell as a number; empty is missing. Not a number (``NaN`` included: downstream it would be
    indistinguishable from missing) is a problem. Infinite and huge values are numbers: the quality
    suite refuses them with the range of the field."""
    if not value or value.isspace():
        return None
    try:
        # surrounding whitespace allowed; "1_000" is Python's, not a number in a file
        number = None if "_" in value else Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or number.is_nan():
        problems.append(f"{name} {_shown(value.strip())} is not a number")
        return None
    return number


def _int(value: str, name: str, problems: list[str]) -> int:
    """A quantity cell: empty is 0; anything but a whole number (that fits 64 bits) is a problem."""
    if value.isdecimal() and len(value) < 19:  # the usual case (also inlined in ``_parsed``)
        return int(value)
    if not value or value.isspace():
        return 0
    number = _decimal(value, name, problems)
    if number is None:
        return 0
    if not number.is_finite() or number != number.to_integral_value() or abs(number) >= _INT64:
        problems.append(f"{name} {_shown(value.strip())} is not a whole number")
        return 0
    return int(number)


def _status(value: str, problems: list[str]) -> str:
    """``A`` active, ``D`` discontinued; anything else is a problem (never guessed: a product read as
    discontinued by mistake would be deactivated)."""
    status = STATUS_CODES.get(value.strip())
    if status is None:
        problems.append(f"status code {_shown(value.strip())} is neither A nor D")
        return ""
    return status


def _unparsed(fields: list[str], line: int) -> dict[str, Any]:
    """A row without the layout's cell count: nothing is read by position except a plausible SKU (the
    cell before any likely shift, used only as the item's key)."""
    sku = fields[COL["sku"]].strip() if len(fields) > COL["sku"] else ""
    return {
        "line": line,
        "parse_error": f"row has {len(fields)} cell{'' if len(fields) == 1 else 's'}, expected {COLUMNS} "
                       f"(line {line})",
        "synnex_sku": sku if _SKU_GUESS.fullmatch(sku) else "",
        "mpn": "", "manufacturer": "", "category_code": "", "description": "", "long_description": "",
        "description_fr": "", "status": "", "price": None, "msrp": None, "quantity": None, "warehouse_qty": {},
        "weight": None, "upc": "", "serialized": False,
    }


def _parsed(fields: list[str], line: int) -> dict[str, Any]:
    problems: list[str] = []
    item = {
        "line": line,
        "parse_error": None,
        "synnex_sku": fields[COL["sku"]],
        "mpn": fields[COL["mpn"]],
        "manufacturer": fields[COL["manufacturer"]],
        "category_code": fields[COL["category"]],
        "description": fields[COL["description"]],
        "long_description": fields[COL["long_description"]],
        "description_fr": fields[COL["description_fr"]],
        "status": _status(fields[COL["status"]], problems),
        "price": _decimal(fields[COL["price"]], "price", problems),
        "msrp": _decimal(fields[COL["msrp"]], "msrp", problems),
        "quantity": _int(fields[COL["quantity"]], "quantity", problems),
        "warehouse_qty": {w: int(v) if v.isdecimal() and len(v) < 19 else _int(v, f"warehouse {w} quantity", problems)
                          for w, v in ((w, fields[c]) for w, c in WAREHOUSE_COLUMNS.items())},
        "weight": _decimal(fields[COL["weight"]], "weight", problems),
        "upc": fields[COL["upc"]],
        "serialized": fields[COL["serialized"]] == "Y",
    }
    if problems:
        item["parse_error"] = f"{'; '.join(problems)} (line {line})"
    return item


class TdSynnexFlatFileClient:
    def __init__(
        self,
        *,
        base_url: str,
        customer_number: str,
        username: str,
        password: str,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.customer_number = customer_number
        self._auth = (username, password)
        self.transport = HttpTransport(system=SYSTEM, session=session, policy=policy, code_prefix="TDS",
                                       secrets=(password,))

    def __repr__(self) -> str:
        return f"TdSynnexFlatFileClient(base_url={self.base_url!r}, customer_number={self.customer_number!r})"

    @property
    def archive_name(self) -> str:
        return f"c{self.customer_number}.zip"

    def _get(self, name: str, **kwargs: Any) -> requests.Response:
        try:
            return self.transport.request("GET", f"{self.base_url}/{name}", auth=self._auth, **kwargs)
        except FatalApiError as exc:
            if exc.status == 404:
                raise FatalApiError(f"{name} is not on the TD SYNNEX FTP site", code=TDS_FLATFILE_MISSING,
                                    system=SYSTEM, status=404) from exc
            raise

    def ping(self) -> None:
        self._get("")

    def download(self, dest_dir: str | Path) -> Path:
        """Stream the archive to ``dest_dir`` and extract the ``.ap`` file; returns its path.
        Written under temporary names and renamed, so a failed download never leaves a half file."""
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        response = self._get(self.archive_name, stream=True)
        with tempfile.NamedTemporaryFile(dir=dest, prefix=".flat-", suffix=".zip", delete=False) as tmp:
            try:
                for chunk in response.iter_content(CHUNK):
                    tmp.write(chunk)
            except requests.exceptions.RequestException as exc:  # the transfer cut short (streamed: after
                Path(tmp.name).unlink(missing_ok=True)           # the transport returned the response)
                raise RetriableApiError(f"{self.archive_name}: the download was cut short ({type(exc).__name__})",
                                        code=TDS_FLATFILE_CORRUPT, system=SYSTEM) from None
            finally:
                response.close()
        archive_path = Path(tmp.name)
        target = dest / f"{self.customer_number}.ap"
        partial = target.with_suffix(".ap.part")
        try:
            with zipfile.ZipFile(archive_path) as archive:
                member = next((n for n in archive.namelist() if n.lower().endswith(".ap")), None)
                if member is None:
                    raise FatalApiError(f"{self.archive_name} holds no .ap file", code=TDS_FLATFILE_MISSING,
                                        system=SYSTEM)
                with archive.open(member) as source, open(partial, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                partial.replace(target)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            partial.unlink(missing_ok=True)
            raise RetriableApiError(f"{self.archive_name} cannot be read ({type(exc).__name__}: {str(exc)[:120]})",
                                    code=TDS_FLATFILE_CORRUPT, system=SYSTEM) from None
        finally:
            archive_path.unlink(missing_ok=True)
        return target

    def categories(self) -> dict[str, str]:
        """``category_list.txt`` as {code: level-1 description}."""
        text = self._get("category_list.txt").content.decode(ENCODING, errors="replace")
        out: dict[str, str] = {}
        for line in text.splitlines()[1:]:
            fields = line.split(DELIMITER)
            if len(fields) >= 2 and fields[0].strip():
                out[fields[0].strip()] = fields[1].strip()
        return out

    @staticmethod
    def iter_items(path: str | Path, categories: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Yield one dict per detail record (``DTL``), with its 1-based ``line`` and ``parse_error`` (None,
        or why the row cannot be used as read). The header line, blank lines and other record types are
        skipped; a line without exactly the layout's cell count is yielded (``parse_error`` set, fields
        empty) whatever its record type or category, never skipped. ``categories`` keeps only the
        well-formed rows whose SYNNEX CAT code is in it."""
        wanted = set(categories) if categories is not None else None
        cat_col, record_col = COL["category"], COL["record"]
        with open(path, encoding=ENCODING, errors="replace", newline="") as handle:
            for line, raw in enumerate(handle, start=1):
                text = raw.rstrip("\r\n")
                if not text.strip():
                    continue
                fields = text.split(DELIMITER)
                if len(fields) != COLUMNS:
                    yield _unparsed(fields, line)
                    continue
                if fields[record_col] != DETAIL_RECORD:
                    continue
                if wanted is not None and fields[cat_col] not in wanted:
                    continue
                yield _parsed(fields, line)
