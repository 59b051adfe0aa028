"""Directory (seed 000 /directory): tenants and the organization tree inside each tenant.

Rules kept here, not in the views:

* Only super admins create or delete tenants, or see tenants other than their own.
* Organizations live in one tenant. ``tree_path`` is the slash-joined chain of ancestor
  ids ending with the node's own id; re-parenting rewrites it for the whole subtree in
  the same transaction. An organization can never become its own ancestor.
* Organization visibility: an actor whose grants list organizations sees those
  organizations **and their descendants** (any id of the node's ``tree_path`` is
  granted); everything else is "not found".
* Every create/update/delete is a command (``services.commands``): one transaction that
  stages an audit row with before/after snapshots; a failed write leaves nothing behind.

Input arrives validated and typed (``schemas.directory``): ids are UUIDs, names and slugs
are clean text; what stays here is existence, scope, uniqueness and the tree rules.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from models import Organization, Scope, Tenant, User, db
from models.scope import get_visible
from services import accounts, auth, undo
from services.acl import Actor, bump_acl_version
from services.commands import Audited, audited, command, lock
from services.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed

SLUG_MAX = 120
TREE_PATH_MAX = 2000
UNSET = object()  # ``parent_id`` not sent (null moves the organization to the top level)
# Two requests raced past the same uniqueness check; the constraint caught it.
RACE = "Someone saved a conflicting change at the same time; please try again"


# --- slugs ---------------------------------------------------------------------------


def slugify(text: str) -> str:
    """``"Rotterdam DC (Nord)"`` → ``"rotterdam-dc-nord"``; never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[: SLUG_MAX - 8].strip("-") or "organization"


# --- public lookups (seed 000 /directory/*/lookup) ----------------------------------------
# Anyone may call them (sign-in and portal flows name a tenant or an organization before
# anyone is signed in), so they answer only a live record's id, name (and slug), and each IP
# gets LOOKUPS_PER_MINUTE of them, found or not: slugs cannot be enumerated.

LOOKUP_WINDOW_SECONDS = 60


@command()
def count_lookup(ip: str) -> None:
    """Refuse (429) an IP over its lookups per minute, else count this one — its own
    transaction, so a lookup that finds nothing counts too."""
    limit = current_app.config["DIRECTORY_LOOKUPS_PER_MINUTE"]
    message = "Too many lookups, try again later"
    auth.throttle("lookup", ip, limit=limit, window_seconds=LOOKUP_WINDOW_SECONDS, message=message)
    auth.record_attempt("lookup", ip, window_seconds=LOOKUP_WINDOW_SECONDS)


def _live_tenants() -> sa.Select:
    return sa.select(Tenant.id).where(Tenant.deleted_at.is_(None), Tenant.is_active.is_(True))


def lookup_tenant(tenant_id: uuid.UUID) -> Tenant:
    """A live, active tenant by id (404 otherwise, a deleted one too)."""
    found = db.session.scalar(sa.select(Tenant).where(Tenant.id.in_(_live_tenants()), Tenant.id == tenant_id))
    if found is None:
        raise NotFound("Tenant not found")
    return found


def lookup_organization(slug: str, tenant_id: uuid.UUID | None = None) -> Organization:
    """A live, active organization of a live tenant by slug (unique per tenant: ``tenant_id``
    picks one; without it the oldest, so the answer never changes from call to call)."""
    stmt = sa.select(Organization).where(
        Organization.slug == slug.lower(),
        Organization.deleted_at.is_(None),
        Organization.is_active.is_(True),
        Organization.tenant_id.in_(_live_tenants()),
    )
    if tenant_id is not None:
        stmt = stmt.where(Organization.tenant_id == tenant_id)
    found = db.session.scalar(stmt.order_by(Organization.created_at, Organization.id).limit(1))
    if found is None:
        raise NotFound("Organization not found")
    return found


# --- tenants ---------------------------------------------------------------------------


