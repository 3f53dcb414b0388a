"""What the category-mapping and service-override pages show: every key of the integrations file and of
the state store with what the overlay makes of it (``channelsync.effective_maps``), and what the latest
run of the template saw — the products per category code in catalog_sync's staged extract, the SKUs of
subscription_billing's staged invoice lines its price lists did not know (retired: billed only through an
override). Reads only; the writes go through ``state/option_maps.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channelsync.effective_maps import OverlaidKey, explain
from channelsync.state.models import SyncRun
from channelsync.state.option_maps import CATEGORIES, Entry, MapKind

EXTRACT_FILE = "extract.parquet"  # what the extract stage stages (runs/runner.py), next to plan_diff.csv


@dataclass
class Seen:
    """A key in the latest run: how many products (categories) or invoice lines (SKUs), and for a SKU its
    product name, customers and retail total."""

    count: int = 0
    name: str | None = None
    customers: int = 0
    total: float = 0.0
    unknown: bool = False  # a SKU the run's price lists did not know (its lines were quarantined)


@dataclass
class MapRow:
    key: str
    overlaid: OverlaidKey | None  # None: only seen in the latest run, in neither the file nor the store
    seen: Seen | None

    @property
    def effective(self) -> str | None:
        return self.overlaid.effective if self.overlaid else None

    @property
    def entry(self) -> Entry | None:
        return self.overlaid.entry if self.overlaid else None

    @property
    def source(self) -> str:
        return self.overlaid.source if self.overlaid else "not mapped"

    @property
    def needs_mapping(self) -> bool:
        """A SKU the latest run could not bill and nothing maps yet."""
        return self.effective is None and self.seen is not None and self.seen.unknown and self.entry is None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "effective": self.effective, "source": self.source,
                "file": self.overlaid.file_value if self.overlaid else None,
                "entry": self.entry.as_dict() if self.entry else None,
                "latest_run": None if self.seen is None else {
                    "count": self.seen.count, "name": self.seen.name, "customers": self.seen.customers,
                    "total": self.seen.total, "unknown": self.seen.unknown}}


def latest_run(session: Session, integration: str, template: str) -> SyncRun | None:
    """The newest run of the template (a preview too: it read the same source)."""
    return session.scalars(select(SyncRun).where(SyncRun.integration == integration, SyncRun.template == template)
                           .order_by(SyncRun.id.desc()).limit(1)).first()


def staged_extract(plan_path: str | None, columns: list[str]) -> Any:
    """Those columns of the run's staged extract (a DataFrame; the ones it has), or None when no longer kept."""
    if not plan_path:
        return None
    try:
        import pyarrow.parquet as pq

        from channelsync.runs.staging import as_path, readable

        path = as_path(plan_path).parent / EXTRACT_FILE
        if not path.exists():
            return None
        with readable(path) as source:
            table = pq.ParquetFile(source)
            present = [c for c in columns if c in table.schema_arrow.names]
            return table.read(columns=present).to_pandas() if present else None
    except Exception:  # retention removed it, or the store cannot be read from here: the page goes on
        return None


def seen_keys(kind: MapKind, plan_path: str | None) -> dict[str, Seen]:
    """Per key, what the latest run's staged extract holds of it."""
    if kind is CATEGORIES:
        frame = staged_extract(plan_path, ["category_code"])
        if frame is None or "category_code" not in frame:
            return {}
        codes = frame["category_code"].astype("string").str.strip().dropna()
        return {str(code): Seen(count=int(n)) for code, n in codes[codes != ""].value_counts().items()}
    frame = staged_extract(plan_path, ["sku", "product_name", "customer_id", "price_total", "known_product"])
    if frame is None or "sku" not in frame:
        return {}
    import pandas as pd

    found: dict[str, Seen] = {}
    for sku, lines in frame.dropna(subset=["sku"]).groupby(frame["sku"].astype(str).str.strip(), sort=True):
        names = lines["product_name"].dropna().astype(str) if "product_name" in lines else pd.Series(dtype=str)
        known = lines["known_product"].astype("boolean").fillna(False) if "known_product" in lines else None
        totals = pd.to_numeric(lines["price_total"], errors="coerce") if "price_total" in lines else None
        found[str(sku)] = Seen(count=len(lines), name=names.iloc[0] if len(names) else None,
                               customers=int(lines["customer_id"].nunique()) if "customer_id" in lines else 0,
                               total=round(float(totals.fillna(0).sum()), 2) if totals is not None else 0.0,
                               unknown=bool(known is not None and not known.all()))
    return found


def map_rows(kind: MapKind, file_map: dict[str, str], entries: list[Entry], seen: dict[str, Seen]) -> list[MapRow]:
    """Every key of the file and the store, and — categories: the codes the latest run extracted; SKUs:
    the ones it could not bill — SKUs to map first, then by key."""
    overlaid = {row.key: row for row in explain(file_map, entries)}
    shown = set(overlaid) | {key for key, s in seen.items() if kind is CATEGORIES or s.unknown}
    rows = [MapRow(key=key, overlaid=overlaid.get(key), seen=seen.get(key)) for key in shown]
    return sorted(rows, key=lambda r: (not r.needs_mapping, r.key.casefold(), r.key))
