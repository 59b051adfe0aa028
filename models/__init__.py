"""Persistence layer: SQLAlchemy 2 typed models and the tenant scoping helper.

Importing this package registers every model on ``db.metadata`` so Alembic's
autogenerate and the models-vs-migrations test see the whole schema.
"""

from models.acl import AccessLog, ApiKey, ApiKeyRole, AuditLog, Role, RoleAcl, UserRole
from models.attachments import Attachment, AttachmentPartition, AttachmentTag, StoragePlan, UserPlan
from models.base import Base, SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db, utcnow
from models.logistics import (
    Counter,
    HandlingList,
    ListShipment,
    Location,
    Method,
    Parcel,
    Position,
    Product,
    ProductBarcode,
    ScanEvent,
    Shipment,
    ShipmentItem,
    ShipmentTally,
)
from models.permissions import GivenPermission, UserGroup, UserGroupMember
from models.printing import Hub, HubLog, LabelTemplate, Printer, PrintJob, PrintStation
from models.rules import BusinessRule, RuleExecutionLog, RuleSet, RuleSetMember
from models.scope import Scope
from models.signing_keys import SigningKey
from models.tasks import Task
from models.tenancy import Organization, Tenant
from models.toggles import CacheVersion, FeatureToggle, FeatureToggleOverride
from models.users import AuthSession, LoginAttempt, PasswordReset, UsedRefreshToken, User, UserAcl

__all__ = [
    "AccessLog",
    "ApiKey",
    "ApiKeyRole",
    "Attachment",
    "AttachmentPartition",
    "AttachmentTag",
    "AuditLog",
    "AuthSession",
    "Base",
    "BusinessRule",
    "CacheVersion",
    "Counter",
    "FeatureToggle",
    "FeatureToggleOverride",
    "GivenPermission",
    "HandlingList",
    "Hub",
    "HubLog",
    "LabelTemplate",
    "ListShipment",
    "Location",
    "LoginAttempt",
    "Method",
    "Organization",
    "Parcel",
    "PasswordReset",
    "Position",
    "PrintJob",
    "PrintStation",
    "Printer",
    "Product",
    "ProductBarcode",
    "Role",
    "RoleAcl",
    "RuleExecutionLog",
    "RuleSet",
    "RuleSetMember",
    "ScanEvent",
    "Scope",
    "Shipment",
    "ShipmentItem",
    "ShipmentTally",
    "SigningKey",
    "SoftDeleteMixin",
    "StoragePlan",
    "Task",
    "Tenant",
    "TenantOwnedMixin",
    "TimestampMixin",
    "UsedRefreshToken",
    "User",
    "UserAcl",
    "UserGroup",
    "UserGroupMember",
    "UserPlan",
    "UserRole",
    "db",
    "utcnow",
]
