"""DAG parse time: the dags/ file with the demo configuration, and with 50 integrations configured.

Run: .venv/bin/python benchmarks/bench_dag_parse.py   (prints figures; asserts nothing)
Measures what Airflow's DAG processor spends on the file: DagBag processing of dags/ after Airflow
itself is imported (median of 5 runs, each in the same warm interpreter).
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "integrations.yaml"


def _config_with(n: int) -> Path:
    demo = yaml.safe_load(DEMO.read_text())["integrations"]
    integrations = []
    for i in range(n):
        item = copy.deepcopy(demo[i % len(demo)])
        item["name"] = f"msp-{i:03d}"
        integrations.append(item)
    path = Path(tempfile.mkdtemp()) / "integrations.yaml"
    path.write_text(yaml.safe_dump({"integrations": integrations}))
    return path


def _parse(config: Path) -> tuple[float, int]:
    from airflow.dag_processing.dagbag import DagBag

    os.environ["CHANNELSYNC_CONFIG"] = str(config)
    for name in [m for m in sys.modules if m.startswith("channelsync")]:
        del sys.modules[name]  # re-import as a fresh DAG processor would
    started = time.perf_counter()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    elapsed = time.perf_counter() - started
    assert not bag.import_errors, bag.import_errors
    return elapsed, len(bag.dags)


def main() -> None:
    import airflow.sdk  # noqa: F401  (Airflow's own import is not the DAG file's cost)

    files = len(list((ROOT / "dags").glob("*.py")))
    for label, config in (("demo (2 integrations)", DEMO), ("50 integrations", _config_with(50))):
        _parse(config)  # warm-up
        timings = []
        for _ in range(5):
            elapsed, dags = _parse(config)
            timings.append(elapsed)
        median = statistics.median(timings)
        print(f"{label:<24} {dags:>4} DAGs from {files} file(s): folder {median:.3f} s, "
              f"per DAG file {median / files:.3f} s, per DAG {median / dags * 1000:.1f} ms (median of 5)")


if __name__ == "__main__":
    main()
