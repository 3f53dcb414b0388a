"""TD SYNNEX daily flat file (per-account FTP site; served over HTTP by the sandbox) and
``category_list.txt``.

``download()`` streams ``c<customerNo>.zip`` to disk and extracts ``<customerNo>.ap``;
``iter_items()`` streams its rows (``~``-delimited, cp1252-encoded: see
``channelsync.sandbox.tdsynnex.flatfile`` for the column layout and what is assumed). The file is
decoded as cp1252 with undecodable bytes replaced, never as UTF-8: TD SYNNEX produces it on Windows
and French descriptions / trademark signs are not UTF-8.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import requests

from channelsync.clients.http import HttpTransport, RetryPolicy
from channelsync.clients.tdsynnex.codes import TDS_FLATFILE_MISSING
from channelsync.errors import FatalApiError
from channelsync.sandbox.tdsynnex.flatfile import COL, DELIMITER, ENCODING, WAREHOUSE_COLUMNS

SYSTEM = "tdsynnex_ftp"
CHUNK = 1 << 20


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0


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
            finally:
                response.close()
        archive_path = Path(tmp.name)
        target = dest / f"{self.customer_number}.ap"
        try:
            with zipfile.ZipFile(archive_path) as archive:
                member = next((n for n in archive.namelist() if n.lower().endswith(".ap")), None)
                if member is None:
                    raise FatalApiError(f"{self.archive_name} holds no .ap file", code=TDS_FLATFILE_MISSING,
                                        system=SYSTEM)
                partial = target.with_suffix(".ap.part")
                with archive.open(member) as source, open(partial, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                partial.replace(target)
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
        """Yield one dict per detail record (``DTL``); header and short lines are skipped.
        ``categories`` keeps only rows whose SYNNEX CAT code is in it."""
        wanted = set(categories) if categories is not None else None
        cat_col, width = COL["category"], max(COL.values()) + 1
        with open(path, encoding=ENCODING, errors="replace", newline="") as handle:
            for line in handle:
                fields = line.rstrip("\r\n").split(DELIMITER)
                if len(fields) < width or fields[1] != "DTL":
                    continue
                if wanted is not None and fields[cat_col] not in wanted:
                    continue
                yield {
                    "synnex_sku": fields[COL["sku"]],
                    "mpn": fields[COL["mpn"]],
                    "manufacturer": fields[COL["manufacturer"]],
                    "category_code": fields[cat_col],
                    "description": fields[COL["description"]],
                    "long_description": fields[COL["long_description"]],
                    "description_fr": fields[COL["description_fr"]],
                    "status": "Active" if fields[COL["status"]] == "A" else "Discontinued",
                    "price": _decimal(fields[COL["price"]]),
                    "msrp": _decimal(fields[COL["msrp"]]),
                    "quantity": _int(fields[COL["quantity"]]),
                    "warehouse_qty": {w: _int(fields[c]) for w, c in WAREHOUSE_COLUMNS.items()},
                    "weight": _decimal(fields[COL["weight"]]),
                    "upc": fields[COL["upc"]],
                    "serialized": fields[COL["serialized"]] == "Y",
                }