def visible_tenants(actor: Actor) -> sa.Select:
    """Live tenants the actor may see: all for super admins, else only its own."""
    stmt = sa.select(Tenant).where(Tenant.deleted_at.is_(None))
    if not actor.is_super_admin:
        stmt = stmt.where(Tenant.id == _own_tenant_id(actor))
    return stmt


def visible_tenants_list(actor: Actor) -> list[Tenant]:
    return list(db.session.scalars(visible_tenants(actor).order_by(Tenant.name)))


def _own_tenant_id(actor: Actor):
    return getattr(actor.principal, "tenant_id", None)


def get_tenant(actor: Actor, tenant_id: uuid.UUID) -> Tenant:
    return get_visible(visible_tenants(actor), Tenant, tenant_id)


TENANT_SORT_FIELDS = {
    "name": Tenant.name,
    "createdAt": Tenant.created_at,
    "updatedAt": Tenant.updated_at,
    "isActive": Tenant.is_active,
}
TENANT_SEARCH_COLUMNS = (Tenant.name,)


def tenants_select(actor: Actor, *, tenant_id: uuid.UUID | None = None, is_active: bool | None = None) -> sa.Select:
    """Visible tenants narrowed by the list filters ``id`` and ``isActive`` (paging,
    search and sorting are the pager's)."""
    stmt = visible_tenants(actor)
    if tenant_id is not None:
        stmt = stmt.where(Tenant.id == tenant_id)
    if is_active is not None:
        stmt = stmt.where(Tenant.is_active.is_(is_active))
    return stmt


def tenant_row(tenant: Tenant) -> dict:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "isActive": tenant.is_active,
        "createdAt": tenant.created_at,
        "updatedAt": tenant.updated_at,
    }


def tenant_snapshot(tenant: Tenant) -> dict:
    return {"id": tenant.id, "name": tenant.name, "isActive": tenant.is_active, "deletedAt": tenant.deleted_at}


TENANT = Audited("tenant", tenant_snapshot, "tenant", tenant=lambda t: t.id)


