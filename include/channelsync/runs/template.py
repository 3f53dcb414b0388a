"""What every template shares beyond the stages: a base class with the small helpers each template
used to copy — its typed options, the cross-reference, plan staging, the items reported at plan
time, planned rows → :class:`Operation`, and the load through the ledger.

A template subclasses :class:`TemplateBase`, sets ``entity_type`` (and, when its operations are its
own, ``op_outcomes`` and ``tenant_scoped_ops``) and implements extract / suite / plan / apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from channelsync.runs import outcomes

if TYPE_CHECKING:
    import pandas as pd

    from channelsync.runs.context import RunContext
    from channelsync.runs.loader import Operation, OperationExecutor
    from channelsync.runs.steps import LoadSummary
    from channelsync.state.ledger import Ledger, Target
    from channelsync.templates.options_common import TemplateOptions

OptionsT = TypeVar("OptionsT", bound="TemplateOptions")


class TemplateBase(Generic[OptionsT]):
    entity_type: ClassVar[str]
    # What each operation becomes once applied (runs/outcomes.py declares the names).
    op_outcomes: ClassVar[Mapping[str, str]] = outcomes.DEFAULT_OP_OUTCOMES
    # Operations that must never happen twice on a tenant, whatever run or integration carries them;
    # the others are scoped to the run (a new run re-plans them from the target's state).
    tenant_scoped_ops: ClassVar[frozenset[str]] = frozenset({"create"})

    def options(self, run: RunContext) -> OptionsT:
        return cast(OptionsT, run.options)

    # -- state the plan needs -----------------------------------------------------------------------
    def xref(self, run: RunContext) -> pd.DataFrame:
        """This integration's cross-reference for the template's entity: source_key, psa_id, fingerprint."""
        import pandas as pd

        from channelsync.state import repository

        return pd.DataFrame(
            repository.load_xref(run.state_url, integration=run.integration.name, entity_type=self.entity_type),
            columns=["source_key", "psa_id", "fingerprint"], dtype="string",
        )

    def quarantined_keys(self, run: RunContext) -> list[str]:
        """Source keys the validate stage quarantined in this run (reconcile leaves them alone)."""
        from channelsync.state import repository

        assert run.run_id is not None
        return repository.item_keys(run.state_url, run.run_id, outcome=outcomes.QUARANTINED.name)

    # -- staging ------------------------------------------------------------------------------------
    def stage_plan(self, run: RunContext, frame: pd.DataFrame) -> str:
        from channelsync.runs.staging import write_frame

        return write_frame(run.staging / "plan.parquet", frame)

    def read_plan(self, plan_url: str) -> pd.DataFrame:
        from channelsync.runs.staging import read_frame

        return read_frame(plan_url)

    # -- reporting ----------------------------------------------------------------------------------
    def plan_items(self, rows: pd.DataFrame, *, outcome: pd.Series | str, error_code: pd.Series | str,
                   reason: pd.Series) -> pd.DataFrame:
        """Items recorded at plan time (conflicts, duplicates): never written."""
        import pandas as pd

        def text(values: pd.Series) -> pd.Series:
            return values.astype("string").astype(object).where(values.notna(), None)

        return pd.DataFrame({
            "entity_type": self.entity_type,
            "source_key": rows["source_key"].astype(str),
            "psa_id": text(rows["psa_id"]),
            "outcome": outcome if isinstance(outcome, str) else outcome.astype(str),
            "error_code": error_code if isinstance(error_code, str) else error_code.astype(str),
            "error_message": text(reason),
            "changed_fields": rows["changed_fields"].map(lambda v: [str(x) for x in v] if v is not None else []),
        })

    # -- loading ------------------------------------------------------------------------------------
    def operation(self, *, key: str, op: str, source_key: str, target_id: str | None, fields: dict[str, Any],
                  changed_fields: Iterable[str] = (), fingerprint: str = "",
                  before: dict[str, Any] | None = None) -> Operation:
        from channelsync.runs.loader import Operation

        return Operation(key=key, op=op, source_key=source_key, target_id=target_id, fields=fields,
                         changed_fields=[str(name) for name in changed_fields], fingerprint=fingerprint,
                         scope="tenant" if op in self.tenant_scoped_ops else "run", before=before or {})

    def target(self, run: RunContext) -> Target:
        """The system and tenant this template writes to: the run's PSA, unless the template writes to
        a distributor (submitting orders) and says so here."""
        return run.psa_target()

    def load(self, run: RunContext, operations: list[Operation], executor: OperationExecutor, *,
             target: Target | None = None) -> LoadSummary:
        """Apply ``operations`` exactly once on ``target`` (default: :meth:`target`), within the load options.
        A template writing to two systems (submit to the distributor, write back to the PSA) loads twice."""
        from channelsync.runs.loader import apply_operations

        load_options = self.options(run).load
        return apply_operations(operations, executor, self.ledger(run, target=target),
                                concurrency=load_options.concurrency,
                                op_outcomes=self.op_outcomes, wait_for_others_s=load_options.wait_for_others_s)

    def ledger(self, run: RunContext, *, target: Target | None = None) -> Ledger:
        """The ledger as this task attempt sees it, on ``target`` (default: :meth:`target`)."""
        from channelsync.state.ledger import Ledger

        assert run.run_id is not None
        return Ledger(run.state_url, integration=run.integration.name, template=run.template, run_id=run.run_id,
                      target=target or self.target(run), entity_type=self.entity_type)

    def link_existing(self, run: RunContext, rows: Iterable[Any], *, psa_system: str) -> int:
        """Record cross-references of target records that already match (no write)."""
        from channelsync.state import repository

        xrefs = [{"psa_system": psa_system, "entity_type": self.entity_type, "source_key": row.source_key,
                  "psa_id": row.psa_id, "fingerprint": row.fingerprint} for row in rows]
        repository.save_xrefs(run.state_url, integration=run.integration.name, xrefs=xrefs)
        return len(xrefs)
