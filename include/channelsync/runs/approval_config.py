"""The ``approval`` option: when a person must approve a run's plan before it is loaded (issue #12).

PRISM's own advice for a new integration is to preview the first sync, start small and check the first
billing periods by hand; this makes that a setting. Per integration, with a per-template override:

- ``mode``: ``never`` (default), ``always``, ``first_runs`` (the first ``first_runs`` real runs that a
  person approved; after that, never) or ``threshold`` (when the plan crosses one of ``thresholds``);
- ``thresholds``: what each template measures of its plan (:data:`MEASURES`);
- ``timeout_hours``: an unanswered request counts as rejected after this long (nothing is loaded);
- ``approvers``: the Airflow user ids who may answer (Airflow's assigned users); empty: anyone the auth
  manager lets answer the DAG's requests.

Pydantic only: imported at DAG parse time with the integrations file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ApprovalMode = Literal["never", "always", "first_runs", "threshold"]
UserId = Annotated[str, Field(min_length=1, max_length=250, pattern=r"^\S+$")]  # as the auth manager names users


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalThresholds(_Strict):
    """A plan that goes *above* one of these asks for approval (mode ``threshold``)."""

    # catalog_sync, service_catalog_sync, price_availability: (updated + deactivated) / every planned item
    changed_share: float | None = Field(default=None, ge=0, le=1)
    # catalog_sync: deactivated / every planned item (products gone from the distributor's catalog)
    deactivated_share: float | None = Field(default=None, ge=0, le=1)
    # subscription_billing: the share of the invoice's total (at cost, per currency) that this run will not
    # post: lines quarantined, customers unmapped or switched off
    billing_gap_share: float | None = Field(default=None, ge=0, le=1)
    # submit_orders: purchase orders to submit in one run
    orders: int | None = Field(default=None, ge=0)


# What each template measures of its plan; a template not listed measures nothing (mode ``threshold``
# never asks for it). A plugin's template adds its own entry.
MEASURES: dict[str, tuple[str, ...]] = {
    "catalog_sync": ("changed_share", "deactivated_share"),
    "service_catalog_sync": ("changed_share",),
    "price_availability": ("changed_share",),
    "subscription_billing": ("billing_gap_share",),
    "submit_orders": ("orders",),
}


# Templates that write to no PSA or distributor (health reads each endpoint and alerts): never gated, so an
# integration-wide ``mode: always`` does not stop the health checks behind a request nobody needs.
UNGATED = frozenset({"health"})


class ApprovalConfig(_Strict):
    mode: ApprovalMode = "never"
    first_runs: int = Field(default=3, ge=1, le=1000)
    timeout_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    thresholds: ApprovalThresholds = Field(default_factory=ApprovalThresholds)
    approvers: list[UserId] = Field(default_factory=list)

    def set_thresholds(self, template: str | None = None) -> dict[str, float]:
        """The thresholds set (of those ``template`` measures, when given)."""
        measured = MEASURES.get(template, ()) if template is not None else tuple(ApprovalThresholds.model_fields)
        values = self.thresholds.model_dump()
        return {name: float(values[name]) for name in measured if values.get(name) is not None}


class ApprovalOverride(_Strict):
    """``templates.<name>.approval``: each key given replaces the integration's; thresholds key by key."""

    mode: ApprovalMode | None = None
    first_runs: int | None = Field(default=None, ge=1, le=1000)
    timeout_hours: float | None = Field(default=None, gt=0, le=24 * 14)
    thresholds: ApprovalThresholds | None = None
    approvers: list[UserId] | None = None


def effective(base: ApprovalConfig, override: ApprovalOverride | None, template: str | None = None
              ) -> ApprovalConfig:
    if template in UNGATED:
        return ApprovalConfig()
    if override is None:
        return base
    update = {name: getattr(override, name) for name in ("mode", "first_runs", "timeout_hours", "approvers")
              if getattr(override, name) is not None}
    if override.thresholds is not None:
        thresholds = base.thresholds.model_dump()
        thresholds.update(override.thresholds.model_dump(exclude_none=True))
        update["thresholds"] = ApprovalThresholds(**thresholds)
    return base.model_copy(update=update)


def problem(base: ApprovalConfig, override: ApprovalOverride | None, template: str) -> tuple[str, str] | None:
    """(where, what) of the first mistake in one template's approval setting, else None."""
    if template in UNGATED and override is not None and override.mode not in (None, "never"):
        return ("mode", f"{template} writes nothing to a PSA or distributor, so it is never gated")
    config = effective(base, override, template)
    measured = MEASURES.get(template, ())
    if override is not None and override.thresholds is not None:
        for name in override.thresholds.model_dump(exclude_none=True):
            if name not in measured:
                return (f"thresholds.{name}", f"{template} does not measure {name} (it measures: "
                        f"{', '.join(measured) or 'nothing; use mode always or first_runs'})")
    if config.mode == "threshold" and override is not None and (override.mode or override.thresholds) \
            and not config.set_thresholds(template):
        return ("mode", f"threshold needs one of thresholds.{', thresholds.'.join(measured)} for {template}"
                if measured else f"{template} measures nothing a threshold could compare; use always or first_runs")
    return None


def integration_problem(base: ApprovalConfig, templates: list[str]) -> tuple[str, str] | None:
    """(where, what) of a mistake in an integration's own ``approval`` (given its configured templates)."""
    if base.mode == "threshold" and not base.set_thresholds():
        names = ", thresholds.".join(ApprovalThresholds.model_fields)
        return ("mode", f"threshold needs at least one of thresholds.{names}")
    measured = {name for template in templates for name in MEASURES.get(template, ())}
    unused = sorted(set(base.set_thresholds()) - measured)
    if unused:
        return (f"thresholds.{unused[0]}", f"no configured template measures it (configured: {', '.join(templates)})")
    return None