def _ensure_unique_tenant_name(actor: Actor, name: str, exclude_id=None) -> None:
    """409 when another live tenant has this name (case-insensitive) — for super admins only.

    A super admin sees every tenant, so the answer tells them nothing new and keeps their
    list unambiguous. A tenant admin sees only their own tenant: a 409 on a rename would
    confirm that some other tenant is called that (a cross-tenant oracle), so their renames
    are not checked and two tenants may share a name. Nothing relies on names being unique:
    the database has no constraint on them, tenants are told apart by id, and the CLI's
    ``--tenant NAME`` refuses a name that several tenants share."""
    if not actor.is_super_admin:
        return
    stmt = sa.select(Tenant.id).where(Tenant.deleted_at.is_(None), sa.func.lower(Tenant.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Tenant.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict("A tenant with this name already exists")


@command(RACE)
def create_tenant(actor: Actor, *, name: str, is_active: bool = True) -> Tenant:
    """A new tenant with its default roles. Super admins only."""
    if not actor.is_super_admin:
        raise Forbidden("Only super admins can create tenants")
    _ensure_unique_tenant_name(actor, name)
    tenant = accounts.create_tenant(name)
    with audited(actor, "create", TENANT, tenant):
        tenant.is_active = is_active
    return tenant


def _lock_tenant(actor: Actor, tenant_id: uuid.UUID) -> Tenant:
    """A visible tenant, its row locked until commit (another tenant is "not found")."""
    return lock(visible_tenants(actor), Tenant, tenant_id)


@command(RACE)
def update_tenant(
    actor: Actor, tenant_id: uuid.UUID, *, name: str | None = None, is_active: bool | None = None
) -> Tenant:
    """Rename or (super admins only) activate/deactivate a tenant; None keeps a value."""
    tenant = _lock_tenant(actor, tenant_id)
    if name is not None:
        _ensure_unique_tenant_name(actor, name, exclude_id=tenant.id)
    if is_active is not None:
        if is_active != tenant.is_active and not actor.is_super_admin:
            raise Forbidden("Only super admins can activate or deactivate tenants")
        if not is_active and tenant.id == _own_tenant_id(actor):
            raise BadRequest("You cannot deactivate your own tenant")
    with audited(actor, "edit", TENANT, tenant):
        if name is not None:
            tenant.name = name
        if is_active is not None:
            tenant.is_active = is_active
    return tenant


@command(RACE)
def delete_tenant(actor: Actor, tenant_id: uuid.UUID) -> None:
    """Soft delete. Super admins only, and never the tenant the actor itself belongs to."""
    tenant = _lock_tenant(actor, tenant_id)  # another tenant is "not found", not "forbidden"
    if not actor.is_super_admin:
        raise Forbidden("Only super admins can delete tenants")
    if tenant.id == _own_tenant_id(actor):
        raise BadRequest("You cannot delete your own tenant")
    with audited(actor, "delete", TENANT, tenant):
        tenant.soft_delete()


# --- organizations: visibility ---------------------------------------------------------


def path_ids(tree_path: str) -> list[str]:
    return [p for p in (tree_path or "").split("/") if p]


def path_visible(actor: Actor, tree_path: str) -> bool:
    """An organization is visible when it, or one of its ancestors, is granted."""
    granted = actor.grants.organizations
    if granted is None:
        return True
    return any(uuid.UUID(p) in granted for p in path_ids(tree_path))


def _visible_clause(actor: Actor):
    granted = actor.grants.organizations
    if granted is None:
        return sa.true()
    if not granted:
        return sa.false()
    # Ids are UUIDs, so "the path contains the id" means "the id is one of its segments".
    return sa.or_(*(Organization.tree_path.contains(str(g), autoescape=True) for g in sorted(granted, key=str)))


def visible_organizations(actor: Actor, *, include_deleted: bool = False) -> sa.Select:
    """Organizations in the actor's tenant (all tenants for super admins) and organization
    scope, in live tenants; soft-deleted ones only with ``include_deleted``."""
    stmt = (
        actor.scope.select(Organization, include_deleted=include_deleted)
        .join(Tenant, Tenant.id == Organization.tenant_id)
        .where(Tenant.deleted_at.is_(None), _visible_clause(actor))
    )
    return stmt


def get_organization(actor: Actor, organization_id: uuid.UUID) -> Organization:
    return get_visible(visible_organizations(actor), Organization, organization_id)


def org_snapshot(org: Organization) -> dict:
    return {
        "id": org.id,
        "tenantId": org.tenant_id,
        "name": org.name,
        "slug": org.slug,
        "parentId": org.parent_id,
        "treePath": org.tree_path,
        "isActive": org.is_active,
        "deletedAt": org.deleted_at,
    }


ORGANIZATION = Audited("organization", org_snapshot, "organization", organization=lambda o: o.id)


def _names_for(orgs) -> dict[str, str]:
    """Names of every organization on the paths of ``orgs`` (one query)."""
    ids = {uuid.UUID(p) for o in orgs for p in path_ids(o.tree_path)}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(ids)))
    return {str(i): n for i, n in rows}


def _item(o: Organization, names: dict[str, str]) -> dict:
    """The seed's fields of one organization (every list view has them)."""
    ids = path_ids(o.tree_path)
    return {
        "id": o.id,
        "name": o.name,
        "parentId": o.parent_id,
        "parentName": names.get(str(o.parent_id)) if o.parent_id else None,
        "tenantId": o.tenant_id,
        "tenantName": o.tenant.name if o.tenant else None,
        "rootId": ids[0] if ids else o.id,
        "treePath": o.tree_path,
        "depth": max(len(ids) - 1, 0),
        "isActive": o.is_active,
    }


def organization_rows(orgs: list[Organization]) -> list[dict]:
    """``view=manage`` items: also the slug, the readable path and the timestamps (parent,
    root and path names resolved in bulk)."""
    names = _names_for(orgs)
    return [
        {
            **_item(o, names),
            "slug": o.slug,
            "pathLabel": " / ".join(names.get(i, "?") for i in path_ids(o.tree_path)) or o.name,
            "createdAt": o.created_at,
            "updatedAt": o.updated_at,
        }
        for o in orgs
    ]


