"""Business rules (seed 000 /business_rules): rules, rule sets with members, execution logs.

A rule's ``rule_id`` (business key) and a set's ``set_id`` are unique per tenant among live
rows (partial unique indexes), so a soft-deleted rule frees its key. A rule sits in a set at
most once (unique ``(set_id, rule_id)`` → 409).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db, unique_while_live, utcnow


class BusinessRule(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "business_rules"
    __table_args__ = (
        unique_while_live("uq_business_rules_tenant_rule_id", "tenant_id", "rule_id"),
        # discovery: (tenant, entityType) then filtered by event/enabled in the compiled cache
        sa.Index("ix_business_rules_discovery", "tenant_id", "entity_type", "enabled"),
    )

    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(50))
    rule_name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(5000))
    rule_type: Mapped[str] = mapped_column(sa.String(16))  # GUARD | VALIDATION | CALCULATION | ACTION | ASSIGNMENT
    rule_category: Mapped[str | None] = mapped_column(sa.String(50))
    entity_type: Mapped[str] = mapped_column(sa.String(50))
    event_type: Mapped[str | None] = mapped_column(sa.String(50))  # None = every event of the entity
    enabled: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=100)
    version: Mapped[int] = mapped_column(default=1)
    effective_from: Mapped[datetime | None] = mapped_column(default=None)
    effective_to: Mapped[datetime | None] = mapped_column(default=None)
    condition_expression: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True), default=None)
    success_actions: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True), default=None)
    failure_actions: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True), default=None)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))


class RuleSet(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """A named group of rules; a disabled set disables its member rules during execution."""

    __tablename__ = "business_rule_sets"
    __table_args__ = (unique_while_live("uq_business_rule_sets_tenant_set_id", "tenant_id", "set_id"),)

    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    set_id: Mapped[str] = mapped_column(sa.String(50))
    set_name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(5000))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))

    members: Mapped[list[RuleSetMember]] = relationship(
        back_populates="rule_set",
        order_by=lambda: [RuleSetMember.sequence, RuleSetMember.created_at],
        cascade="all, delete-orphan",
    )


class RuleSetMember(TenantOwnedMixin, db.Model):
    __tablename__ = "business_rule_set_members"
    __table_args__ = (sa.UniqueConstraint("rule_set_id", "rule_id"),)

    rule_set_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("business_rule_sets.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("business_rules.id"), index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    rule_set: Mapped[RuleSet] = relationship(back_populates="members")
    rule: Mapped[BusinessRule] = relationship()


class RuleExecutionLog(TenantOwnedMixin, db.Model):
    """One evaluation of one rule (never written by a dry run); contexts are redacted."""

    __tablename__ = "business_rule_logs"
    __table_args__ = (sa.Index("ix_business_rule_logs_tenant_at", "tenant_id", "executed_at"),)

    organization_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    rule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("business_rules.id"), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(50))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    event_type: Mapped[str | None] = mapped_column(sa.String(50))
    execution_result: Mapped[str] = mapped_column(sa.String(16))  # SUCCESS | FAILURE | ERROR
    input_context: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True), default=None)
    output_context: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True), default=None)
    error_message: Mapped[str | None] = mapped_column(sa.String(2000))
    execution_time_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)
    executed_at: Mapped[datetime] = mapped_column(default=utcnow)
    executed_by: Mapped[str | None] = mapped_column(sa.String(64))

    rule: Mapped[BusinessRule] = relationship()
