"""Scanning on every device: GS1 DataMatrix / QR symbology prefixes through the scan API,
sorting into totes (lcs.scan.confirm_tote) and the user's own scan-feedback switch."""

import uuid
from datetime import date

import pytest

from models import ScanEvent, ShipmentItem, db
from services import roles as roles_svc
from services.logistics import codes
from tests.support import BROWSER, api_token, bearer, browser_login, new_list, new_shipment, override, scan


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def picker_h(client, make, tenant):
    make.member(tenant, "pick@acme.test", roles_svc.WAREHOUSE_STAFF)
    return bearer(api_token(client, "pick@acme.test"))


# --- GS1 symbology prefixes ------------------------------------------------------------------------


def test_datamatrix_and_qr_prefixes_parse():
    body = "0104006381333931" + "10LOT-9" + codes.GS + "17270131"
    for prefix in ("]d2", "]Q3", "]C1"):
        s = codes.parse(prefix + body)
        assert (s.gtin, s.lot, s.expires) == ("04006381333931", "LOT-9", date(2027, 1, 31)), prefix
    # without a symbology identifier the data alone is still GS1 (a camera's decoder sends no prefix)
    assert codes.parse(body).lot == "LOT-9"
    # an unknown identifier is no GS1 prefix: the code stays a plain code
    assert codes.parse("]X9SKU-1").code == "]X9SKU-1"


@pytest.mark.parametrize("prefix", ["]d2", "]Q3"])
def test_a_gs1_datamatrix_or_qr_scan_records_lot_and_expiry(app, client, h, picker_h, prefix):
    s = new_shipment(client, h, items=[{"sku": "04006381333931", "quantity": 2}])
    list_id = new_list(client, h, s["id"])
    picked = scan(client, picker_h, list_id, prefix + "0104006381333931" + "17270131" + "10LOT-" + prefix[1:])
    assert picked["status"] == "ok" and picked["progress"]["handled"] == 1
    with app.app_context():
        unit = db.session.get(ShipmentItem, uuid.UUID(picked["item_id"]))
        assert (unit.lot_number, unit.expires_at.date()) == ("LOT-" + prefix[1:], date(2027, 1, 31))
        assert unit.is_handled is True


# --- totes ------------------------------------------------------------------------------------------