def option_rows(roots: list[TreeNode]) -> list[dict]:
    """``view=options`` items: the matches of a tree, in tree order."""
    orgs = [n.org for n, _ in flatten(roots) if n.matched]
    names = _names_for(orgs)
    return [_item(o, names) for o in orgs]


def tree_rows(roots: list[TreeNode]) -> list[dict]:
    """``view=tree`` items: nested ``children``."""
    names = _names_for([n.org for n, _ in flatten(roots)])

    def node(n: TreeNode) -> dict:
        return {**_item(n.org, names), "slug": n.org.slug, "children": [node(c) for c in n.children]}

    return [node(r) for r in roots]


# --- organizations: queries for the list views -------------------------------------------


@dataclass
class OrgFilter:
    tenant_id: uuid.UUID | None = None
    search: str = ""
    ids: list[uuid.UUID] | None = None
    status: str = "all"  # all | active | inactive

    def apply(self, stmt: sa.Select, *, search: bool = True) -> sa.Select:
        if self.tenant_id is not None:
            stmt = stmt.where(Organization.tenant_id == self.tenant_id)
        if self.ids is not None:
            stmt = stmt.where(Organization.id.in_(self.ids))
        if self.status != "all":
            stmt = stmt.where(Organization.is_active.is_(self.status == "active"))
        if search and self.search:
            needle = self.search.lower()
            stmt = stmt.where(
                sa.or_(
                    sa.func.lower(Organization.name).contains(needle, autoescape=True),
                    sa.func.lower(Organization.slug).contains(needle, autoescape=True),
                )
            )
        return stmt


SORT_FIELDS = {
    "name": Organization.name,
    "slug": Organization.slug,
    "treePath": Organization.tree_path,
    "createdAt": Organization.created_at,
    "updatedAt": Organization.updated_at,
}


def organizations_select(actor: Actor, flt: OrgFilter, *, search: bool = False) -> sa.Select:
    """Visible organizations narrowed by ``flt`` (search left to the pager unless asked)."""
    return flt.apply(visible_organizations(actor), search=search).options(selectinload(Organization.tenant))


@dataclass
class TreeNode:
    org: Organization
    depth: int
    matched: bool = True
    children: list[TreeNode] = field(default_factory=list)


def node_of(org: Organization) -> TreeNode:
    return TreeNode(org, max(len(path_ids(org.tree_path)) - 1, 0))


def organization_tree(actor: Actor, flt: OrgFilter) -> list[TreeNode]:
    """Roots (sorted by tenant, then name) with nested children sorted by name.

    With a search, ids or status filter the tree keeps the matches plus their visible
    ancestors, so every match is shown in its place (ancestors have ``matched=False``).
    """
    everything = list(
        db.session.scalars(
            OrgFilter(tenant_id=flt.tenant_id)
            .apply(visible_organizations(actor))
            .options(selectinload(Organization.tenant))
        )
    )
    by_id = {str(o.id): o for o in everything}
    filtered = flt.search or flt.ids is not None or flt.status != "all"
    if filtered:
        matches = {str(o.id) for o in db.session.scalars(flt.apply(visible_organizations(actor)))}
        keep = set(matches)
        for oid in matches:
            keep.update(p for p in path_ids(by_id[oid].tree_path) if p in by_id)
    else:
        matches = keep = set(by_id)
    nodes = {oid: TreeNode(by_id[oid], max(len(path_ids(by_id[oid].tree_path)) - 1, 0), oid in matches) for oid in keep}
    roots: list[TreeNode] = []
    for oid, node in nodes.items():
        parent = nodes.get(str(node.org.parent_id)) if node.org.parent_id else None
        (parent.children if parent else roots).append(node)

    def order(items: list[TreeNode]) -> None:
        items.sort(key=lambda n: (n.org.name.lower(), str(n.org.id)))
        for n in items:
            order(n.children)

    order(roots)
    roots.sort(key=lambda n: ((n.org.tenant.name.lower() if n.org.tenant else ""), n.org.name.lower()))
    return roots


