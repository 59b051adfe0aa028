"""Persistence layer: SQLAlchemy 2 typed models and the tenant scoping helper.

Importing this package registers every model on ``db.metadata`` so Alembic's
autogenerate and the models-vs-migrations test see the whole schema.
"""
from models.base import db, Base, TimestampMixin, SoftDeleteMixin, TenantOwnedMixin, utcnow
from models.tenancy import Tenant, Organization
from models.users import User, UserAcl, AuthSession, UsedRefreshToken, LoginAttempt, PasswordReset
from models.acl import Role, UserRole, RoleAcl, ApiKey, ApiKeyRole, AuditLog
from models.toggles import FeatureToggle, FeatureToggleOverride, CacheVersion
from models.attachments import Attachment, AttachmentPartition, AttachmentTag, StoragePlan, UserPlan
from models.logistics import (Counter, ShipmentTally, Location, Position, Method, Product, ProductBarcode, Shipment, ShipmentItem,
                              HandlingList, ListShipment, ScanEvent, Parcel)
from models.tasks import Task
from models.rules import BusinessRule, RuleSet, RuleSetMember, RuleExecutionLog
from models.scope import Scope

__all__ = [
    "db", "Base", "TimestampMixin", "SoftDeleteMixin", "TenantOwnedMixin", "utcnow",
    "Tenant", "Organization", "User", "UserAcl", "AuthSession", "UsedRefreshToken", "LoginAttempt", "PasswordReset", "Scope",
    "Role", "UserRole", "RoleAcl", "ApiKey", "ApiKeyRole", "AuditLog",
    "FeatureToggle", "FeatureToggleOverride", "CacheVersion",
    "Attachment", "AttachmentPartition", "AttachmentTag", "StoragePlan", "UserPlan",
    "Counter", "ShipmentTally", "Location", "Position", "Method", "Product", "ProductBarcode", "Shipment", "ShipmentItem",
    "HandlingList", "ListShipment", "ScanEvent", "Parcel", "Task",
    "BusinessRule", "RuleSet", "RuleSetMember", "RuleExecutionLog",
]