def two_shipment_list(client, h):
    """A list of two shipments sorted into totes A (SKU-A) and B (SKU-B)."""
    a = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
    b = new_shipment(client, h, items=[{"sku": "SKU-B", "quantity": 2}])
    r = client.post(
        "/lcs/lists", json={"shipments": [{"id": a["id"], "label": "A"}, {"id": b["id"], "label": "B"}]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def test_totes_are_named_but_not_confirmed_by_default(client, h, picker_h):
    list_id = two_shipment_list(client, h)
    picked = scan(client, picker_h, list_id, "SKU-B")
    assert picked["status"] == "ok" and picked["sorting_label"] == "B" and picked["awaiting_tote"] is False
    assert "put in B" in picked["message"]
    assert scan(client, picker_h, list_id, "SKU-B")["progress"]["handled"] == 2  # no tote scan in between
    station = client.get(f"/lcs/lists/{list_id}/station", headers=picker_h).get_json()
    assert station["awaiting_tote"] is False and station["next"]["sorting_label"] == "A"
    # one shipment: no sorting, no label
    s = new_shipment(client, h, items=[{"sku": "SKU-C", "quantity": 2}])  # 2: the first pick does not finish
    single = scan(client, picker_h, new_list(client, h, s["id"]), "SKU-C")
    assert single["sorting_label"] is None and single["message"] == "SKU-C picked"


def test_confirm_tote_right_tote_wrong_tote_and_undo(app, client, h, picker_h):
    override(app, client, h, "lcs.scan.confirm_tote", True)
    list_id = two_shipment_list(client, h)

    picked = scan(client, picker_h, list_id, "SKU-B")
    assert (picked["status"], picked["action"], picked["awaiting_tote"], picked["sorting_label"]) == (
        "ok",
        "handled",
        True,
        "B",
    )
    assert picked["progress"]["handled"] == 1 and "scan tote B" in picked["message"]
    # the station keeps asking, also after a reload
    station = client.get(f"/lcs/lists/{list_id}/station", headers=picker_h).get_json()
    assert station["awaiting_tote"] is True and station["sorting_label"] == "B"

    # a wrong tote, another item or finishing: red, the item stays picked, still asking
    for wrong in ("A", "WHARF:TOTE:A", "SKU-B", "WHARF:FINISH"):
        refused = scan(client, picker_h, list_id, wrong)
        assert refused["status"] == "error" and refused["awaiting_tote"] is True, wrong
        assert refused["sorting_label"] == "B" and refused["progress"]["handled"] == 1, wrong
        assert "tote B" in refused["message"]

    confirmed = scan(client, picker_h, list_id, "b")  # the sorting label as printed (any case)
    assert (confirmed["status"], confirmed["action"], confirmed["awaiting_tote"]) == ("ok", "tote", False)
    assert confirmed["progress"]["handled"] == 1

    # the tote's own barcode works too
    assert scan(client, picker_h, list_id, "SKU-B")["awaiting_tote"] is True
    assert scan(client, picker_h, list_id, "WHARF:TOTE:B")["awaiting_tote"] is False
    # a tote scan with nothing waiting changes nothing
    idle = scan(client, picker_h, list_id, "WHARF:TOTE:B")
    assert idle["status"] == "warning" and idle["progress"]["handled"] == 2

    # undoing the pick ends the wait
    assert scan(client, picker_h, list_id, "SKU-A")["awaiting_tote"] is True
    undone = scan(client, picker_h, list_id, "WHARF:UNDO")
    assert undone["action"] == "undone" and undone["awaiting_tote"] is False and undone["progress"]["handled"] == 2

    # another picker's wait is theirs alone
    assert scan(client, h, list_id, "SKU-A")["awaiting_tote"] is True
    assert client.get(f"/lcs/lists/{list_id}/station", headers=picker_h).get_json()["awaiting_tote"] is False
    assert scan(client, h, list_id, "WHARF:TOTE:A")["status"] == "ok"
    # the last unit finishes the list (seed 001), tote still named; a finished list awaits nothing
    last = scan(client, picker_h, list_id, "SKU-A")
    assert (last["status"], last["sorting_label"], last["awaiting_tote"]) == ("done", "A", False)
    with app.app_context():
        kinds = [e.kind for e in db.session.query(ScanEvent).filter_by(list_id=uuid.UUID(list_id))]
    assert kinds.count("pending_tote") == 5 and kinds.count("tote") == 3 and kinds.count("rejected") == 4


def test_a_wait_left_while_the_toggle_was_off_is_not_asked_again(app, client, h, picker_h):
    override(app, client, h, "lcs.scan.confirm_tote", True)
    list_id = two_shipment_list(client, h)
    assert scan(client, picker_h, list_id, "SKU-B")["awaiting_tote"] is True
    override(app, client, h, "lcs.scan.confirm_tote", False)
    assert scan(client, picker_h, list_id, "SKU-A")["awaiting_tote"] is False  # picked on, no tote asked
    override(app, client, h, "lcs.scan.confirm_tote", True)
    station = client.get(f"/lcs/lists/{list_id}/station", headers=picker_h).get_json()
    assert station["awaiting_tote"] is False and station["progress"]["handled"] == 2
    assert scan(client, picker_h, list_id, "SKU-B")["sorting_label"] == "B"  # and the next pick asks again
    assert client.get(f"/lcs/lists/{list_id}/station", headers=picker_h).get_json()["awaiting_tote"] is True


def test_confirm_tote_renders_the_prompt(app, client, h, picker_h, make, tenant):
    """htmx fragment: "Scan tote B" instead of the next pick, red after a wrong tote."""
    override(app, client, h, "lcs.scan.confirm_tote", True)
    list_id = two_shipment_list(client, h)
    csrf = browser_login(client, "pick@acme.test")
    hx = {"HX-Request": "true", "X-CSRFToken": csrf}
    page = client.get(f"/lcs/lists/{list_id}/station", headers=BROWSER).get_data(as_text=True)
    assert '<strong class="put-in">Put in A</strong>' in page and "Scan tote" not in page
    frag = client.post(f"/lcs/lists/{list_id}/scan", headers=hx, data={"code": "SKU-B"})
    html = frag.get_data(as_text=True)
    assert '<strong class="tote-label">Scan tote B</strong>' in html and 'class="next-pick"' not in html
    assert '"status": "ok"' in frag.headers["HX-Trigger"]
    wrong = client.post(f"/lcs/lists/{list_id}/scan", headers=hx, data={"code": "A"})
    html = wrong.get_data(as_text=True)
    assert "status-error" in html and "Scan tote B" in html and '"status": "error"' in wrong.headers["HX-Trigger"]
    right = client.post(f"/lcs/lists/{list_id}/scan", headers=hx, data={"code": "B"})
    assert "status-ok" in right.get_data(as_text=True) and "Scan tote" not in right.get_data(as_text=True)


# --- the user's scan-feedback switch --------------------------------------------------------------


def test_scan_feedback_preference_json(client, staff):
    h = bearer(api_token(client, staff))
    assert client.get("/api/auth/profile", headers=h).get_json()["scanFeedback"] is True
    r = client.put("/api/auth/profile", json={"scanFeedback": False}, headers=h)
    assert r.status_code == 200 and r.get_json()["ok"] is True
    assert client.get("/api/auth/profile", headers=h).get_json()["scanFeedback"] is False
    # other changes leave it as it is
    assert client.put("/api/auth/profile", json={"name": "Sam"}, headers=h).status_code == 200
    assert client.get("/api/auth/profile", headers=h).get_json()["scanFeedback"] is False
    bad = client.put("/api/auth/profile", json={"scanFeedback": "loud"}, headers=h)
    assert bad.status_code == 400 and client.get("/api/auth/profile", headers=h).get_json()["scanFeedback"] is False


def test_scan_feedback_preference_page_and_fragment(app, client, staff, h):
    csrf = browser_login(client, staff)
    page = client.get("/auth/profile", headers=BROWSER).get_data(as_text=True)
    assert 'name="scanFeedback" value="true" checked' in page and 'data-scan-sound="on"' in page
    hx = {"HX-Request": "true", "X-CSRFToken": csrf}
    # the form sends a hidden "false" and the checkbox's "true" only when ticked
    off = client.put("/auth/profile", headers=hx, data={"scanFeedback": "false", "name": "Sam"})
    html = off.get_data(as_text=True)
    assert off.status_code == 200 and html.lstrip().startswith('<form id="profile-form"')
    assert 'name="scanFeedback" value="true" >' in html
    assert '"wharf:scan-feedback": {"on": false}' in off.headers["HX-Trigger"]
    assert 'data-scan-sound="off"' in client.get("/", headers=BROWSER).get_data(as_text=True)
    on = client.put("/auth/profile", headers=hx, data={"scanFeedback": ["false", "true"]})
    assert 'name="scanFeedback" value="true" checked' in on.get_data(as_text=True)
    assert 'data-scan-sound="on"' in client.get("/", headers=BROWSER).get_data(as_text=True)
    # a refused form shows the switch as it was sent
    refused = client.put("/auth/profile", headers=hx, data={"scanFeedback": "false", "password": "new-password-1"})
    assert refused.status_code == 422 and 'name="scanFeedback" value="true" >' in refused.get_data(as_text=True)
    # the tenant's toggle still applies: both must allow
    override(app, client.application.test_client(), h, "lcs.scan.sound", False)
    assert 'data-scan-sound="off"' in client.get("/", headers=BROWSER).get_data(as_text=True)


def test_a_scan_costs_a_bounded_number_of_statements(app, client, h):
    """A scan is the floor's hottest write (issue #20: 21 statements, then 13, now 8 — sign-in,
    the list with its totes, the open units of the code, the unit's UPDATE, the list's UPDATE …
    RETURNING, the event, the progress, and the next pick with its split, all in the scan's one
    transaction: the answer is not read again after the commit). A change that loads a row
    twice again shows here before it shows in bench/floor_load.py."""
    import sqlalchemy as sa

    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 3}])
    list_id = new_list(client, h, s["id"])
    scan(client, h, list_id, "SKU-A")  # the first scan warms the caches (toggles, grants, rules)
    with app.app_context():
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *_):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "PRAGMA")):
            statements.append(statement.split("\n")[0][:80])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert scan(client, h, list_id, "SKU-A")["status"] == "ok"
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert 7 <= len(statements) <= 8, statements