def flatten(roots: list[TreeNode], level: int = 0) -> list[tuple[TreeNode, int]]:
    """Depth-first ``(node, display level)`` pairs for an indented list."""
    out = []
    for n in roots:
        out.append((n, level))
        out.extend(flatten(n.children, level + 1))
    return out


# --- organizations: writes -------------------------------------------------------------


def _invalid(path: str, message: str, summary: str) -> ValidationFailed:
    """A refused reference (a parent that cannot be one): 400 naming the field, as the seed's
    "Validation failed"."""
    return ValidationFailed(summary, details=[{"path": [path], "message": message}])


def _resolve_tenant(actor: Actor, wanted: uuid.UUID | None, parent: Organization | None) -> uuid.UUID:
    """The tenant of a new organization: the actor's own, or (super admins) the one
    named, or else the parent's."""
    own = _own_tenant_id(actor)
    if actor.is_super_admin:
        tenant_id = wanted or (parent.tenant_id if parent else own)
    else:
        if wanted is not None and wanted != own:
            raise NotFound("Tenant not found")
        tenant_id = own
    if tenant_id is None:
        raise _invalid("tenantId", "is required", "tenantId is required")
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or tenant.deleted_at is not None:
        raise NotFound("Tenant not found")
    return tenant_id


def _parent(actor: Actor, parent_id: uuid.UUID | None, tenant_id=None) -> Organization | None:
    if parent_id is None:
        return None
    parent = db.session.scalars(visible_organizations(actor).where(Organization.id == parent_id)).first()
    if parent is None or (tenant_id is not None and parent.tenant_id != tenant_id):
        raise _invalid("parentId", "must be an organization of the same tenant", "Parent organization not found")
    return parent


def _slug_taken(tenant_id, slug: str, exclude_id=None) -> Organization | None:
    # Soft-deleted organizations keep their slug (the unique constraint still sees them).
    stmt = sa.select(Organization).where(Organization.tenant_id == tenant_id, Organization.slug == slug)
    if exclude_id is not None:
        stmt = stmt.where(Organization.id != exclude_id)
    return db.session.scalars(stmt).first()


def _check_slug_free(tenant_id, slug: str, exclude_id=None) -> None:
    taken = _slug_taken(tenant_id, slug, exclude_id)
    if taken is not None:
        why = " by a deleted organization" if taken.deleted_at is not None else ""
        raise Conflict(
            f"The slug '{slug}' is already used{why} in this tenant",
            details=[{"path": ["slug"], "message": "is already used in this tenant"}],
        )


def _generated_slug(tenant_id, name: str, exclude_id=None) -> str:
    base = slugify(name)
    slug, n = base, 2
    while _slug_taken(tenant_id, slug, exclude_id) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_path_length(path: str) -> None:
    if len(path) > TREE_PATH_MAX:
        raise BadRequest("The organization tree would be too deep")


@command(RACE)
def create_organization(
    actor: Actor,
    *,
    name: str,
    slug: str | None = None,
    parent_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    is_active: bool = True,
) -> Organization:
    """A node of a tenant's tree. Without a slug one is generated from the name (made
    unique); an explicit slug already used in the tenant is a 409."""
    parent = _parent(actor, parent_id)
    tenant = _resolve_tenant(actor, tenant_id, parent)
    if parent is not None and parent.tenant_id != tenant:
        raise _invalid("parentId", "must be an organization of the same tenant", "Parent organization not found")
    if parent is None and actor.grants.organizations is not None:
        raise Forbidden("Your access is limited to some organizations: choose one of them as the parent")
    if slug is None:
        slug = _generated_slug(tenant, name)
    else:
        _check_slug_free(tenant, slug)
    if parent is not None:
        _check_path_length(f"{parent.tree_path}/{uuid.uuid4()}")
    org = accounts.create_organization(Scope(tenant), name, slug, parent)
    with audited(actor, "create", ORGANIZATION, org):
        org.is_active = is_active
    bump_acl_version(org.tenant_id)  # a new child joins its ancestors' subtrees (cached per ACL version)
    return org


