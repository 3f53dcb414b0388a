"""Shared machinery: expectations declared in code with a severity, run by Great Expectations.

Severities:
- ``critical``: about the dataset as a whole (not empty, required columns present and typed). Any
  failure raises :class:`SuiteFailed` before row checks run, so the run stops before anything is written.
- ``blocking``: the failing rows are quarantined (with every blocking expectation they failed).
- ``warning``: the rows are kept; the run is marked Warning; an optional ``fix`` cleans them.

The failing rows are found by GX itself (``result_format`` COMPLETE → ``unexpected_index_list``), run on
an ephemeral context with a pandas data source. Rules GX cannot express per row get a *helper column*
computed by the suite's ``prepare`` step (e.g. "price unless flagged"), which GX then checks; helper
columns start with ``_q_`` and are dropped from the outputs.

An expectation's reason is the same for every row unless it names a ``detail`` column: then each failing
row's reason ends with that row's value (e.g. which cell could not be parsed, on which line; what text
was repaired). An ``exclusive`` expectation reports a row that fails it with that failure alone: a row
that could not be read fails most other rules as a mere consequence, and listing those would hide why.

:func:`numbers_storable` gives every suite the same check of its numeric columns: finite and within
what a PSA field can store (±Infinity, an overflowed ``1e401`` and absurd magnitudes are refused).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from channelsync.errors import ChannelsyncError, define

HELPER_PREFIX = "_q_"
ROW_QUARANTINED = define(
    "QUALITY_ROW_QUARANTINED", "channelsync", "A row failed a blocking expectation and was not loaded"
)
# Bounds of :func:`numbers_storable`: money (cost, price, MSRP) beyond a trillion is no real price and more
# than PSA currency fields are sure to hold; quantities are 32-bit integers in both PSAs.
MONEY_MAX = 1e12
COUNT_MAX = 2**31 - 1
_names = itertools.count()


class Severity(StrEnum):
    CRITICAL = "critical"
    BLOCKING = "blocking"
    WARNING = "warning"


@dataclass(frozen=True)
class Expectation:
    name: str  # stable, human: shown in item errors and reports
    severity: Severity
    gx_type: str  # class name in ``great_expectations.expectations``, e.g. "ExpectColumnValuesToBeUnique"
    kwargs: Mapping[str, Any]
    reason: str  # per failing row, e.g. "duplicate SKU"
    fix: Callable[[pd.DataFrame], pd.DataFrame] | None = None  # warnings: cleans the rows that failed it
    detail: str | None = None  # column whose value (when present) is appended to a failing row's reason
    exclusive: bool = False  # a row failing it is reported with this failure only


def rule(name: str, severity: Severity, gx_type: str, reason: str, *, detail: str | None = None,
         **kwargs: object) -> Expectation:
    """An :class:`Expectation` written in one line: ``kwargs`` are the GX expectation's."""
    return Expectation(name=name, severity=severity, gx_type=gx_type, kwargs=kwargs, reason=reason, detail=detail)


def columns_typed(
    types: Mapping[str, Sequence[str]], *, severity: Severity = Severity.CRITICAL
) -> tuple[Expectation, ...]:
    """Every column of ``types`` (column → the GX type names it may have) present, then of its type."""
    return (
        *(rule(f"column present: {c}", severity, "ExpectColumnToExist", f"column {c} is missing", column=c)
          for c in types),
        *(rule(f"column type: {c}", severity, "ExpectColumnValuesToBeInTypeList", f"column {c} has the wrong type",
               column=c, type_list=type_list) for c, type_list in types.items()),
    )


def numbers_storable(
    bounds: Mapping[str, float], *, severity: Severity = Severity.BLOCKING
) -> tuple[Expectation, ...]:
    """One expectation per numeric column of ``bounds`` (column → largest magnitude a PSA can store, e.g.
    :data:`MONEY_MAX`, :data:`COUNT_MAX`): the value is finite and within ±bound. Missing values pass
    (presence is a rule of its own). A float column cannot tell NaN from missing: a reader that meets a
    ``NaN`` cell must refuse it itself (the TD SYNNEX flat-file client does)."""
    return tuple(
        Expectation(
            name=f"number storable: {column}",
            severity=severity,
            gx_type="ExpectColumnValuesToBeBetween",
            kwargs={"column": column, "min_value": -bound, "max_value": bound},
            reason=f"{column} is not a finite number within ±{bound:,.0f} (more than a PSA can store)",
        )
        for column, bound in bounds.items()
    )


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: tuple[Expectation, ...]
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None  # normalise + helper columns
    key_column: str | None = None  # identifies a row in the warnings table (e.g. "source_key")


