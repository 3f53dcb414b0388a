"""State store tables. Unique constraints carry the idempotency rules (docs/architecture.md §State store).

Changing a model needs a migration in ``state/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SyncRun(Base):
    """One run of one template for one integration (a DAG run, or a CLI preview)."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        UniqueConstraint("integration", "template", "run_key", name="uq_sync_runs_run_key"),
        # A pair's newest runs, newest first (the dashboard's cards, history, the health states): one
        # backward probe per pair, however many runs a year leaves.
        Index("ix_sync_runs_key_id", "integration", "template", "id"),
        Index("ix_sync_runs_started_at", "started_at"),  # the trends' and the error catalog's recent days
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(50))
    run_key: Mapped[str] = mapped_column(String(250))  # dag_id/run_id
    preview: Mapped[bool] = mapped_column(Boolean, default=False)
    # running | no_change | success | warning | failure
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    api_calls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    plan_path: Mapped[str | None] = mapped_column(Text, nullable=True)


class SyncItem(Base):
    """The outcome of one item (product, subscription, order) in one run."""

    __tablename__ = "sync_items"
    __table_args__ = (Index("ix_sync_items_run_outcome", "run_id", "outcome"),
                      # a mapped load task's own items (replace_items), and a stage's (migration 0008)
                      Index("ix_sync_items_run_stage_partition", "run_id", "stage", "partition"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    # The stage that recorded the item (runs/outcomes.py) and, for a load mapped per customer or order,
    # its partition: a retried stage (or one mapped task instance) replaces only its own items.
    stage: Mapped[str] = mapped_column(String(20), default="load")
    partition: Mapped[str | None] = mapped_column(String(250), nullable=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(250), index=True)
    psa_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # a name declared in channelsync.runs.outcomes (created, updated, quarantined, conflict, failed, …)
    outcome: Mapped[str] = mapped_column(String(20))
    changed_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)


class CrossReference(Base):
    """Source key ↔ PSA entity id, with the fingerprint of what channelsync last wrote."""

    __tablename__ = "xref"
    __table_args__ = (
        UniqueConstraint("integration", "entity_type", "source_key", name="uq_xref_source"),
        UniqueConstraint("integration", "entity_type", "psa_id", name="uq_xref_psa"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    psa_system: Mapped[str] = mapped_column(String(30))
    entity_type: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(250))
    psa_id: Mapped[str] = mapped_column(String(250))
    # what channelsync last wrote: a hash, or (billing) the stretches it posted, as JSON (migration 0007)
    fingerprint: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class OperationLedger(Base):
    """Every write channelsync sends, recorded before it is sent and marked after: exactly once.

    A row is one operation on one **target** (a PSA or a distributor, and its tenant: the Autotask
    database, the ConnectWise company, the TD SYNNEX account) under an idempotency key, in a **scope**:
    ``run:<id>`` for writes a new run recomputes from the target's state (catalog updates), ``tenant``
    for writes that must never happen twice whatever run, retry or integration carries them (a
    product's creation, a billing posting, a purchase-order submission). The integration is recorded
    but is not part of the key: two integrations on one tenant find each other's claims.
    """

    __tablename__ = "operation_ledger"
    __table_args__ = (
        UniqueConstraint("target_system", "target_tenant", "scope", "idempotency_key", name="uq_operation_key"),
        Index("ix_operation_ledger_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_system: Mapped[str] = mapped_column(String(30))
    target_tenant: Mapped[str] = mapped_column(String(150))
    scope: Mapped[str] = mapped_column(String(40))  # "tenant" | "run:<sync run id>"
    idempotency_key: Mapped[str] = mapped_column(String(250))
    entity_type: Mapped[str] = mapped_column(String(40))
    op: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(250))
    target_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # pending (claimed, about to be sent) | applied | failed (refused: not written) | unknown (no answer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # The run and task attempt that holds (or last held) the claim; a claim of a finished run is an orphan.
    integration: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(50))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"), nullable=True)
    holder: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. a distributor order number
    error_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CustomerMapping(Base):
    """A distributor customer (a Crayon customer tenant, a Pax8 company, of one distributor account) →
    the PSA company and recurring contract (Autotask Recurring Service contract, ConnectWise agreement)
    its invoice lines post to, and the per-customer sync switch (``state/mappings.py``).

    One row per key: a customer cannot have two mappings in one integration. ``psa_tenant`` (the PSA
    database, as the ledger names it) lets two integrations on one PSA be checked for customers mapped
    twice. Every change is recorded in :class:`MappingAudit` (kind ``customer``) in the same transaction.
    """

    __tablename__ = "customer_mappings"
    __table_args__ = (
        UniqueConstraint("integration", "distributor", "account", "customer_id", name="uq_customer_mapping"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    distributor: Mapped[str] = mapped_column(String(30))
    account: Mapped[str] = mapped_column(String(100))  # Crayon organization id, Pax8 partner (connection)
    customer_id: Mapped[str] = mapped_column(String(100))  # Crayon customer tenant id / Pax8 company id
    customer_name: Mapped[str | None] = mapped_column(String(250), nullable=True)  # as last seen
    psa_company_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    psa_contract_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    psa_tenant: Mapped[str | None] = mapped_column(String(150), nullable=True)  # e.g. "autotask:<ci>"
    sync_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MappingAudit(Base):
    """One row per change of a mapping people edit (the pages, the CLI): a customer mapping, a category
    mapping or a service override (``kind``; ``state/mapping_audit.py``) — who, when, the action and the
    row before / after (``None`` before a creation and after a removal). Kept when the mapping is removed.
    ``mapping_key`` names the mapping within its kind and integration (a customer key
    ``crayon:4401:310007``, a category ``tdsynnex:NBK``, a SKU). Migration 0009 made it of
    ``customer_mapping_audit``, whose rows it holds as kind ``customer``."""

    __tablename__ = "mapping_audit"
    __table_args__ = (Index("ix_mapping_audit_key", "integration", "kind", "mapping_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # customer | category | service
    mapping_key: Mapped[str] = mapped_column(String(250))
    # customer: create | update | enable | disable | rename | remove; category / service: create | update |
    # exclude | include | remove
    action: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CategoryMapping(Base):
    """A distributor category code → the PSA category catalog_sync files its products under, as a person
    set it in the pages or the CLI (``state/option_maps.py``). It overlays catalog_sync's ``category_map`` of
    the integrations file (``channelsync.effective_maps``): ``selected`` with a category maps the code,
    whatever the file says; ``selected`` false excludes the code from the selection even when the file
    maps it. Every change is audited (:class:`MappingAudit`, kind ``category``)."""

    __tablename__ = "category_mappings"
    __table_args__ = (UniqueConstraint("integration", "distributor", "category_code", name="uq_category_mapping"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    distributor: Mapped[str] = mapped_column(String(30))
    category_code: Mapped[str] = mapped_column(String(50))
    psa_category: Mapped[str | None] = mapped_column(String(100), nullable=True)  # None: excluded, no category
    selected: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceOverride(Base):
    """A distributor SKU (one retired from the price list) → the PSA service subscription_billing posts its
    lines to, as a person set it (``state/option_maps.py``). It overlays subscription_billing's
    ``service_overrides`` of the integrations file as :class:`CategoryMapping` does catalog_sync's map:
    ``enabled`` false removes the file's override of the SKU. Audited as kind ``service``."""

    __tablename__ = "service_overrides"
    __table_args__ = (UniqueConstraint("integration", "sku", name="uq_service_override"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(150))
    service_name: Mapped[str | None] = mapped_column(String(250), nullable=True)  # None: excluded, no service
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncRunDay(Base):
    """One (integration, template)'s runs of one closed UTC day, summed for the dashboard's trends
    (``ui/trends.py``): runs by status, items by outcome kind, errors by code, duration sum and count."""

    __tablename__ = "sync_run_days"
    __table_args__ = (UniqueConstraint("integration", "template", "day", name="uq_sync_run_days"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(50))
    day: Mapped[date] = mapped_column(Date)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AlertLog(Base):
    """One alert message (or a template's alert row, e-mailed within a message) and how its delivery went:
    ``attempts`` handed to the SMTP server so far, the last refusal, and when it was last tried."""

    __tablename__ = "alert_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    template: Mapped[str | None] = mapped_column(String(50), nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    severity: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConfigAudit(Base):
    """Each change of an integration's configuration, as first seen by channelsync."""

    __tablename__ = "config_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    config_hash: Mapped[str] = mapped_column(String(64))
    previous_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(100), default="config-file")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CredentialState(Base):
    """Rotating credentials that must survive a crash (TD SYNNEX Ion single-use refresh tokens)."""

    __tablename__ = "credential_state"
    __table_args__ = (UniqueConstraint("system", "account", name="uq_credential_state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(30))
    account: Mapped[str] = mapped_column(String(100))
    # ``fernet:<token>``, encrypted with Airflow's Fernet key (state/token_store.py); a value without the
    # prefix is plain text from before encryption, re-encrypted by the next write.
    secret: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ConcurrencyLease(Base):
    """One slot of a cross-process counting semaphore (state/leases.py), e.g. one of Autotask's three
    threads per (database, integration code, entity). Slot -1 is not a slot: it marks a waiter."""

    __tablename__ = "concurrency_leases"
    __table_args__ = (UniqueConstraint("key", "slot", name="uq_concurrency_lease"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    slot: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SyncApproval(Base):
    """A person's decision on a run's plan before its load (runs/approval.py): one row per (run, plan
    digest). A cleared gate finds the approval of the same plan and does not ask again; a plan that
    changed (reconcile rerun on new data) has a new digest and is asked for again."""

    __tablename__ = "sync_approvals"
    __table_args__ = (UniqueConstraint("run_id", "plan_digest", name="uq_sync_approval"),
                      Index("ix_sync_approvals_template", "integration", "template", "decision"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    integration: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(50))
    plan_digest: Mapped[str] = mapped_column(String(64))
    # pending (asked, no answer yet) | approved | rejected | timed_out
    decision: Mapped[str] = mapped_column(String(20), default="pending")
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)  # why approval was asked
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts and measures shown
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(250), nullable=True)  # the Airflow user's name (id)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)  # the person's, with the answer
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # the decision as the run reports it