def _move(org: Organization, parent: Organization | None) -> int:
    """Put ``org`` under ``parent`` (None = root), rewriting the subtree's paths.
    Refuses cycles. Returns how many descendants were rewritten."""
    if parent is not None:
        if parent.id == org.id:
            raise _invalid("parentId", "cannot be the organization itself", "An organization cannot be its own parent")
        if parent.tree_path.startswith(org.tree_path + "/"):
            raise _invalid(
                "parentId",
                "cannot be one of the organization's descendants",
                "An organization cannot be moved under its own descendant",
            )
    old = org.tree_path
    new = f"{parent.tree_path}/{org.id}" if parent is not None else str(org.id)
    org.parent_id = parent.id if parent is not None else None
    if new == old:
        return 0
    # Every descendant, deleted ones included, so the paths stay right if one is restored.
    subtree = list(
        db.session.scalars(
            sa.select(Organization).where(
                Organization.tenant_id == org.tenant_id, Organization.tree_path.startswith(old + "/", autoescape=True)
            )
        )
    )
    for d in subtree:
        d.tree_path = new + d.tree_path[len(old) :]
        _check_path_length(d.tree_path)
    _check_path_length(new)
    org.tree_path = new
    return len(subtree)


@command(RACE)
def update_organization(
    actor: Actor,
    organization_id: uuid.UUID,
    *,
    name: str | None = None,
    slug: str | None = None,
    parent_id=UNSET,
    is_active: bool | None = None,
) -> Organization:
    """Rename, change slug, activate/deactivate (None keeps a value) or re-parent
    (``parent_id=None`` = root, ``UNSET`` = stay)."""
    org = _lock_organization(actor, organization_id)
    with audited(actor, "edit", ORGANIZATION, org):
        if name is not None:
            org.name = name
        if slug is not None:
            _check_slug_free(org.tenant_id, slug, exclude_id=org.id)
            org.slug = slug
        if is_active is not None:
            org.is_active = is_active
        if parent_id is not UNSET:
            parent = _parent(actor, parent_id, org.tenant_id)
            _move(org, parent)
            if not path_visible(actor, org.tree_path):
                raise Forbidden("Your access is limited to some organizations: the organization would move out of them")
    bump_acl_version(org.tenant_id)  # a move changes which subtrees organization grants cover
    return org


def _lock_organization(actor: Actor, organization_id: uuid.UUID) -> Organization:
    """A visible organization, its row locked until commit."""
    get_organization(actor, organization_id)
    return lock(actor.scope, Organization, organization_id)


@command(RACE)
def delete_organization(actor: Actor, organization_id: uuid.UUID) -> None:
    """Soft delete; refused while the organization has live children or is the home
    organization of live users (they would belong to an organization nobody can see)."""
    org = _lock_organization(actor, organization_id)
    children = db.session.scalar(
        sa.select(sa.func.count(Organization.id)).where(
            Organization.parent_id == org.id, Organization.deleted_at.is_(None)
        )
    )
    if children:
        raise BadRequest("Organization cannot be deleted while it has child organizations; move or delete them first")
    members = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.organization_id == org.id, User.deleted_at.is_(None))
    )
    if members:
        raise BadRequest(
            f"Organization cannot be deleted while {members} user{'s' if members != 1 else ''} "
            "belong to it; move them to another organization first"
        )
    with audited(actor, "delete", ORGANIZATION, org):
        org.soft_delete()
    bump_acl_version(org.tenant_id)


# --- organization switcher ---------------------------------------------------------------


