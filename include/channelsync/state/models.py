"""State store tables. Unique constraints carry the idempotency rules (DESIGN.md "State store").

Changing a model needs a migration in ``state/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
    __table_args__ = (UniqueConstraint("integration", "template", "run_key", name="uq_sync_runs_run_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100), index=True)
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
    __table_args__ = (Index("ix_sync_items_run_outcome", "run_id", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(250), index=True)
    psa_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # created | updated | unchanged | deactivated | linked | conflict | duplicate | quarantined | failed | flagged
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
    psa_id: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class OperationLedger(Base):
    """Every planned write, recorded before it is sent and marked after: a rerun sends only the rest."""

    __tablename__ = "operation_ledger"
    # Per run: a retried or cleared task of the same run skips what it applied; a later run re-plans from
    # the PSA's state (an update back to an earlier value legitimately repeats a key across runs).
    __table_args__ = (UniqueConstraint("run_id", "idempotency_key", name="uq_operation_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(50))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    op: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(250))
    psa_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # pending (recorded, about to be sent) | applied | failed | unknown (sent, no answer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CustomerMapping(Base):
    __tablename__ = "customer_mappings"
    __table_args__ = (UniqueConstraint("integration", "distributor", "customer_key", name="uq_customer_mapping"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    distributor: Mapped[str] = mapped_column(String(30))
    customer_key: Mapped[str] = mapped_column(String(100))  # tenant id / company id at the distributor
    customer_name: Mapped[str | None] = mapped_column(String(250), nullable=True)
    psa_company_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    psa_contract_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sync_enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class CategoryMapping(Base):
    __tablename__ = "category_mappings"
    __table_args__ = (UniqueConstraint("integration", "distributor", "category_code", name="uq_category_mapping"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    distributor: Mapped[str] = mapped_column(String(30))
    category_code: Mapped[str] = mapped_column(String(50))
    psa_category: Mapped[str] = mapped_column(String(100))
    selected: Mapped[bool] = mapped_column(Boolean, default=True)


class OrderLedger(Base):
    """One row per PSA purchase order submitted to a distributor: the exactly-once guarantee."""

    __tablename__ = "order_ledger"
    __table_args__ = (
        UniqueConstraint("integration", "psa_po_id", name="uq_order_psa_po"),
        UniqueConstraint("distributor", "customer_po_number", name="uq_order_customer_po"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    psa_po_id: Mapped[str] = mapped_column(String(64))
    distributor: Mapped[str] = mapped_column(String(30))
    customer_po_number: Mapped[str] = mapped_column(String(64))
    distributor_order_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="pending")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class BillingLedger(Base):
    """One row per invoice line posted to the PSA: a line is never posted twice."""

    __tablename__ = "billing_ledger"
    __table_args__ = (
        UniqueConstraint("integration", "distributor", "invoice_id", "invoice_line_id", name="uq_billing_line"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(100))
    distributor: Mapped[str] = mapped_column(String(30))
    invoice_id: Mapped[str] = mapped_column(String(64))
    invoice_line_id: Mapped[str] = mapped_column(String(64))
    psa_entity: Mapped[str | None] = mapped_column(String(60), nullable=True)
    psa_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AlertLog(Base):
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
    secret: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
