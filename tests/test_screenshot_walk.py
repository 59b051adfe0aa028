"""Issue 16, acceptance: every page as a person meets it, at 360 px and 1366 px.

With the demo data (plus a list with picks, a packed and labelled parcel, a blocked one, a
file, a rule set) and signed in as the demo administrator, the walk opens every GET route of
the URL map that answers a whole HTML page — found by asking each route, not by a list kept
by hand — and at both widths checks what a person would notice first: the page answers 200
(or a redirect named below), the console stays clean, nothing is fetched from another host
or fails, and on the phone the page itself never scrolls sideways (a table may scroll inside
its own wrapper). Each page is saved as ``<endpoint>-<width>.png`` under ``$WHARF_SHOTS``
(default: a temporary directory; never the repository) to be looked at.

A route whose parameters the walk cannot fill must be named in ``SKIP`` with the reason, so
a new page cannot be left out silently.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa

from cli import DEMO_USERS
from models import (
    Attachment,
    BusinessRule,
    FeatureToggle,
    Location,
    Method,
    PasswordReset,
    Position,
    Product,
    Role,
    RuleExecutionLog,
    RuleSet,
    StoragePlan,
    Task,
    User,
    db,
    utcnow,
)
from schemas.feature_toggles import FeatureToggleCreate
from services import plans, roles, toggles, user_groups
from services.acl import SYSTEM
from services.password_reset import token_digest
from tests.support import BROWSER, api_token, bearer, browser_login, new_list, new_shipment, sign_in, upload, url_is
from web.contract import operation_of

pytestmark = pytest.mark.browser

DEMO_ADMIN, DEMO_PASSWORD = DEMO_USERS[0][0], DEMO_USERS[0][1]
PICKER = DEMO_USERS[1][0]
WIDTHS = {360: 740, 1366: 800}

# GET routes the walk does not open, and why (each must still exist: see the census test).
SKIP: dict[str, str] = {
    # GET /auth/logout only shows a Sign out button, so it is walked too
    "auth.object_grants_of": "needs one of roleId, subjectUserId, subjectUserGroupId (no single required "
    "field); the role, user and group pages, which are walked, show the same block",
    **{
        endpoint: "a file download (always Content-Disposition: attachment), not a page, of an object key in the "
        "S3 bucket the walk has none of; tests/test_storage_providers.py downloads one"
        for endpoint in ("storage_providers.download", "api_storage_providers.download")
    },
    "api_auth.session_refresh_page": "a redirect (seed 000: renews the sign-in, then goes to ?redirect= or the "
    "home page, which is walked); tests cover it",
    "api_auth.locale_redirect": "a redirect (seed 000: sets the language cookie, then goes to ?redirect= or the "
    "home page, which is walked); tests/test_locale.py covers it",
    "directory.organization_lookup": "a public JSON lookup by an organization's slug (the walk's shared 'slug' "
    "value is a file name); tests/test_directory.py covers it",
}

# Pages that answer another status on purpose, and why.
STATUS = {
    "lcs.list_labels_pdf": (409, "no parcel of the walk's list is labelled yet, and the page says so"),
}

# Pages that answer a redirect on purpose, and the path they end on.
REDIRECTS = {
    "dashboard.login_alias": "/",  # /login → /auth/login → home, when signed in
    "auth_pages.login_page": "/",  # signed in already: straight home
    "auth_pages.reset_link": "/auth/reset/new",  # the mailed link keeps the token and shows the form
    "auth.session_refresh_page": "/",  # the sign-in is extended, then on to the dashboard
    "auth.locale_redirect": "/",  # the language cookie is set (English: the walk's pages), then home
}

# Hosts that are this machine: Wharf works offline, a page fetches nothing from anywhere else.
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class Walk:
    """The values the walk fills routes with, and what it found."""

    values: dict[str, str]
    pages: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, url) answering whole pages
    others: dict[str, str] = field(default_factory=dict)  # endpoint → what it answers instead


def _first(model, *where, order=None):
    stmt = sa.select(model).where(*where).order_by(order if order is not None else model.created_at).limit(1)
    return db.session.scalars(stmt).first()


def _floor_work(client, h) -> dict:
    """Work on the demo floor: a list with some picks, a packed shipment with a labelled parcel,
    an over-weight parcel a rule blocked, a file on a shipment, a rule set and the print spooler's."""
    demo = client.get("/lcs/shipments", headers=h).get_json()
    method_id = demo[0]["method_id"]
    busy = [client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json() for s in demo[:3]]
    busy_list = new_list(client, h, *(s["id"] for s in busy))
    for unit in busy[0]["items"][:2]:
        r = client.post(f"/lcs/lists/{busy_list}/scan", json={"code": unit["id"]}, headers=h)
        assert r.status_code == 200, r.get_json()

    items = [{"sku": "MUG-BLUE", "quantity": 2, "description": "Enamel mug, blue"}, {"sku": "TEA-EARL", "quantity": 1}]
    packed = new_shipment(client, h, items, method_id=method_id)
    packed_list = new_list(client, h, packed["id"])
    for unit in packed["items"]:
        assert client.post(f"/lcs/lists/{packed_list}/scan", json={"code": unit["id"]}, headers=h).status_code == 200
    units = [u["id"] for u in packed["items"]]
    r = client.post("/lcs/parcels", json={"shipment_id": packed["id"], "weight": 900, "item_ids": units}, headers=h)
    assert r.status_code == 200, r.get_json()
    labelled = r.get_json()
    r = client.post(f"/lcs/parcels/{labelled['id']}/label", headers=h)
    assert r.status_code < 300, r.get_data(as_text=True)

    heavy = client.get(f"/lcs/shipments/{demo[4]['id']}", headers=h).get_json()
    units = [u["id"] for u in heavy["items"]]
    r = client.post("/lcs/parcels", json={"shipment_id": heavy["id"], "weight": 30000, "item_ids": units}, headers=h)
    assert r.status_code == 200, r.get_json()
    assert client.post(f"/lcs/parcels/{r.get_json()['id']}/label", headers=h).status_code == 422

    r = upload(client, h, record=packed["id"])
    assert r.status_code == 200, r.get_json()
    r = client.post("/business_rules/sets", json={"setId": "floor", "setName": "Floor checks"}, headers=h)
    assert r.status_code in (200, 201), r.get_json()
    editable = new_shipment(client, h, items, method_id=method_id)  # on no list yet: its edit page opens
    return {
        "list_id": busy_list,
        "shipment_id": packed["id"],
        "parcel_id": labelled["id"],
        "lcs.edit_shipment:shipment_id": editable["id"],
        **_print_work(client, h),
    }


