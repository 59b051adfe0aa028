"""Object-level permissions (seed 002 ``givenPermissions``, ``/permissions/{name}``).

A feature grant (a role or user ACL) says what a caller may do everywhere. An object grant
(``models.GivenPermission``) names one record and says ``canDo`` there, for a role, a user or
a user group. Per feature the caller gets ``{canDo, exceptions}``: holding the feature, the
exceptions are the records it is denied; not holding it, they are the only records it may use.

Enforcement is structural: ``Restriction.clause_for(model)`` is applied by ``Scope.select`` to
every query of a restricted kind (and of the records that belong to one: a location's
positions, lists and units), so get, list, count, search, documents and stations agree. A
record outside is answered like another tenant's: 404.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from models import (
    Attachment,
    AttachmentPartition,
    BusinessRule,
    GivenPermission,
    HandlingList,
    Location,
    Parcel,
    Position,
    RuleExecutionLog,
    RuleSet,
    RuleSetMember,
    ScanEvent,
    Shipment,
    ShipmentItem,
    UserAcl,
    UserGroupMember,
    UserRole,
    db,
)
from services.cache_versions import VersionedCache


@dataclass(frozen=True)
class ObjectKind:
    """A kind of record object grants can name: its model, how people call it and how a
    typeahead finds one (``label`` columns, first one shown)."""

    name: str
    title: str
    model: type
    label: tuple


KINDS: dict[str, ObjectKind] = {
    k.name: k
    for k in (
        ObjectKind("shipment", "Shipment", Shipment, (Shipment.number, Shipment.order_id)),
        ObjectKind("handling_list", "Handling list", HandlingList, (HandlingList.number,)),
        ObjectKind("location", "Location", Location, (Location.name,)),
        ObjectKind("storage_partition", "Storage partition", AttachmentPartition, (AttachmentPartition.code,)),
        ObjectKind("business_rule", "Business rule", BusinessRule, (BusinessRule.rule_id, BusinessRule.rule_name)),
        ObjectKind("rule_set", "Rule set", RuleSet, (RuleSet.set_id, RuleSet.set_name)),
    )
}

# Which kinds a grant of a feature may name (by feature prefix): the records its routes work on.
FEATURE_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lcs.shipments.", ("shipment", "location")),
    ("lcs.handling.", ("handling_list", "shipment", "location")),
    ("lcs.locations.", ("location",)),
    ("attachments.", ("storage_partition",)),
    ("business_rules.", ("business_rule", "rule_set")),
)


def kinds_for(feature: str) -> tuple[str, ...]:
    """The object kinds a grant of ``feature`` may name (empty: no object grants for it)."""
    for prefix, kinds in FEATURE_KINDS:
        if feature.startswith(prefix):
            return kinds
    return ()


def _member(column) -> Callable:
    """Matches rows whose ``column`` is one of the ids (never rows where it is NULL)."""
    return lambda ids: sa.and_(column.is_not(None), column.in_(ids))


def _through(column, parent_key, parent_match) -> Callable:
    """Matches rows whose parent (``column`` → ``parent_key``) matches ``parent_match``."""
    return lambda ids: column.in_(sa.select(parent_key).where(parent_match(ids)))


_shipment_location = _member(Shipment.location_id)
_list_location = _member(HandlingList.location_id)
_rule_in_set = lambda ids: BusinessRule.id.in_(
    sa.select(RuleSetMember.rule_id).where(RuleSetMember.rule_set_id.in_(ids))
)

# How a restriction of each kind reaches each model: the record itself, or the record it
# belongs to (a location's positions, lists, shipments and their units; a list's units and
# scans; a partition's files; a rule set's rules).
MATCHERS: dict[type, dict[str, Callable]] = {
    Shipment: {
        "shipment": _member(Shipment.id),
        "location": _shipment_location,
        "handling_list": _member(Shipment.active_list_id),
    },
    ShipmentItem: {
        "shipment": _member(ShipmentItem.shipment_id),
        "handling_list": _member(ShipmentItem.list_id),
        "location": _through(ShipmentItem.shipment_id, Shipment.id, _shipment_location),
    },
    Parcel: {
        "shipment": _member(Parcel.shipment_id),
        "location": _through(Parcel.shipment_id, Shipment.id, _shipment_location),
    },
    HandlingList: {
        "handling_list": _member(HandlingList.id),
        "location": _list_location,
    },
    ScanEvent: {
        "handling_list": _member(ScanEvent.list_id),
        "location": _through(ScanEvent.list_id, HandlingList.id, _list_location),
    },
    Location: {"location": _member(Location.id)},
    Position: {"location": _member(Position.location_id)},
    AttachmentPartition: {"storage_partition": _member(AttachmentPartition.id)},
    Attachment: {"storage_partition": _member(Attachment.partition_id)},
    BusinessRule: {"business_rule": _member(BusinessRule.id), "rule_set": _rule_in_set},
    RuleSet: {"rule_set": _member(RuleSet.id)},
    RuleExecutionLog: {"business_rule": _member(RuleExecutionLog.rule_id)},
}


# --- what applies to one principal --------------------------------------------------------

# The most specific subject decides an object: the user's own grant over its groups', over
# its roles'. Within one level a deny wins.
_LEVEL = {"user": 2, "group": 1, "role": 0}


@dataclass(frozen=True)
class Exceptions:
    """``{canDo, exceptions}`` of one feature, with the kind of every excepted object."""

    can_do: bool
    objects: tuple[tuple[uuid.UUID, str], ...]  # (object id, kind)

    @property
    def ids(self) -> list[uuid.UUID]:
        return [oid for oid, _ in self.objects]


@dataclass(frozen=True)
class ObjectGrants:
    """Every object grant that reaches a principal, decided per (feature, object). ``memo``
    keeps the restrictions built from it (cached with it per ACL version): a worker builds
    and hashes a user's 1,000 exceptions once, not on every request."""

    decided: dict  # feature -> {object id: (can_do, kind)}
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def exceptions(self, feature: str, holds_feature: bool) -> Exceptions:
        """``canDo`` is whether the feature is held; exceptions are the objects decided the
        other way (denied though held, or allowed though not held)."""
        objects = tuple(
            sorted(
                (
                    (oid, kind)
                    for oid, (can_do, kind) in self.decided.get(feature, {}).items()
                    if can_do != holds_feature
                ),
                key=lambda o: str(o[0]),
            )
        )
        return Exceptions(holds_feature, objects)

    def opens(self, feature: str) -> bool:
        """Whether some object grant allows ``feature`` somewhere (so its routes open)."""
        return any(can_do for can_do, _ in self.decided.get(feature, {}).values())


