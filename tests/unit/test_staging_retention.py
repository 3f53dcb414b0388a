"""Staged files of old runs are removed by the maintenance task, on any fsspec root."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from channelsync.runs import staging


@pytest.mark.parametrize("root", ["file", "memory"])
def test_retention_removes_run_folders_past_their_age(root: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url = f"file://{tmp_path}/staging" if root == "file" else f"memory://retention-{time.time_ns()}"
    monkeypatch.setenv(staging.STAGING_URL_ENV, url)
    for run in ("old", "new"):
        staging.write_frame(staging.run_folder("acme", "catalog_sync", run) / "plan.parquet", pd.DataFrame({"a": [1]}))
    assert staging.remove_older_than(1.0, now=time.time() + 0.5 * 86_400) == {"removed": 0, "kept": 2, "root": url}
    # Two days later both are past a one-day retention.
    assert staging.remove_older_than(1.0, now=time.time() + 2 * 86_400)["removed"] == 2
    assert list((staging.root() / "acme" / "catalog_sync").iterdir()) == []
