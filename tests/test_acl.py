"""The evaluation function and grant boundaries, without HTTP."""

import uuid

import pytest

from models import db
from services import roles, users
from services.acl import EVERYTHING, NOTHING, Actor, Grants, compute_grants, grant_matches, grants_for, sanitize_grant
from services.errors import Forbidden, NotFound
from tests.support import SYSTEM, new_organization, new_tenant, new_user


@pytest.mark.parametrize(
    "grant, required, expected",
    [
        ("*", "auth.roles.list", True),
        ("auth.roles.list", "auth.roles.list", True),
        ("auth.*", "auth.roles.list", True),
        ("auth.roles.*", "auth.roles.list", True),  # nested wildcard
        ("auth.roles.*", "auth.users.list", False),
        ("auth.roles.*", "auth.roles", False),
        ("lcs.*", "lcsx.view", False),  # prefix is dotted, not textual
        ("auth.roles.list", "auth.roles.manage", False),
    ],
)
def test_grant_matches(grant, required, expected):
    assert grant_matches(grant, required) is expected


def test_all_declared_features_are_required():
    g = Grants(False, frozenset({"auth.roles.list"}), None)
    assert g.allows(["auth.roles.list"]) and not g.allows(["auth.roles.list", "auth.roles.manage"])
    assert EVERYTHING.allows(["anything.at.all"]) and not NOTHING.allows(["x.y"])


@pytest.fixture()
def tenant_setup(ctx):
    t = new_tenant("T")
    default = roles.seed_default_roles(t.id)
    clerk = roles.create_role(SYSTEM, "Clerk", tenant_id=t.id)
    roles.update_role_acl(SYSTEM, clerk.id, features=["auth.users.list"], is_super_admin=False, organizations=None)
    picker = roles.create_role(SYSTEM, "Picker", tenant_id=t.id)
    hq = new_organization(t.id, "HQ", "hq")
    roles.update_role_acl(
        SYSTEM, picker.id, features=["lcs.handling.*"], is_super_admin=False, organizations=[str(hq.id)]
    )
    return t, default, clerk, picker, hq


def _user(t, email, role_ids=()):
    return new_user(t.id, email, role_ids=role_ids)


def test_union_of_roles_and_organizations(tenant_setup):
    t, _, clerk, picker, hq = tenant_setup
    u = _user(t, "both@t.test", [clerk.id, picker.id])
    g = compute_grants(u)
    assert g.allows(["auth.users.list"]) and g.allows(["lcs.handling.read"]) and not g.allows(["auth.roles.list"])
    assert g.organizations is None  # Clerk has every organization
    only_picker = compute_grants(_user(t, "p@t.test", [picker.id]))
    assert only_picker.organizations == frozenset({hq.id})


def test_user_acl_replaces_roles(tenant_setup):
    t, _, clerk, _, _ = tenant_setup
    u = _user(t, "o@t.test", [clerk.id])
    users.update_user_acl(SYSTEM, u.id, features=["auth.roles.list"], is_super_admin=False, organizations=None)
    g = grants_for(u)
    assert g.allows(["auth.roles.list"]) and not g.allows(["auth.users.list"])
    users.update_user_acl(SYSTEM, u.id, features=[], is_super_admin=False, organizations=None)  # remove override
    assert grants_for(db.session.get(type(u), u.id)).allows(["auth.users.list"])


def test_super_admin_from_any_role(tenant_setup):
    t, _, clerk, _, _ = tenant_setup
    boss = roles.create_role(SYSTEM, "Boss", tenant_id=t.id)
    roles.update_role_acl(SYSTEM, boss.id, features=[], is_super_admin=True, organizations=None)
    u = _user(t, "b@t.test", [clerk.id, boss.id])
    assert compute_grants(u) == EVERYTHING


def test_cached_grants_follow_every_change_and_match_a_fresh_computation(tenant_setup):
    """Whatever the cache keeps, a read after a role or override change answers what
    computing the grants afresh answers."""
    t, _, clerk, picker, _ = tenant_setup
    u = _user(t, "c@t.test", [clerk.id, picker.id])

    def read():
        db.session.expire_all()
        fresh = db.session.get(type(u), u.id)
        return grants_for(fresh), compute_grants(fresh)

    cached, computed = read()
    assert cached == computed and cached.allows(["auth.users.list"])
    assert read()[0] == computed  # read again (from the cache, if any)
    roles.update_role_acl(SYSTEM, clerk.id, features=[], is_super_admin=False, organizations=None)
    cached, computed = read()
    assert cached == computed and not cached.allows(["auth.users.list"]) and cached.allows(["lcs.handling.read"])
    users.update_user_acl(SYSTEM, u.id, features=["auth.roles.list"], is_super_admin=False, organizations=None)
    cached, computed = read()
    assert cached == computed and cached.allows(["auth.roles.list"]) and not cached.allows(["lcs.handling.read"])


class TestBoundaries:
    actor = Grants(False, frozenset({"auth.users.*", "lcs.lists.view"}), frozenset({uuid.UUID(int=1)}))

    def test_strips_super_admin_star_and_unheld(self):
        out = sanitize_grant(
            self.actor,
            ["*", "auth.users.list", "auth.roles.manage", "auth.*", "lcs.lists.view"],
            True,
            [str(uuid.UUID(int=1))],
        )
        assert out.features == ["auth.users.list", "lcs.lists.view"]
        assert out.is_super_admin is False and out.sanitized is True

    def test_nested_wildcard_within_held_wildcard_is_allowed(self):
        out = sanitize_grant(self.actor, ["auth.users.*"], False, [str(uuid.UUID(int=1))])
        assert out.features == ["auth.users.*"] and out.sanitized is False

    def test_organizations_cannot_widen(self):
        assert sanitize_grant(self.actor, [], False, None).organizations == [str(uuid.UUID(int=1))]
        out = sanitize_grant(self.actor, [], False, [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))])
        assert out.organizations == [str(uuid.UUID(int=1))] and out.sanitized

    def test_super_admin_may_grant_anything(self):
        out = sanitize_grant(EVERYTHING, ["*"], True, None)
        assert out == type(out)(["*"], True, None, False)