NO_OBJECT_GRANTS = ObjectGrants({})


def subject_filter(principal) -> sa.ColumnElement | None:
    """The ``given_permissions`` rows that reach ``principal``: its roles' (unless a user ACL
    replaces them, as it replaces the roles' features), its groups' and its own."""
    if getattr(principal, "is_api_key", False):
        from models import ApiKeyRole

        roles = sa.select(ApiKeyRole.role_id).where(ApiKeyRole.api_key_id == principal.id)
        return GivenPermission.role_id.in_(roles)
    if not hasattr(principal, "email"):
        return None
    overridden = db.session.scalar(
        sa.select(UserAcl.id).where(UserAcl.user_id == principal.id, UserAcl.tenant_id == principal.tenant_id)
    )
    groups = sa.select(UserGroupMember.group_id).where(UserGroupMember.user_id == principal.id)
    parts = [GivenPermission.subject_user_id == principal.id, GivenPermission.subject_user_group_id.in_(groups)]
    if overridden is None:
        parts.append(GivenPermission.role_id.in_(sa.select(UserRole.role_id).where(UserRole.user_id == principal.id)))
    return sa.or_(*parts)


def applicable(principal) -> sa.Select:
    """``SELECT given_permissions`` reaching ``principal`` in its tenant."""
    where = subject_filter(principal)
    if where is None:
        return sa.select(GivenPermission).where(sa.false())
    return sa.select(GivenPermission).where(GivenPermission.tenant_id == principal.tenant_id, where)


