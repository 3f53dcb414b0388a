"""Options of the health template (pydantic only: imported at DAG parse time)."""

from __future__ import annotations

from pydantic import Field, field_validator

from channelsync.templates.options_common import LoadOptions, TemplateOptions

# The systems a health run can check (what ``skip`` may name): the PSA by its system name, a distributor's
# connections by client. The TD SYNNEX daily catalog file is checked when the integration runs catalog_sync.
SYSTEMS = ("autotask", "connectwise", "tdsynnex_xml", "tdsynnex_ion", "tdsynnex_flatfile", "crayon", "pax8")


class HealthOptions(TemplateOptions):
    # The load stage only records the outcome; it writes nothing, so it takes one slot of the PSA pool.
    load: LoadOptions = Field(default_factory=lambda: LoadOptions(concurrency=1))
    timeout_s: float = Field(default=10.0, gt=0, le=120)  # per request of a check
    slow_ms: float = Field(default=3000.0, gt=0)  # a system answering slower than this is "degraded"
    # Autotask: degraded when the tenant has used this share of its hourly request threshold
    budget_warn_percent: float = Field(default=80.0, gt=0, le=100)
    skip: list[str] = Field(default_factory=list)  # systems not to check (names from SYSTEMS)

    @field_validator("skip")
    @classmethod
    def _known_systems(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SYSTEMS))
        if unknown:
            raise ValueError(f"unknown system(s) {', '.join(unknown)} (known: {', '.join(SYSTEMS)})")
        return value