def test_tenant_admin_cannot_see_or_edit_super_admins(tenant_setup):
    t, default, _, _, _ = tenant_setup
    admin = _user(t, "adm@t.test", [default[roles.ADMINISTRATOR].id])
    root = new_user(t.id, "root@t.test", super_admin=True)
    actor = Actor.of(admin)
    assert root.id not in [u.id for u in db.session.scalars(users.visible_users(actor))]
    with pytest.raises(NotFound):
        users.update_user(actor, root.id, name="pwned")


def test_cannot_assign_role_wider_than_self(tenant_setup):
    t, _, clerk, picker, _ = tenant_setup
    clerk_user = _user(t, "clerk@t.test", [clerk.id])
    users.update_user_acl(SYSTEM, clerk_user.id, features=["auth.users.*"], is_super_admin=False, organizations=None)
    target = _user(t, "target@t.test")
    with pytest.raises(Forbidden):
        users.update_user(
            Actor.of(db.session.get(type(clerk_user), clerk_user.id)), target.id, role_ids=[str(picker.id)]
        )


def test_signed_in_users_of_the_same_roles_share_one_computation(tenant_setup):
    """The session check reads the caller's roles, so the grants are cached per role set: a
    floor of pickers holding one role costs one computation per ACL change, not one per
    picker. A role more, or an ACL of one's own, is another entry — read with the very next
    request, whatever the cache holds."""
    from services import acl, auth

    t, _, clerk, picker, _ = tenant_setup
    a, b = _user(t, "a@t.test", [picker.id]), _user(t, "b@t.test", [picker.id])

    def principal(u):
        signed_in = auth.start_session(u, kind="api", ip=None, user_agent=None)
        db.session.expire_all()
        return auth.live_principal(signed_in.session.id)

    pa, pb = principal(a), principal(b)
    assert pa.role_set == pb.role_set == frozenset({picker.id})
    before = acl.cache.loads
    assert grants_for(pa) == grants_for(pb) == compute_grants(a)
    assert acl.cache.loads == before + 1  # computed once, for both
    users.update_user(SYSTEM, b.id, role_ids=[picker.id, clerk.id])
    pb = principal(b)
    assert grants_for(pb) == compute_grants(b) and grants_for(pb).allows(["auth.users.list"])
    assert not grants_for(principal(a)).allows(["auth.users.list"])
    users.update_user_acl(SYSTEM, a.id, features=["auth.roles.list"], is_super_admin=False, organizations=None)
    pa = principal(a)
    assert pa.role_set is None and grants_for(pa) == compute_grants(a)
    assert grants_for(pa).allows(["auth.roles.list"]) and not grants_for(pa).allows(["lcs.handling.read"])


def test_object_grants_are_shared_by_role_and_group_set_unless_given_personally(tenant_setup):
    """Object grants, like features, are cached per (roles, groups) for users with none of
    their own — and each caller still gets exactly what computing theirs afresh gives."""
    from models import GivenPermission, UserGroup, UserGroupMember
    from services import auth, object_permissions
    from services.acl import bump_acl_version

    t, _, _, picker, _ = tenant_setup
    a, a2, b, c = (_user(t, f"{n}@t.test", [picker.id]) for n in ("a", "a2", "b", "c"))
    group = UserGroup(tenant_id=t.id, name="Night shift")
    db.session.add(group)
    db.session.flush()
    db.session.add(UserGroupMember(tenant_id=t.id, group_id=group.id, user_id=b.id))
    x, y, z = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for subject, key, obj, can in (
        ({"role_id": picker.id}, f"role:{picker.id}", x, False),
        ({"subject_user_group_id": group.id}, f"group:{group.id}", y, True),
        ({"subject_user_id": c.id}, f"user:{c.id}", z, True),
    ):
        db.session.add(
            GivenPermission(
                tenant_id=t.id,
                permission_name="lcs.handling.read",
                subject_key=key,
                object_id=obj,
                object_kind="handling_list",
                can_do=can,
                **subject,
            )
        )
    bump_acl_version(t.id)
    db.session.commit()

    def principal(u):
        signed_in = auth.start_session(u, kind="api", ip=None, user_agent=None)
        db.session.expire_all()
        return auth.live_principal(signed_in.session.id)

    pa, pa2, pb, pc = (principal(u) for u in (a, a2, b, c))
    assert pa.group_set == frozenset() and pb.group_set == frozenset({group.id}) and pc.group_set is None
    before = object_permissions.cache.loads
    for p, u in ((pa, a), (pa2, a2), (pb, b), (pc, c)):
        assert object_permissions.object_grants_for(p) == object_permissions.compute_object_grants(u)
    assert object_permissions.cache.loads == before + 3  # a and a2 share one; b (a group) and c (their own) not
    seen = {name: object_permissions.object_grants_for(p) for name, p in (("a", pa), ("b", pb), ("c", pc))}
    assert seen["a"] != seen["b"] != seen["c"] != seen["a"]
