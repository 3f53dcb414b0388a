"""The integrations file: which integrations exist, their systems, connections and templates.

Validated as a whole before any DAG is built: a bad file gives ONE error naming the file, the
integration and the field, never a half-built set of DAGs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from channelsync.errors import ConfigError
from channelsync.runs.approval_config import ApprovalConfig, ApprovalOverride, effective, integration_problem, problem

# Any template in channelsync.templates.registry (checked when the file is loaded, with the known names).
TemplateName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
PsaSystem = Literal["autotask", "connectwise"]
DistributorName = Literal["tdsynnex", "crayon", "pax8"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PsaConfig(_Strict):
    system: PsaSystem
    conn_id: str


class DistributorConfig(_Strict):
    """Connection ids per API of one distributor (TD SYNNEX has an XML and an Ion connection)."""

    conn_id: str | None = None
    xml_conn_id: str | None = None
    ion_conn_id: str | None = None

    @model_validator(mode="after")
    def _one_connection(self) -> DistributorConfig:
        if not (self.conn_id or self.xml_conn_id or self.ion_conn_id):
            raise ValueError("needs at least one of conn_id, xml_conn_id, ion_conn_id")
        return self


class TemplateConfig(_Strict):
    enabled: bool = True
    # cron or preset; "asset:<template>": after each successful run of that template of the same
    # integration (Airflow data-aware scheduling); None = the template's default
    schedule: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    # Overrides the integration's ``approval`` for this template (runs/approval_config.py)
    approval: ApprovalOverride | None = None


# One address per entry (a distribution list is one address): no display names, no separators.
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s,;<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=254)]


class TemplateAlertConfig(_Strict):
    """Where one template's alerts go besides (or, with ``replace``, instead of) the integration's lists:
    billing to finance, orders to purchasing."""

    emails: list[EmailAddress] = Field(min_length=1)
    replace: bool = False


class AlertConfig(_Strict):
    """Who gets the integration's alert e-mails (channelsync.alerts): one message per run that needs a look."""

    emails: list[EmailAddress] = Field(default_factory=list)
    templates: dict[TemplateName, TemplateAlertConfig] = Field(default_factory=dict)
    # The same problem in run after run is e-mailed when it first appears, then again at most every this many
    # hours while it lasts (0: every run); anything new in a run is e-mailed at once.
    repeat_hours: float = Field(default=4.0, ge=0, le=24 * 7)

    def recipients(self, template: str) -> list[str]:
        """The addresses of ``template``'s alerts, each once, in the order configured."""
        route = self.templates.get(template)
        addresses = ([] if route and route.replace else list(self.emails)) + (list(route.emails) if route else [])
        unique: dict[str, str] = {}
        for address in addresses:
            unique.setdefault(address.lower(), address)
        return list(unique.values())


class IntegrationConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    description: str = ""
    owner: str = "channelsync"
    psa: PsaConfig
    distributors: dict[DistributorName, DistributorConfig]
    templates: dict[TemplateName, TemplateConfig]
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    # When a person approves a plan before it is loaded (runs/approval_config.py); templates may override it
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)

    def approval_for(self, template: str) -> ApprovalConfig:
        configured = self.templates.get(template)
        return effective(self.approval, configured.approval if configured else None, template)

    @model_validator(mode="after")
    def _alert_routes_name_templates(self) -> IntegrationConfig:
        unknown = sorted(set(self.alerts.templates) - set(self.templates))
        if unknown:
            raise ValueError(f"alerts.templates names {', '.join(unknown)}, not configured under templates "
                             f"(configured: {', '.join(self.templates) or 'none'})")
        return self

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()


class ChannelsyncConfig(_Strict):
    integrations: list[IntegrationConfig]

    @field_validator("integrations")
    @classmethod
    def _unique_names(cls, value: list[IntegrationConfig]) -> list[IntegrationConfig]:
        seen: set[str] = set()
        for integration in value:
            if integration.name in seen:
                raise ValueError(f"integration name {integration.name!r} is used twice")
            seen.add(integration.name)
        return value

    def get(self, name: str) -> IntegrationConfig:
        for integration in self.integrations:
            if integration.name == name:
                return integration
        known = ", ".join(i.name for i in self.integrations) or "none"
        raise ConfigError(f"no integration named {name!r} (configured: {known})")


def load_config(path: Path) -> ChannelsyncConfig:
    """Read and validate the whole file, template options included."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with an 'integrations' list")
    try:
        config = ChannelsyncConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(path, raw, exc)) from None
    for integration in config.integrations:
        _validate_template_options(path, integration)
        _validate_approval(path, integration)
    return config


def _validate_approval(path: Path, integration: IntegrationConfig) -> None:
    """Approval settings valid on their own but not for the templates they apply to (a threshold a template
    does not measure, mode threshold with nothing to compare)."""
    found = integration_problem(integration.approval, list(integration.templates))
    if found is not None:
        raise ConfigError(f"{path}: integration {integration.name!r}: approval.{found[0]}: {found[1]}")
    for name, template in integration.templates.items():
        found = problem(integration.approval, template.approval, name)
        if found is not None:
            raise ConfigError(f"{path}: integration {integration.name!r}: templates.{name}.approval.{found[0]}: "
                              f"{found[1]}")


def _validate_template_options(path: Path, integration: IntegrationConfig) -> None:
    from channelsync.templates.registry import TEMPLATES

    for name, template in integration.templates.items():
        spec = TEMPLATES.get(name)
        if spec is None:
            raise ConfigError(f"{path}: integration {integration.name!r}: template {name!r} is not available "
                              f"(available: {', '.join(sorted(TEMPLATES))})")
        missing = [d for d in spec.distributors if d not in integration.distributors]
        if missing:
            raise ConfigError(
                f"{path}: integration {integration.name!r}: template {name!r} needs distributor(s) "
                f"{', '.join(missing)} under 'distributors'"
            )
        if template.schedule and template.schedule.startswith("asset:"):
            upstream = template.schedule.removeprefix("asset:")
            watched = spec.default_schedule.removeprefix("asset:") if spec.watcher else None
            if upstream != watched and (upstream not in integration.templates or upstream == name):
                raise ConfigError(
                    f"{path}: integration {integration.name!r}: templates.{name}.schedule: {template.schedule!r} "
                    f"names no other template of this integration (configured: {', '.join(integration.templates)})"
                )
        try:
            options = spec.options_model.model_validate(template.options)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"{path}: integration {integration.name!r}: templates.{name}.options.{field}: {first['msg']}"
            ) from None
        # Options valid on their own but not for this integration's PSA (e.g. catalog_sync's sync_inventory
        # on ConnectWise): the options model's ``check_for_psa`` raises ValueError (``.option`` names it).
        check = getattr(options, "check_for_psa", None)
        if check is not None:
            try:
                check(integration.psa.system)
            except ValueError as exc:
                option = getattr(exc, "option", None)
                where = f"templates.{name}.options" + (f".{option}" if option else "")
                raise ConfigError(f"{path}: integration {integration.name!r}: {where}: {exc}") from None


def _describe(path: Path, raw: dict[str, Any], exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = list(first["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "integrations" and isinstance(loc[1], int):
        items = raw.get("integrations") or []
        name = items[loc[1]].get("name") if loc[1] < len(items) and isinstance(items[loc[1]], dict) else None
        where = f"integration {name!r}: " if name else f"integration #{loc[1] + 1}: "
        loc = loc[2:]
    field = ".".join(str(p) for p in loc) or "(file)"
    return f"{path}: {where}{field}: {first['msg']}"