_DECIDING = (
    GivenPermission.permission_name,
    GivenPermission.object_id,
    GivenPermission.object_kind,
    GivenPermission.can_do,
    GivenPermission.role_id,
    GivenPermission.subject_user_group_id,
)


def compute_object_grants(principal) -> ObjectGrants:
    return _decided(db.session.execute(applicable(principal).with_only_columns(*_DECIDING)).all())


def _shared_object_grants(tenant_id, role_ids: frozenset, group_ids: frozenset) -> ObjectGrants:
    """The object grants of anyone holding exactly ``role_ids`` and in exactly ``group_ids``
    with none given to them personally (``SessionPrincipal.group_set``)."""
    if not role_ids and not group_ids:
        return NO_OBJECT_GRANTS
    reaching = sa.or_(
        GivenPermission.role_id.in_(list(role_ids)), GivenPermission.subject_user_group_id.in_(list(group_ids))
    )
    stmt = sa.select(*_DECIDING).where(GivenPermission.tenant_id == tenant_id, reaching)
    return _decided(db.session.execute(stmt).all())


def _decided(rows) -> ObjectGrants:
    """Per feature and record, the grant of the most specific subject (user over group over
    role; a denial wins a tie)."""
    best: dict = defaultdict(dict)  # feature -> object -> (level, can_do, kind)
    for name, oid, kind, can_do, role_id, group_id in rows:
        level = _LEVEL["role" if role_id else "group" if group_id else "user"]
        seen = best[name].get(oid)
        if seen is None or level > seen[0] or (level == seen[0] and not can_do):
            best[name][oid] = (level, can_do, kind)
    return ObjectGrants({f: {oid: (c, k) for oid, (_, c, k) in objs.items()} for f, objs in best.items()})


def role_object_grants(role_id) -> ObjectGrants:
    """The object grants a role hands to whoever holds it."""
    rows = db.session.execute(
        sa.select(
            GivenPermission.permission_name,
            GivenPermission.object_id,
            GivenPermission.object_kind,
            GivenPermission.can_do,
        ).where(GivenPermission.role_id == role_id)
    ).all()
    decided: dict = defaultdict(dict)
    for name, oid, kind, can_do in rows:
        decided[name][oid] = (can_do and decided[name].get(oid, (True, kind))[0], kind)
    return ObjectGrants(dict(decided))


def reach_covers(actor_grants, actor_objects: ObjectGrants, target_grants, target_objects: ObjectGrants) -> bool:
    """Whether the actor reaches every record the target reaches, feature by feature: an actor
    denied record X cannot change (or hand out) a subject that may use X, nor one allowed
    records the actor is not."""
    if actor_grants.is_super_admin:
        return True
    for feature in set(actor_objects.decided) | set(target_objects.decided):
        mine = actor_objects.exceptions(feature, actor_grants.allows([feature]))
        theirs = target_objects.exceptions(feature, target_grants.is_super_admin or target_grants.allows([feature]))
        a, t = set(mine.ids), set(theirs.ids)
        if mine.can_do and (not a <= t if theirs.can_do else bool(a & t)):
            return False
        if not mine.can_do and (theirs.can_do or not t <= a):
            return False
    return True


# Valid while the tenant's acl_version is unchanged (every object grant and group membership
# change bumps it, like any other ACL change): per role and group set for a signed-in user
# with no grants of their own (``SessionPrincipal.group_set``: a floor of pickers computes
# them once per ACL change), else per (principal, tenant).
cache = VersionedCache()