class SuiteFailed(ChannelsyncError):
    """The dataset as a whole is unusable; nothing may be written."""

    code = define("QUALITY_SUITE_FAILED", "channelsync", "A data-quality suite failed for the whole dataset")

    def __init__(self, suite: str, failures: list[tuple[str, str]]) -> None:
        listed = "; ".join(f"{name}: {detail}" for name, detail in failures)
        super().__init__(f"suite {suite!r} failed: {listed}")
        self.suite = suite
        self.failures = failures


@dataclass
class ValidationOutcome:
    good: pd.DataFrame  # rows to load (prepared, warnings fixed), original index
    quarantined: pd.DataFrame  # original columns + failed_expectations, reasons, quarantine_reason
    warnings: pd.DataFrame  # one row per (row, warning expectation): row, key, expectation, reason
    results: pd.DataFrame  # one row per expectation: expectation, severity, unexpected_count, success
    key_column: str | None = None

    @property
    def valid(self) -> pd.DataFrame:
        """Alias of :attr:`good` (the rows to load)."""
        return self.good

    def quarantine_items(self) -> pd.DataFrame:
        """One row per quarantined row: source_key (the suite's key), error_code, reason, expectations."""
        keys = self.quarantined[self.key_column] if self.key_column else self.quarantined.index.to_series()
        return pd.DataFrame(
            {
                "source_key": keys.astype("string").to_numpy(),
                "error_code": ROW_QUARANTINED,
                "reason": self.quarantined["quarantine_reason"].to_numpy(),
                "expectations": self.quarantined["failed_expectations"].to_numpy(),
            }
        )

    def warning_items(self) -> pd.DataFrame:
        """One row per (row, warning): source_key, expectation, reason."""
        keys = self.warnings["key"] if self.key_column else self.warnings["row"]
        return pd.DataFrame(
            {
                "source_key": keys.astype("string").to_numpy(),
                "expectation": self.warnings["expectation"].to_numpy(),
                "reason": self.warnings["reason"].to_numpy(),
            }
        )

    @property
    def has_warnings(self) -> bool:
        return len(self.warnings) > 0

    @property
    def warning_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.warnings["expectation"].value_counts().items()}

    @property
    def counts(self) -> dict[str, int]:
        return {
            "total": len(self.good) + len(self.quarantined),
            "good": len(self.good),
            "quarantined": len(self.quarantined),
            "warned_rows": int(self.warnings["row"].nunique()) if len(self.warnings) else 0,
        }


@dataclass
class _Result:
    success: bool
    positions: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    error: str | None = None
    observed: Any = None


def _run(frame: pd.DataFrame, expectations: list[Expectation], suite_name: str) -> list[_Result]:
    """Run ``expectations`` on ``frame`` (positional index) in one GX validation.

    GX stays quiet: its INFO loggers at WARNING and no progress bars (``channelsync/logs.py``), so the
    task log holds the stage's summary, not GX's registries and tqdm bars logged as ERROR."""
    from channelsync.logs import quiet_loggers, without_progress_bars

    quiet_loggers("great_expectations")  # before the import: it logs its registries
    import great_expectations as gx  # lazily: 3 s import, and DAG files must parse fast
    import great_expectations.expectations as gxe

    quiet_loggers("great_expectations")  # after: some of its modules set their own level on import
    context = without_progress_bars(gx.get_context(mode="ephemeral"))
    unique = f"{suite_name}_{next(_names)}"
    batch = (
        context.data_sources.add_pandas(f"ds_{unique}")
        .add_dataframe_asset(f"asset_{unique}")
        .add_batch_definition_whole_dataframe(f"batch_{unique}")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = context.suites.add(gx.ExpectationSuite(name=unique))
    built = [suite.add_expectation(getattr(gxe, e.gx_type)(**dict(e.kwargs))) for e in expectations]
    validation = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False}
    )
    by_id = {result.expectation_config.id: result for result in validation.results if result.expectation_config}
    results = []
    for expectation in built:
        result = by_id[expectation.id]
        info = result.exception_info or {}
        if info.get("raised_exception"):
            message = str(info.get("exception_message") or "raised an exception")
            results.append(_Result(success=False, error=message))
            continue
        positions = np.asarray(result.result.get("unexpected_index_list") or [], dtype=np.int64)
        results.append(
            _Result(
                success=bool(result.success),
                positions=positions,
                observed=result.result.get("observed_value"),
            )
        )
    return results