def organization_switcher(actor: Actor, *, tenant_id: uuid.UUID | None = None, can_manage: bool = False) -> dict:
    """The menu of organizations the actor may switch to in its tenant (super admins may
    ask for another): granted organizations and their descendants are selectable, their
    ancestors are shown (not selectable) so the tree keeps its shape."""
    own = _own_tenant_id(actor)
    if tenant_id is not None and tenant_id != own and not actor.is_super_admin:
        raise NotFound("Tenant not found")
    active_tenant = tenant_id or own
    orgs = (
        list(
            db.session.scalars(
                sa.select(Organization)
                .where(Organization.tenant_id == active_tenant, Organization.deleted_at.is_(None))
                .order_by(Organization.name)
            )
        )
        if active_tenant
        else []
    )
    by_id = {str(o.id): o for o in orgs}
    selectable = {oid for oid, o in by_id.items() if path_visible(actor, o.tree_path)}
    shown = set(selectable)
    for oid in selectable:
        shown.update(p for p in path_ids(by_id[oid].tree_path) if p in by_id)
    nodes = {
        oid: {
            "id": by_id[oid].id,
            "name": by_id[oid].name,
            "depth": max(len(path_ids(by_id[oid].tree_path)) - 1, 0),
            "selectable": oid in selectable,
            "children": [],
        }
        for oid in shown
    }
    roots = []
    for o in orgs:  # already by name, so children come out sorted too
        oid = str(o.id)
        if oid not in nodes:
            continue
        parent = nodes.get(str(o.parent_id)) if o.parent_id else None
        (parent["children"] if parent else roots).append(nodes[oid])
    from services import organization_scope

    selected = organization_scope.selected_id(actor.principal, actor.grants)
    tenants = visible_tenants_list(actor)
    return {
        "items": roots,
        "selectedId": selected,
        "canManage": can_manage,
        "canViewAllOrganizations": organization_scope.may_view_all(actor.grants),
        "tenantId": active_tenant,
        "tenants": [{"id": t.id, "name": t.name, "isActive": t.is_active} for t in tenants],
        "isSuperAdmin": actor.is_super_admin,
    }


def organization_options(actor: Actor, tenant_id=None) -> list[tuple[Organization, int]]:
    """Visible organizations in tree order, for parent pickers."""
    return [(n.org, lvl) for n, lvl in flatten(organization_tree(actor, OrgFilter(tenant_id=tenant_id)))]


@command(RACE)
def restore_organization(actor: Actor, organization_id: uuid.UUID) -> Organization:
    """Bring a deleted organization back (an undone delete) where it was: its parent must
    be live and its slug still free."""
    org = db.session.scalars(
        visible_organizations(actor, include_deleted=True).where(Organization.id == organization_id)
    ).first()
    if org is None:
        raise NotFound("Organization not found")
    if (
        org.parent_id is not None
        and db.session.scalars(visible_organizations(actor).where(Organization.id == org.parent_id)).first() is None
    ):
        raise BadRequest("The parent organization is gone; restore it first")
    _check_slug_free(org.tenant_id, org.slug, exclude_id=org.id)
    with audited(actor, "edit", ORGANIZATION, org, label=f"Restore organization {org.name}"):
        org.deleted_at = None
    bump_acl_version(org.tenant_id)
    return org


# --- undo (services.undo): organizations come back through the commands above ------------


def _load_organization(actor: Actor, organization_id: str, _tenant=None) -> Organization | None:
    return db.session.scalars(
        visible_organizations(actor, include_deleted=True).where(Organization.id == uuid.UUID(organization_id))
    ).first()


def _restore_organization(actor: Actor, org: Organization, snap: dict) -> None:
    parent = uuid.UUID(snap["parentId"]) if snap["parentId"] else None
    update_organization(
        actor,
        org.id,
        name=snap["name"],
        slug=snap["slug"],
        parent_id=parent if parent != org.parent_id else UNSET,
        is_active=snap["isActive"],
    )


undo.register(
    undo.Restorer(
        ORGANIZATION,
        _load_organization,
        features=("directory.organizations.manage",),
        update=_restore_organization,
        remove=lambda actor, org: delete_organization(actor, org.id),
        restore=lambda actor, org: restore_organization(actor, org.id),
    )
)