def object_grants_for(principal) -> ObjectGrants:
    if principal is None or not getattr(principal, "is_authenticated", False) or getattr(principal, "is_hub", False):
        return NO_OBJECT_GRANTS
    version, tenant_id = principal.acl_version, principal.tenant_id
    role_set, group_set = getattr(principal, "role_set", None), getattr(principal, "group_set", None)
    if role_set is not None and group_set is not None:
        key = ("shared", tenant_id, role_set, group_set)
        return cache.get_or_build(key, version, lambda: _shared_object_grants(tenant_id, role_set, group_set))
    key = ("key" if getattr(principal, "is_api_key", False) else "user", principal.id, tenant_id)
    return cache.get_or_build(key, version, lambda: compute_object_grants(principal))


# --- enforcement ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Restriction:
    """What the object grants of a route's features leave visible: per feature, a deny list
    (feature held, these records excepted) or an allow list (not held, only these records),
    as ``(feature, allowed_only, kind, ids)`` rules."""

    rules: tuple[tuple[str, bool, str, frozenset], ...] = ()

    def clause_for(self, model) -> sa.ColumnElement | None:
        """The WHERE clause ``Scope.select(model)`` adds, or None when nothing restricts it.

        Each feature is its own condition (a route needing two features sees a record only
        when both allow it). An allow list whose kinds do not reach ``model`` leaves it alone:
        a picker allowed one list still reads shipping methods."""
        matchers = MATCHERS.get(model)
        if not matchers or not self.rules:
            return None
        clauses = []
        for feature in dict.fromkeys(r[0] for r in self.rules):
            rules = [(only, kind, ids) for f, only, kind, ids in self.rules if f == feature and kind in matchers]
            clauses += [sa.not_(matchers[kind](list(ids))) for only, kind, ids in rules if not only]
            allowed = [matchers[kind](list(ids)) for only, kind, ids in rules if only]
            if allowed:
                clauses.append(sa.or_(*allowed))
        return sa.and_(*clauses) if clauses else None


UNRESTRICTED = Restriction()


def restriction(grants, objects: ObjectGrants, features: Iterable[str]) -> Restriction:
    """The restriction of a route that needs ``features``, for a caller with ``grants`` (its
    ACL) and ``objects`` (its object grants). Super admins are never restricted."""
    if grants.is_super_admin or not objects.decided:
        return UNRESTRICTED
    key = (grants, tuple(features))
    found = objects.memo.get(key)
    if found is None:
        found = objects.memo[key] = _restriction(grants, objects, features)
    return found


def _restriction(grants, objects: ObjectGrants, features: Iterable[str]) -> Restriction:
    rules = []
    for feature in features:
        found = objects.exceptions(feature, grants.allows([feature]))
        for kind, ids in _ids_by_kind(found.objects).items():
            rules.append((feature, not found.can_do, kind, ids))
    return Restriction(tuple(rules)) if rules else UNRESTRICTED


def _ids_by_kind(objects) -> dict[str, frozenset]:
    by_kind: dict = defaultdict(set)
    for oid, kind in objects:
        by_kind[kind].add(oid)
    return {k: frozenset(v) for k, v in by_kind.items()}


# --- seed 002: the caller's own permissions -------------------------------------------------

_RECORD_IDS = uuid.UUID("6d1f3c1e-8f0a-4f7e-9b1a-2c9d0e5f7a31")  # uuid5 namespace of ACL-derived records


def _acl_record(name: str, tenant_codename, *, role_id=None, user_id=None) -> dict:
    """A feature grant of an ACL as a ``givenPermissions`` record (no object): its id is
    stable, derived from the ACL and the feature."""
    owner = f"role:{role_id}" if role_id else f"user:{user_id}"
    return {
        "id": uuid.uuid5(_RECORD_IDS, f"{owner}:{name}"),
        "permissionName": name,
        "roleId": role_id,
        "subjectUserId": user_id,
        "subjectUserGroupId": None,
        "objectId": None,
        "canDo": True,
        "tenantCodename": tenant_codename,
    }