def _reasons(expectation: Expectation, positions: np.ndarray, data: pd.DataFrame) -> np.ndarray:
    """The reason of each failing row: the expectation's, followed by the row's detail when it has one."""
    reasons = np.full(len(positions), expectation.reason, dtype=object)
    if expectation.detail is None or not len(positions):
        return reasons
    details = data[expectation.detail].astype("string").to_numpy(dtype=object, na_value=None)[positions]
    for at, detail in enumerate(details):
        if detail:
            reasons[at] = f"{expectation.reason}: {detail}"
    return reasons


def _critical(frame: pd.DataFrame, suite: Suite) -> None:
    critical = [e for e in suite.expectations if e.severity is Severity.CRITICAL]
    if not critical:
        return
    failures = []
    for expectation, result in zip(critical, _run(frame, critical, suite.name), strict=True):
        if result.error is not None:
            failures.append((expectation.name, f"{expectation.reason} (could not be checked: {result.error[:200]})"))
        elif not result.success:
            observed = f" (found {result.observed})" if result.observed is not None else ""
            failures.append((expectation.name, f"{expectation.reason}{observed}"))
    if failures:
        raise SuiteFailed(suite.name, failures)


def validate(frame: pd.DataFrame, suite: Suite) -> ValidationOutcome:
    """Validate ``frame`` against ``suite``; raises :class:`SuiteFailed` when the dataset is unusable."""
    original_index = frame.index
    data = frame.reset_index(drop=True)
    _critical(data, suite)
    if suite.prepare is not None:
        data = suite.prepare(data)
    rows = [e for e in suite.expectations if e.severity is not Severity.CRITICAL]
    results = _run(data, rows, suite.name)
    broken = [(e.name, r.error or "") for e, r in zip(rows, results, strict=True) if r.error is not None]
    if broken:
        raise SuiteFailed(suite.name, broken)

    failures = pd.DataFrame(
        {
            "position": np.concatenate([r.positions for r in results]) if results else np.array([], np.int64),
            "expectation": np.repeat([e.name for e in rows], [len(r.positions) for r in results]),
            "severity": np.repeat([str(e.severity) for e in rows], [len(r.positions) for r in results]),
            "reason": np.concatenate([_reasons(e, r.positions, data) for e, r in zip(rows, results, strict=True)])
            if results
            else np.array([], dtype=object),
        }
    )
    exclusive = [e.name for e in rows if e.exclusive]
    if exclusive and len(failures):
        sole = failures["expectation"].isin(exclusive).to_numpy(dtype=bool)
        failures = failures[sole | ~failures["position"].isin(failures["position"][sole]).to_numpy(dtype=bool)]
    blocking = failures[failures["severity"] == Severity.BLOCKING]
    bad = np.zeros(len(data), dtype=bool)
    bad[blocking["position"].to_numpy(dtype=np.int64)] = True
    public = [column for column in data.columns if not str(column).startswith(HELPER_PREFIX)]

    good = data.loc[~bad, public].copy()
    for expectation, result in zip(rows, results, strict=True):
        if expectation.severity is Severity.WARNING and expectation.fix is not None and len(result.positions):
            fixable = np.intersect1d(result.positions, np.flatnonzero(~bad))
            if len(fixable):
                good.loc[fixable] = expectation.fix(good.loc[fixable])
    good.index = original_index[~bad]

    quarantined = data.loc[bad, public].copy()
    grouped = blocking.groupby("position", sort=True)
    names = grouped["expectation"].agg(tuple)
    reasons = grouped["reason"].agg(tuple)
    quarantined["failed_expectations"] = names.reindex(quarantined.index).to_numpy()
    quarantined["reasons"] = reasons.reindex(quarantined.index).to_numpy()
    quarantined["quarantine_reason"] = pd.array(["; ".join(r) for r in quarantined["reasons"]], dtype="string")
    quarantined.index = original_index[bad]

    warned = failures[failures["severity"] == Severity.WARNING]
    warnings = pd.DataFrame(
        {
            "row": original_index[warned["position"].to_numpy(dtype=np.int64)],
            "key": data[suite.key_column].to_numpy()[warned["position"].to_numpy(dtype=np.int64)]
            if suite.key_column
            else None,
            "expectation": warned["expectation"].to_numpy(),
            "reason": warned["reason"].to_numpy(),
        }
    )
    summary = pd.DataFrame(
        {
            "expectation": [e.name for e in rows],
            "severity": [str(e.severity) for e in rows],
            "unexpected_count": [len(r.positions) for r in results],
            "success": [r.success for r in results],
        }
    )
    return ValidationOutcome(
        good=good, quarantined=quarantined, warnings=warnings, results=summary, key_column=suite.key_column
    )
