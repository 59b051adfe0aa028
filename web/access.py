"""Feature registry and the access decorator — the only place access is decided.

Every view carries an ``Access`` record (``@requires(...)`` or ``@public``); the URL-map
test fails on any endpoint without one, and the OpenAPI generator and navigation read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps

from flask_login import current_user

from services import acl
from services.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Feature:
    id: str
    title: str
    module: str


@dataclass(frozen=True)
class Module:
    id: str
    title: str


@dataclass(frozen=True)
class NavItem:
    """A link in the navigation. The features it needs are not declared here: they are the
    ``@requires`` of its endpoint (``nav_features``), so a link shows exactly when its page opens."""

    title: str
    endpoint: str
    group: str
    order: int = 100


# The navigation's areas, each a menu of its own (in this order), between the plain links of
# "Main" (the dashboard) before them and "Account" (the profile) after them.
def area(name: str) -> str:
    """Marks an area's name for the translation catalog (``pybabel extract -k area``):
    base.html translates the menu's title when it shows it."""
    return name


AREAS = (area("Floor"), area("Catalogue"), area("Administration"))
NAV_GROUPS = ("Main", *AREAS, "Account")


@dataclass
class FeatureRegistry:
    modules: dict[str, Module] = field(default_factory=dict)
    features: dict[str, Feature] = field(default_factory=dict)
    nav: list[NavItem] = field(default_factory=list)

    def declare(self, module_id: str, title: str, features: list[tuple[str, str]]) -> Module:
        """Called once by each blueprint package: its module and ``(id, title)`` features."""
        module = Module(module_id, title)
        self.modules[module_id] = module
        for fid, ftitle in features:
            if fid in self.features and self.features[fid].module != module_id:
                raise ValueError(f"feature {fid} declared by two modules")
            self.features[fid] = Feature(fid, ftitle, module_id)
        acl.register_features(fid for fid, _ in features)
        return module

    def add_nav(self, title: str, endpoint: str, *, group: str = "Main", order: int = 100) -> None:
        self.nav.append(NavItem(title, endpoint, group, order))

    def check_nav(self, app) -> None:
        """Fail at start-up on a link whose endpoint is unknown or declares no ``@requires``,
        or whose group is not one of ``NAV_GROUPS`` (a typo would hide it from every menu)."""
        for item in self.nav:
            if item.group not in NAV_GROUPS:
                raise ValueError(f"navigation link {item.title!r}: unknown group {item.group!r} (one of {NAV_GROUPS})")
            nav_features(app, item.endpoint)

    def nav_for(self, user) -> list[NavItem]:
        """The navigation entries ``user`` may open (same evaluation as the routes)."""
        if not getattr(user, "is_authenticated", False):
            return []
        from flask import current_app

        items = [n for n in self.nav if acl.has_features(user, nav_features(current_app, n.endpoint))]
        return sorted(items, key=lambda n: (n.order, n.title))

    def nav_areas(self, user) -> list[tuple[str, list[NavItem], bool]]:
        """``(group, links, is_menu)`` of ``nav_for(user)`` in ``NAV_GROUPS`` order (areas are
        menus, "Main" and "Account" plain links); a group with no link the user may open is
        left out, so a staff user sees no Administration menu."""
        items = self.nav_for(user)
        areas = [(g, [n for n in items if n.group == g], g in AREAS) for g in NAV_GROUPS]
        return [area for area in areas if area[1]]


def nav_features(app, endpoint: str) -> tuple[str, ...]:
    """The features a link to ``endpoint`` needs: those of its ``@requires``. An endpoint
    that is unknown, public or undeclared cannot be a navigation link (LookupError)."""
    view = app.view_functions.get(endpoint)
    access = access_of(view) if view is not None else None
    if access is None or access.public:
        raise LookupError(f"navigation link to {endpoint!r}: the endpoint has no @requires")
    return access.features


registry = FeatureRegistry()


@dataclass(frozen=True)
class Access:
    features: tuple[str, ...]
    public: bool
    super_admin: bool = False


def refusal_for_people(features: list[str]) -> str:
    """The 403 a person reads: which page (its navigation title, else the features' titles),
    which features it needs, and whom to ask — JSON clients keep "Missing required features"."""
    from flask import request

    page = next((n.title for n in registry.nav if n.endpoint == request.endpoint), None)
    named = [f"{registry.features[f].title} ({f})" if f in registry.features else f for f in features]
    what = f"the {page} page" if page else "this page"
    return (
        f"You cannot open {what}: it needs the feature {' and '.join(named)}, which none of your roles grants. "
        "Ask a tenant administrator to add it to one of your roles."
    )


def requires(*features: str, super_admin: bool = False):
    """Signed-in users holding **all** ``features`` may call the view (none = any signed-in
    user); ``super_admin=True`` additionally limits it to super admins (e.g. creating tenants)."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthorized()
            if features and not current_actor().allows(features):
                raise Forbidden("Missing required features", requiredFeatures=list(features))
            if super_admin and not current_actor().is_super_admin:
                raise Forbidden("Only super admins may do this")
            return view(*args, **kwargs)

        guarded._access = Access(tuple(features), public=False, super_admin=super_admin)
        return guarded

    return decorate


def public(view):
    """Explicit marker: anyone, signed in or not, may call the view."""
    view._access = Access((), public=True)
    return view


def page_only(view):
    """The view always renders HTML, even under /api/ (the offline docs page)."""
    view._page_only = True
    return view


def current_actor() -> acl.Actor:
    """The signed-in principal with its grants and scope, computed once per request."""
    from flask import g

    if "actor" not in g:
        from flask import current_app, request

        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        access = access_of(view) if view is not None else None
        g.actor = acl.Actor.of(current_user._get_current_object(), access.features if access else ())
    return g.actor


def access_of(view) -> Access | None:
    return getattr(view, "_access", None)