def given_permissions(actor) -> list[dict]:
    """Every permission record reaching the caller (seed 002 ``GET /permissions``): the
    features of its role ACLs (or of its own ACL, which replaces them) and the object grants
    given to its roles, its groups and itself."""
    from models import ApiKeyRole, RoleAcl, Tenant

    principal = actor.principal
    tenant = db.session.get(Tenant, principal.tenant_id)
    codename = _codename(tenant.name) if tenant else None
    records: list[dict] = []
    user_acl = None
    if not getattr(principal, "is_api_key", False):
        user_acl = db.session.scalars(
            sa.select(UserAcl).where(UserAcl.user_id == principal.id, UserAcl.tenant_id == principal.tenant_id)
        ).first()
    if user_acl is not None:
        features = ["*"] if user_acl.is_super_admin else list(user_acl.features or [])
        records += [_acl_record(f, codename, user_id=principal.id) for f in features]
    else:
        holder = ApiKeyRole.api_key_id if getattr(principal, "is_api_key", False) else UserRole.user_id
        link = ApiKeyRole if getattr(principal, "is_api_key", False) else UserRole
        role_ids = sa.select(link.role_id).where(holder == principal.id)
        for acl in db.session.scalars(
            sa.select(RoleAcl).where(RoleAcl.role_id.in_(role_ids)).order_by(RoleAcl.role_id)
        ):
            features = ["*"] if acl.is_super_admin else list(acl.features or [])
            records += [_acl_record(f, codename, role_id=acl.role_id) for f in features]
    for grant in db.session.scalars(applicable(principal).order_by(GivenPermission.created_at, GivenPermission.id)):
        records.append(
            {
                "id": grant.id,
                "permissionName": grant.permission_name,
                "roleId": grant.role_id,
                "subjectUserId": grant.subject_user_id,
                "subjectUserGroupId": grant.subject_user_group_id,
                "objectId": grant.object_id,
                "canDo": grant.can_do,
                "tenantCodename": codename,
            }
        )
    return records


def _codename(name: str) -> str:
    """A tenant's name as a codename (``Acme Logistics`` → ``acme-logistics``)."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "tenant"


def check(actor, permission_name: str) -> Exceptions:
    """Seed 002 ``GET /permissions/{permissionName}``: whether the caller holds it, and the
    records excepted from that (denied though held, or the only ones allowed)."""
    if actor.grants.is_super_admin:
        return Exceptions(True, ())
    return actor.object_grants.exceptions(permission_name, actor.grants.allows([permission_name]))


def labels(tenant_id, objects: Iterable[tuple[uuid.UUID, str]]) -> dict[uuid.UUID, str]:
    """What people call each object ("Shipment S-1001"), for pages listing exceptions."""
    by_kind: dict = defaultdict(list)
    for oid, kind in objects:
        by_kind[kind].append(oid)
    found: dict = {}
    for kind, ids in by_kind.items():
        spec = KINDS[kind]
        rows = db.session.execute(
            sa.select(spec.model.id, spec.label[0]).where(spec.model.id.in_(ids), spec.model.tenant_id == tenant_id)
        )
        found.update({oid: f"{spec.title} {label}" for oid, label in rows})
    return found


def labels_any(tenant_id, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """``labels`` of objects whose kind is not known at hand (read from their grants)."""
    ids = list(ids)
    if not ids:
        return {}
    kinds = db.session.execute(
        sa.select(GivenPermission.object_id, GivenPermission.object_kind)
        .where(GivenPermission.object_id.in_(ids), GivenPermission.tenant_id == tenant_id)
        .distinct()
    ).all()
    return labels(tenant_id, kinds)
