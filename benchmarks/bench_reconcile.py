"""Benchmark: reconcile 1,000,000 distributor rows against 100,000 PSA products.

Data (deterministic, seed 7): 1M catalog items over 40 categories and 3 currencies; 100k of them
already linked through the cross-reference, 1 % of those with a changed cost, 0.2 % discontinued,
0.5 % hand-edited in the PSA (conflicts); everything else is new. Plus 2,000 hand-made PSA products
matching catalog items by vendor SKU or MPN (they get linked, not duplicated).

How it measures: the data is generated and written to Parquet first; a FRESH subprocess then reads the
Parquet files and runs ``build_catalog_plan``. Wall time is the reconcile call alone
(``time.perf_counter``); memory is the subprocess's peak RSS from ``resource.getrusage(RUSAGE_SELF)
.ru_maxrss`` (whole process: interpreter + pandas + inputs + plan; tracemalloc would miss Arrow's
allocations). CPU time (``time.process_time``) is printed too: on a shared machine it is the
load-independent figure. The RSS after loading the inputs is printed too, so the reconcile's own share is visible.

Run: ``.venv/bin/python benchmarks/bench_reconcile.py [--rows 1000000 --psa 100000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from channelsync.canonical import CATALOG_ITEM, PSA_PRODUCT, XREF, conform

CATEGORIES = [f"C{number:02d}" for number in range(40)]


def generate(rows: int, psa_rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from channelsync.reconcile.desired import desired_products
    from channelsync.reconcile.fingerprint import fingerprint_frame

    rng = np.random.default_rng(seed)
    numbers = np.arange(rows)
    sku = pd.Series(numbers.astype(str), dtype="string").radd("SKU")
    cost = np.round(rng.uniform(1, 3000, rows), 2)
    currency = np.array(["USD", "EUR", "GBP"])[rng.choice(3, rows, p=[0.8, 0.15, 0.05])]
    catalog = pd.DataFrame(
        {
            "source_key": sku.radd("tdsynnex:"),
            "distributor": "tdsynnex",
            "sku": sku,
            "mpn": pd.Series(numbers.astype(str), dtype="string").radd("MPN-"),
            "manufacturer": np.array(["HP Inc.", "Lenovo", "Dell", "Cisco", "Microsoft"])[numbers % 5],
            "description": pd.Series(numbers.astype(str), dtype="string").radd("Notebook 14in model "),
            "long_description": pd.Series(numbers.astype(str), dtype="string").radd("A long description for "),
            "category_code": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)],
            "cost": cost,
            "msrp": np.round(cost * 1.3, 2),
            "currency": currency,
            "quantity_available": rng.integers(0, 500, rows),
            "weight": 1.5,
            "upc": None,
            "status": "Active",
            "kind": "hardware",
            "price_flagged": False,
            "parse_error": None,
        }
    )
    catalog = conform(catalog, CATALOG_ITEM, name="catalog")
    options = bench_options()
    linked = min(psa_rows - 2_000, rows)
    # The PSA holds what the last sync wrote for the first ``linked`` items...
    written = desired_products(catalog.iloc[:linked], options)
    psa = written.drop(columns=["source_key", "category_code"]).assign(
        psa_id=pd.Series(np.arange(1, linked + 1).astype(str), dtype="string")
    )
    xref = pd.DataFrame(
        {
            "source_key": written["source_key"],
            "psa_id": psa["psa_id"],
            "fingerprint": fingerprint_frame(psa, options.fields),
        }
    )
    # ... then the world moved on: 1 % of costs changed at the distributor, 0.2 % discontinued,
    # 0.5 % of PSA products edited by a person.
    changed = rng.choice(linked, linked // 100, replace=False)
    catalog.loc[changed, "cost"] = catalog.loc[changed, "cost"] + 1
    catalog.loc[rng.choice(linked, linked // 500, replace=False), "status"] = "Discontinued"
    edited = rng.choice(linked, linked // 200, replace=False)
    psa.loc[edited, "name"] = psa.loc[edited, "name"] + " (edited)"
    # 2,000 hand-made products for catalog items beyond the linked ones: half by vendor SKU, half by MPN.
    hand = np.arange(linked, min(linked + 2_000, rows))
    hand_made = desired_products(catalog.iloc[hand], options).drop(columns=["source_key", "category_code"])
    hand_made["psa_id"] = pd.Series((1_000_000 + hand).astype(str), dtype="string").to_numpy()
    hand_made.loc[hand_made.index[::2], "vendor_sku"] = pd.NA
    hand_made["unit_price"] = hand_made["unit_price"] + 5
    psa = pd.concat([psa, hand_made], ignore_index=True)
    return catalog, conform(psa, PSA_PRODUCT, name="psa"), conform(xref, XREF, name="xref")


def bench_options():  # type: ignore[no-untyped-def]
    from channelsync.reconcile.catalog import CatalogOptions
    from channelsync.reconcile.pricing import MarkupRule, MarkupRules

    return CatalogOptions(
        key_prefix="bench",
        category_map={code: f"Category {code}" for code in CATEGORIES},
        currency_rates={"EUR": 1.08, "GBP": 1.27},
        markup=MarkupRules(default=MarkupRule(percent=15.0), by_category={"C01": MarkupRule(percent=-5, basis="msrp")}),
    )


def measure(directory: Path) -> dict[str, float | int | dict[str, int]]:
    """Runs in the fresh subprocess."""
    import os
    import resource
    import time

    from channelsync.reconcile.arrow import use_system_memory_pool
    from channelsync.reconcile.catalog import build_catalog_plan

    use_system_memory_pool()  # as the catalog_sync template does before it plans
    catalog = pd.read_parquet(directory / "catalog.parquet")
    psa = pd.read_parquet(directory / "psa.parquet")
    xref = pd.read_parquet(directory / "xref.parquet")
    catalog = conform(catalog, CATALOG_ITEM, name="catalog")
    options = bench_options()
    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    plan = build_catalog_plan(catalog, psa, xref, options)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "catalog_rows": len(catalog),
        "psa_rows": len(psa),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "load_average": os.getloadavg()[0],
        "rss_after_load_mb": round(loaded_rss / 1024),
        "peak_rss_mb": round(peak_rss / 1024),
        "counts": plan.counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--psa", type=int, default=100_000)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(arguments.measure)))
        return
    with tempfile.TemporaryDirectory() as directory:
        catalog, psa, xref = generate(arguments.rows, arguments.psa)
        for name, frame in (("catalog", catalog), ("psa", psa), ("xref", xref)):
            frame.to_parquet(Path(directory) / f"{name}.parquet")
        del catalog, psa, xref
        output = subprocess.run(
            [sys.executable, __file__, "--measure", directory], check=True, capture_output=True, text=True
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    print(f"reconcile {result['catalog_rows']:,} catalog rows vs {result['psa_rows']:,} PSA products")
    print(f"  wall time          {result['seconds']:.2f} s   (budget 3 s)")
    print(
        f"  CPU time           {result['cpu_seconds']:.2f} s   (machine load average "
        f"{result['load_average']:.1f} on {os.cpu_count()} cores: other work inflates wall time)"
    )
    print(
        f"  peak RSS (process) {result['peak_rss_mb']:,} MB  (budget 1,536 MB; "
        f"{result['rss_after_load_mb']:,} MB after loading the inputs)"
    )
    print(f"  plan counts        {result['counts']}")


if __name__ == "__main__":
    main()