def _print_work(client, h) -> dict:
    """The spooler's screens with something on them: an online hub with a log and its network,
    two printers, a pack station, and jobs printed, failed and waiting."""
    r = client.post("/api/spl/hubs", json={"name": "Dock 3 hub", "description": "Outbound, benches 1–4"}, headers=h)
    assert r.status_code == 200, r.get_json()
    hub = r.get_json()
    agent = bearer(hub["secret"])
    printers = []
    for name, encoding, connection in (
        ("Bench 1 Zebra", "zpl", {"interface": "network", "address": "192.168.1.50:9100"}),
        ("Office laser", "pdf", {"interface": "ipp", "address": "ipp://cups.local:631/printers/office-laser"}),
    ):
        body = {"name": name, "hub_id": hub["id"], "default_encoding": encoding, "connection": connection}
        r = client.post("/api/spl/printers", json=body, headers=h)
        assert r.status_code == 200, r.get_json()
        printers.append(r.get_json())
    zebra = printers[0]
    r = client.post(
        "/api/spl/stations", json={"name": "Bench 2", "code": "PACK-2", "printer_id": zebra["id"]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    devices = [
        {
            "description": "Ethernet",
            "mac_address": "b8:27:eb:12:34:56",
            "interface": {"interface": "eth0", "address": "192.168.1.20"},
        }
    ]
    assert client.put(f"/api/spl/hubs/{hub['id']}/network", json=devices, headers=agent).status_code == 200
    log = {"message": "Bench 1 Zebra refused the connection (192.168.1.50:9100)", "level": "public"}
    assert client.post(f"/api/spl/hubs/{hub['id']}/logs", json=log, headers=agent).status_code == 200
    for outcome in ({"status": "printed"}, {"status": "failed", "retryable": False, "error": "paper out"}, None):
        r = client.post(f"/api/spl/printers/{zebra['id']}/test", headers=h)
        assert r.status_code == 204, r.get_data(as_text=True)
        job_id = r.headers["x-job-id"]  # the last one stays waiting
        if outcome is not None:
            [job] = client.post(f"/api/spl/hubs/{hub['id']}/jobs", json={"wait": 0}, headers=agent).get_json()
            assert client.put(f"/api/spl/queue/{job['reference']}", json=outcome, headers=agent).status_code == 201
    return {
        "hub_id": hub["id"],
        "hub_uuid": hub["uuid"],
        "printer_id": zebra["id"],
        "reference": job_id,
        "kind": "zpl",
    }


def _toggle(kind: str) -> str:
    """A global toggle of ``kind`` (the check routes answer for their own kind only)."""
    default = {"string": "a", "number": 1, "json": {}}[kind]
    body = FeatureToggleCreate(identifier=f"walk.{kind}", name=f"Walk {kind}", type=kind, defaultValue=default)
    return toggles.create_toggle(SYSTEM, body).identifier


def _values(work: dict) -> dict[str, str]:
    """A value for every parameter name the routes use, from the demo data (call in an app
    context). The list with picks, the packed shipment and its labelled parcel are the ones
    shown, so the floor screens have content."""
    tenant_id = _first(User, User.email == DEMO_ADMIN).tenant_id
    plans.ensure_default(tenant_id)
    token = "walk-" + uuid.uuid4().hex
    picker = _first(User, User.email == PICKER)
    db.session.add(
        PasswordReset(
            user_id=picker.id,
            token_hash=token_digest(token),
            requested_ip="127.0.0.1",
            expires_at=utcnow() + timedelta(days=1),
        )
    )
    db.session.commit()
    location = _first(Location)
    attachment = _first(Attachment, Attachment.file_name == "photo.png")
    toggle = _first(FeatureToggle, order=FeatureToggle.identifier)
    staff = _first(Role, Role.tenant_id == tenant_id, Role.name == roles.WAREHOUSE_STAFF)
    group = user_groups.create_group(SYSTEM, "Walk group", tenant_id=tenant_id)
    values = {
        **work,
        "location_id": location.id,
        "code": _first(Position, Position.location_id == location.id, order=Position.code).code,
        "method_id": _first(Method).id,
        "product_id": _first(Product).id,
        "toggle_id": toggle.id,
        "task_id": _first(Task).id,
        "job_id": _first(Task).id,
        "attachment_id": attachment.id,
        "slug": attachment.file_name,
        "log_id": _first(RuleExecutionLog, order=RuleExecutionLog.id).id,
        "rule_id": _first(BusinessRule, BusinessRule.rule_id == "parcel-max-weight").id,
        "set_id": _first(RuleSet).id,
        "plan_id": _first(StoragePlan).id,
        "token": token,
        "permission_name": "lcs.shipments.read",
        # required query fields
        "roleId": staff.id,
        "userId": picker.id,
        "groupId": group.id,
        "permissionName": "lcs.shipments.read",
        "id": picker.id,
        "tenantId": tenant_id,
        "identifier": toggle.identifier,
        **{f"feature_toggles.check_{kind}:identifier": _toggle(kind) for kind in ("string", "number", "json")},
        "entityId": "lcs:shipment",
        "recordId": work["shipment_id"],
        "t": "ean",
        "v": "4006381333931",
        "locale": "en",
    }
    return {k: str(v) for k, v in values.items()}


def _get_rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint != "static" and "GET" in rule.methods:
            yield rule


def _required_query(view) -> list[str]:
    spec = operation_of(view)
    if spec is None or spec.query is None:
        return []
    return [name for name, f in spec.query.model_fields.items() if f.is_required()]


def _url(rule, view, values) -> str | None:
    """The rule filled from ``values`` (with its required query fields), or None if it cannot be.
    A value named ``<endpoint>:<name>`` is that endpoint's own."""
    names = list(rule.arguments) + _required_query(view)
    filled = {n: values.get(f"{rule.endpoint}:{n}", values.get(n)) for n in names}
    if None in filled.values():
        return None
    path = rule.build({n: filled[n] for n in rule.arguments}, append_unknown=False)[1]
    query = {n: filled[n] for n in _required_query(view)}
    return path + ("?" + urlencode(query) if query else "")


def _is_page(response) -> bool:
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    return body.lstrip()[:15].lower() == "<!doctype html>"


_ANSWERS: dict[str, str] = {}  # rule → what it answered, asked once per run (the PDFs take a while)


def census(app, client, values) -> tuple[Walk, list[str]]:
    """Ask every GET route (as a signed-in browser) what it answers; the ones answering a whole
    HTML page are the walk. Returns the walk and the routes that could not be filled."""
    walk, unfilled = Walk(values), []
    for rule in _get_rules(app):
        if rule.endpoint in SKIP:
            continue
        url = _url(rule, app.view_functions[rule.endpoint], values)
        if url is None:
            unfilled.append(rule.rule)
            continue
        if rule.rule not in _ANSWERS:
            r = client.get(url, headers=BROWSER, follow_redirects=True)
            _ANSWERS[rule.rule] = "page" if _is_page(r) else f"{r.status_code} {r.mimetype}"
        if _ANSWERS[rule.rule] == "page":
            walk.pages.append((rule.endpoint, url))
        else:
            walk.others[rule.endpoint] = _ANSWERS[rule.rule]
    return walk, unfilled


@pytest.fixture()
def demo_walk(app, client):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    work = _floor_work(client, bearer(api_token(client, DEMO_ADMIN, DEMO_PASSWORD)))
    with app.app_context():
        values = _values(work)
    browser_login(client, DEMO_ADMIN, DEMO_PASSWORD)
    walk, unfilled = census(app, client, values)
    return walk, unfilled


def _shots_dir(tmp_path_factory) -> Path:
    configured = os.environ.get("WHARF_SHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parent.parent
    assert repo not in path.resolve().parents and path.resolve() != repo, "screenshots never go into the repository"
    return path


class Watch:
    """What one page did that a person would notice: console errors, failed or foreign requests.
    The page's own status is checked by the walk (a documented 409 logs a console line too);
    a request cut off by the next navigation (``net::ERR_ABORTED``) is no failure."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.document = ""
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        page.on("request", self._request)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message):
        if message.type == "error" and message.location.get("url") != self.document:
            self.problems.append(f"console: {message.text} ({message.location.get('url')})")

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
            self.problems.append(f"off the machine: {request.url}")

    def _failed(self, request):
        if "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"failed: {request.url} {request.failure}")

    def _response(self, response):
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status}: {response.url}")

    def take(self) -> list[str]:
        found, self.problems = self.problems, []
        return found


# The outermost elements reaching past the right edge of the window: what makes a page scroll sideways.
WIDER_THAN_WINDOW = """() => {
  const edge = window.innerWidth + 1, found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const parent = el.parentElement;
    if (el.getBoundingClientRect().right > edge && parent.getBoundingClientRect().right <= edge) {
      found.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                 (el.className && el.className.baseVal === undefined ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                 ' in ' + parent.tagName.toLowerCase() + (parent.className ? '.' + parent.className : ''));
    }
  }
  return found.slice(0, 3).join('; ');
}"""


def _settle(page):
    """Wait until htmx has nothing in flight (pages load parts of themselves after load)."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def test_every_get_route_is_walked_or_skipped_with_a_reason(demo_walk, app):
    """A new page with a parameter the walk cannot fill fails here until SKIP names it."""
    walk, unfilled = demo_walk
    assert not unfilled, f"routes the walk cannot fill: name them in SKIP with the reason: {unfilled}"
    errors = {e: answer for e, answer in walk.others.items() if answer.startswith("5")}
    assert not errors, f"routes answering a browser with a server error: {errors}"
    endpoints = {r.endpoint for r in _get_rules(app)}
    assert not set(SKIP) - endpoints, "SKIP names endpoints that no longer exist"
    assert all(reason.strip() for reason in SKIP.values())
    walked = {e for e, _ in walk.pages}
    assert {"lcs.station", "lcs.pack_station", "lcs.handling_list", "dashboard.home"} <= walked, walk.others
    assert set(REDIRECTS) | set(STATUS) <= walked, "REDIRECTS or STATUS name routes that are no pages"


def test_every_page_at_360_and_1366(demo_walk, browser, live_server, tmp_path_factory):
    """Every page at the picker's phone and the administrator's desktop, one browser context
    (one sign-in) per width; every problem of every page is listed at the end, not only the first."""
    walk, _ = demo_walk
    shots = _shots_dir(tmp_path_factory)
    problems = []
    for width, height in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(live_server + "/auth/login")
        sign_in(page, live_server, DEMO_ADMIN, DEMO_PASSWORD)
        watch = Watch(page)
        for endpoint, url in walk.pages:
            watch.document = live_server + url
            answer = page.goto(live_server + url)
            _settle(page)
            found = watch.take()
            if endpoint in REDIRECTS:
                if not url_is(live_server, REDIRECTS[endpoint]).match(page.url.split("?")[0]):
                    found.append(f"ended on {page.url}, not {REDIRECTS[endpoint]}")
            elif answer.status != STATUS.get(endpoint, (200,))[0] or answer.request.redirected_from is not None:
                found.append(f"answered {answer.status} at {page.url}")
            if width < 600:
                sideways = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
                if sideways > 1:
                    found.append(f"the page scrolls sideways by {sideways}px: {page.evaluate(WIDER_THAN_WINDOW)}")
            page.screenshot(path=str(shots / f"{endpoint}-{width}.png"), full_page=True)
            problems += [f"{endpoint} @ {width}: {p}" for p in found]
        context.close()
    assert not problems, "\n".join(problems)


def test_a_builder_fragment_opened_as_a_page_is_the_fragment(app, client, admin):
    """Found by the walk: /business_rules/builder/condition (and group, action) opened in a
    browser rendered every fragment of their template with nothing to fill them: a 500."""
    browser_login(client, admin)
    for part, marker in (("condition", "cond-field"), ("group", "cond-field"), ("action", "<select")):
        r = client.get(f"/business_rules/builder/{part}", headers=BROWSER)
        assert r.status_code == 200, (part, r.status_code)
        assert marker in r.get_data(as_text=True) and "<!doctype" not in r.get_data(as_text=True).lower()


def test_a_button_in_a_read_only_form_looks_disabled(app, live_server, desktop_page):
    """Found by the walk, 1366 px: a tenant administrator reads a global toggle in a disabled
    fieldset, but its "Save toggle" button was drawn as a live blue button."""
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        toggle_id = _first(FeatureToggle, order=FeatureToggle.identifier).id
    desktop_page.goto(live_server + "/auth/login")
    sign_in(desktop_page, live_server, DEMO_ADMIN, DEMO_PASSWORD)
    desktop_page.goto(f"{live_server}/feature_toggles/global/{toggle_id}")
    save = desktop_page.locator("button", has_text="Save toggle")
    assert save.is_disabled()
    assert float(save.evaluate("b => getComputedStyle(b).opacity")) < 1


def test_shots_never_go_into_the_repository(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("WHARF_SHOTS", str(Path(__file__).resolve().parent / "shots"))
    with pytest.raises(AssertionError):
        _shots_dir(tmp_path_factory)
