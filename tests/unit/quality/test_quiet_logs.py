"""A validate stage's log is channelsync's summary: no Great Expectations progress bars (stderr, which
Airflow logs as ERROR), no INFO chatter from GX's loggers, no ERROR record on a suite that passes.

Run in a fresh interpreter: GX logs most of its chatter while it is imported, which an earlier test
in this process would already have done.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append({"name": record.name, "level": record.levelname, "message": record.getMessage()[:200]})

    root = logging.getLogger()
    root.setLevel(logging.DEBUG)  # as a task's logging would, minus the handler writing to the stream
    root.addHandler(Keep())

    import pandas as pd
    from channelsync.quality.suite import Expectation, Severity, Suite, validate

    suite = Suite(
        name="probe",
        expectations=(
            Expectation("rows", Severity.CRITICAL, "ExpectTableRowCountToBeBetween", {"min_value": 1}, "no rows"),
            Expectation("sku typed", Severity.CRITICAL, "ExpectColumnToExist", {"column": "sku"}, "no sku column"),
            Expectation("sku present", Severity.BLOCKING, "ExpectColumnValuesToNotBeNull", {"column": "sku"},
                        "no SKU"),
            Expectation("sku unique", Severity.BLOCKING, "ExpectColumnValuesToBeUnique", {"column": "sku"},
                        "duplicate SKU"),
            Expectation("cost", Severity.WARNING, "ExpectColumnValuesToBeBetween",
                        {"column": "cost", "min_value": 0}, "negative cost"),
        ),
        key_column="sku",
    )
    frame = pd.DataFrame({"sku": [f"S{i}" for i in range(200)], "cost": [float(i) for i in range(200)]})
    outcome = validate(frame, suite)
    print(json.dumps({"counts": outcome.counts, "records": records}))
    """
)


@pytest.fixture(scope="module")
def validate_run() -> tuple[dict[str, object], str]:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_validation_passes(validate_run: tuple[dict[str, object], str]) -> None:
    report, _ = validate_run
    assert report["counts"] == {"total": 200, "good": 200, "quarantined": 0, "warned_rows": 0}


def test_no_progress_bars_on_stderr(validate_run: tuple[dict[str, object], str]) -> None:
    _, stderr = validate_run
    assert "Calculating Metrics" not in stderr and "it/s" not in stderr, stderr[-2000:]
    assert stderr.strip() == "", stderr[-2000:]  # the task runner would log each stderr line as ERROR


def test_no_info_from_great_expectations_and_no_error_records(validate_run: tuple[dict[str, object], str]) -> None:
    report, _ = validate_run
    records = report["records"]
    assert isinstance(records, list)
    chatter = [r for r in records if r["name"].startswith("great_expectations") and r["level"] in ("DEBUG", "INFO")]
    assert chatter == [], chatter[:5]
    errors = [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    assert errors == [], errors[:5]
