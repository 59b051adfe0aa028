"""Issue 17's screens in a real browser: hubs (secret once, live status), printers (form with
inline refusals, test print), the queue monitor (cancel, retry, reprint, redirect without a
reload), pack stations (bind by barcode, unbind, default printer), the label template (refused
inline, saved, drawn preview, test print) and the Print buttons at the pack station and on a
handling list. The hub is played by the test with the hub's own secret, through the agent's API."""

from __future__ import annotations

import re

import pytest

from tests.support import (
    BROWSER,
    api_token,
    bearer,
    browser_login,
    expect,
    marker_survived,
    open_and_sign_in,
    parcel,
    picked_shipment,
    set_marker,
    with_features,
)

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-spl"
POLL_MS = 15_000  # the hub page asks for its status every 5 s


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def _hub(client, h, name="Dock 3 hub") -> dict:
    r = client.post("/api/spl/hubs", json={"name": name, "description": "Outbound"}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _printer(client, h, hub, name, address="127.0.0.1:9100", encoding="zpl") -> dict:
    body = {
        "name": name,
        "hub_id": hub["id"],
        "default_encoding": encoding,
        "connection": {"interface": "network", "address": address},
    }
    r = client.post("/api/spl/printers", json=body, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _pull(client, hub) -> list[dict]:
    """One pull of the hub's agent (its heartbeat): the jobs it now holds."""
    r = client.post(f"/api/spl/hubs/{hub['id']}/jobs", json={"wait": 0}, headers=bearer(hub["secret"]))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _report(client, hub, job, status, **extra):
    r = client.put(
        f"/api/spl/queue/{job['reference']}", json={"status": status, **extra}, headers=bearer(hub["secret"])
    )
    assert r.status_code == 201, r.get_json()


def _test_print(client, h, printer) -> str:
    r = client.post(f"/api/spl/printers/{printer['id']}/test", headers=h)
    assert r.status_code == 204, r.get_data(as_text=True)
    return r.headers["x-job-id"]


def _job(client, h, job_id) -> dict:
    r = client.get(f"/api/spl/queue/{job_id}", headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _jobs(client, h, printer) -> list[dict]:
    r = client.get(f"/api/spl/queue?printer_id={printer['id']}", headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_new_hub_shows_its_secret_once_and_goes_online_when_it_pulls(client, admin, live_server, desktop_page):
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/hubs")
    expect(page.locator("#hub-table")).to_contain_text("No hubs yet")
    page.locator("summary", has_text="New hub").click()
    page.get_by_label("Name", exact=True).fill("Dock 3 hub")
    page.get_by_label("Where it stands").fill("Outbound, benches 1–4")
    page.get_by_role("button", name="Create hub").click()
    secret = page.locator("#hub-secret")
    expect(secret).to_have_text(re.compile(r"^whh_[0-9a-f]{32}\.\S+$"))
    secret_text = secret.inner_text()
    expect(page.locator("#hub-secret-command")).to_contain_text(f"--secret {secret_text}")
    expect(page.locator("#hub-table")).to_contain_text("Dock 3 hub")  # the table heard about it
    page.screenshot(path=f"{SHOTS}/hub-created-1366.png", full_page=True)

    page.reload()  # the secret was shown once: never again
    expect(page.locator("#hub-table")).to_contain_text("never connected")
    assert secret_text not in page.content()

    page.get_by_role("link", name="Dock 3 hub").click()
    hub_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert secret_text not in page.content()
    status = page.locator("#hub-status")
    expect(status.locator(".badge")).to_have_text("offline")
    expect(status).to_contain_text("never — start its agent")
    set_marker(page)
    # the agent starts with the secret the page showed: its first pull is its heartbeat
    assert _pull(client, {"id": hub_id, "secret": secret_text}) == []
    expect(status.locator(".badge")).to_have_text("online", timeout=POLL_MS)
    expect(status).to_contain_text("idle")
    assert marker_survived(page), "the status changed by a reload, not by the page's own poll"
    page.screenshot(path=f"{SHOTS}/hub-online-1366.png", full_page=True)


def test_a_hubs_logs_are_resolved_in_place_and_it_reads_at_360(client, h, admin, live_server, mobile_page):
    hub = _hub(client, h)
    r = client.post(
        f"/api/spl/hubs/{hub['id']}/logs",
        json={"message": "Printer Bench 1 refused the connection (192.168.1.50:9100)", "level": "public"},
        headers=bearer(hub["secret"]),
    )
    assert r.status_code == 200, r.get_json()
    page = mobile_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/hubs/{hub['id']}")
    logs = page.locator("#hub-logs")
    expect(logs).to_contain_text("refused the connection")
    assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1
    page.screenshot(path=f"{SHOTS}/hub-360.png", full_page=True)
    logs.get_by_role("button", name="Resolve").click()
    expect(logs).to_contain_text("Nothing to look at")
    expect(page.locator("#toasts")).to_contain_text("Log resolved")


def test_add_a_printer_refused_address_inline_then_test_print_queues_a_job(client, h, admin, live_server, desktop_page):
    hub = _hub(client, h)
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/printers")
    expect(page.locator("#printer-table")).to_contain_text("No printers yet")
    page.locator("summary", has_text="New printer").click()
    form = page.locator("#printer-create form")
    form.get_by_label("Name", exact=True).fill("Bench 1 Zebra")
    form.get_by_label("Hub").select_option(label=f"{hub['name']} (offline)")
    form.get_by_label("Address").fill("not a host!")
    form.get_by_role("button", name="Add printer").click()
    form = page.locator("#printer-create form")
    expect(form.locator(".field-error")).to_contain_text("is not host, host:port or [IPv6]:port")
    expect(form.get_by_label("Name", exact=True)).to_have_value("Bench 1 Zebra")  # what was typed stays
    page.screenshot(path=f"{SHOTS}/printer-refused-1366.png", full_page=True)

    # a PDF printer takes no ZPL settings: they leave the form
    expect(form.get_by_label("Resolution")).to_be_visible()
    form.get_by_label("Language").select_option("pdf")
    expect(form.get_by_label("Resolution")).to_be_hidden()
    form.get_by_label("Language").select_option("zpl")
    form.get_by_label("Address").fill("192.168.1.50:9100")
    form.get_by_label("Resolution").select_option("300")
    form.get_by_role("button", name="Add printer").click()
    expect(page.locator("#printer-create .ok")).to_contain_text("Printer Bench 1 Zebra added")
    expect(page.locator("#printer-table")).to_contain_text("Bench 1 Zebra")
    printer = client.get("/api/spl/printers", headers=h).get_json()[0]
    assert printer["connection"] == {"interface": "network", "address": "192.168.1.50:9100"}
    assert printer["settings"]["dpi"] == 300

    page.locator("#printer-create").get_by_role("link", name="Open it").click()
    expect(page.locator("h1")).to_contain_text("Bench 1 Zebra")
    page.get_by_role("button", name="Test print").click()
    expect(page.locator("#toasts")).to_contain_text("Test print queued")
    jobs = _jobs(client, h, printer)
    assert [(j["description"], j["status"]) for j in jobs] == [("Test print on Bench 1 Zebra", "scheduled")]
    page.get_by_role("link", name="queue", exact=True).click()
    expect(page.locator(f"#job-{jobs[0]['id']}")).to_contain_text("Test print on Bench 1 Zebra")
    expect(page.locator(f"#job-{jobs[0]['id']} .badge")).to_have_text("scheduled")


def test_queue_cancel_retry_redirect_and_reprint_without_a_reload(client, h, admin, live_server, desktop_page):
    hub = _hub(client, h)
    bench1, bench2 = (
        _printer(client, h, hub, "Bench 1 Zebra"),
        _printer(client, h, hub, "Bench 2 Zebra ZT410 (returns)", "127.0.0.1:9101"),
    )
    printed = _test_print(client, h, bench1)
    [held] = _pull(client, hub)
    _report(client, hub, held, "printed")
    failed = _test_print(client, h, bench1)
    [held] = _pull(client, hub)
    _report(client, hub, held, "failed", retryable=False, error="paper out")
    waiting = _test_print(client, h, bench1)

    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/queue")
    set_marker(page)
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator(f"#job-{failed}")).to_contain_text("paper out")
    page.screenshot(path=f"{SHOTS}/queue-1366.png", full_page=True)

    page.locator(f"#job-{waiting}").get_by_role("button", name="Cancel").click()
    expect(page.locator(f"#job-{waiting} .badge")).to_have_text("cancelled")
    assert _job(client, h, waiting)["status"] == "cancelled"

    page.locator(f"#job-{failed}").get_by_role("button", name="Retry").click()
    expect(page.locator(f"#job-{failed} .badge")).to_have_text("scheduled")
    expect(page.locator(f"#job-{failed}")).not_to_contain_text("paper out")

    row = page.locator(f"#job-{failed}")
    row.get_by_label(re.compile("Send job .* to printer")).select_option(label="Bench 2 Zebra ZT410 (returns)")
    row.get_by_role("button", name="Send there").click()
    expect(page.locator("#toasts")).to_contain_text("Job redirected")
    expect(page.locator(f"#job-{failed}")).to_contain_text("Bench 2 Zebra ZT410 (returns)")
    assert _job(client, h, failed)["printer_id"] == bench2["id"]

    page.locator(f"#job-{printed}").get_by_role("button", name="Reprint").click()
    expect(page.locator("#toasts")).to_contain_text("Reprint queued")
    expect(rows).to_have_count(4)
    expect(rows.first.locator(".badge")).to_have_text("scheduled")
    assert len(_jobs(client, h, bench1)) == 3  # printed, its reprint, the cancelled one (the failed one moved)
    assert marker_survived(page)

    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1
    # nor does the table scroll inside itself: a long printer name in a redirect stays in the row
    assert page.locator("#queue-table table").evaluate("t => t.scrollWidth - t.clientWidth") <= 1
    reprint = page.locator(f"#job-{printed}").get_by_role("button", name="Reprint")
    reprint.scroll_into_view_if_needed()
    expect(reprint).to_be_in_viewport(ratio=1)  # on the phone, not off to the side of a scrolling table
    page.screenshot(path=f"{SHOTS}/queue-360.png", full_page=True)


def test_the_queue_poll_keeps_a_redirect_being_chosen(client, h, admin, live_server, desktop_page):
    """Found at 1366 px: the table refreshes every 3 s, and a printer chosen for a redirect was
    reset to the first one under the operator's hand before "Send there"."""
    hub = _hub(client, h)
    bench1 = _printer(client, h, hub, "Bench 1 Zebra")
    for name, port in (("Bench 2 Zebra", 9101), ("Bench 3 Zebra", 9102)):
        _printer(client, h, hub, name, f"127.0.0.1:{port}")
    job = _test_print(client, h, bench1)
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/queue")
    choice = page.locator(f"#job-{job}").get_by_label(re.compile("Send job .* to printer"))
    choice.select_option(label="Bench 3 Zebra")
    choice.focus()
    page.wait_for_timeout(4_000)  # more than one poll
    expect(choice).to_have_value(client.get("/api/spl/printers", headers=h).get_json()[2]["id"])


def test_stations_create_bind_by_code_unbind_and_default_printer(client, h, admin, live_server, desktop_page):
    hub = _hub(client, h)
    bench1 = _printer(client, h, hub, "Bench 1 Zebra")
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/stations")
    expect(page.locator("#station-binding")).to_contain_text("you have none yet")
    page.locator("summary", has_text="New pack station").click()
    create = page.locator("#station-create form")
    create.get_by_label("Name", exact=True).fill("Bench 1")
    create.get_by_label("Barcode").fill("PACK-1")
    create.get_by_label("Printer").select_option(label="Bench 1 Zebra")
    create.get_by_role("button", name="Add station").click()
    expect(page.locator("#station-create .ok")).to_contain_text("Station Bench 1 added")
    expect(page.locator(".station-table")).to_contain_text("PACK-1")

    # the same code again is refused in the form
    page.locator("#station-create").get_by_label("Name", exact=True).fill("Bench 1 again")
    page.locator("#station-create").get_by_label("Barcode").fill("PACK-1")
    page.locator("#station-create").get_by_role("button", name="Add station").click()
    expect(page.locator("#station-create .alert")).to_contain_text("Another pack station has the code PACK-1")

    bind = page.get_by_label("Scan the station's barcode")
    bind.fill("PACK-9")
    bind.press("Enter")
    expect(page.locator("#toasts .toast-error")).to_contain_text("No pack station has the code 'PACK-9'")
    bind.fill("PACK-1")
    bind.press("Enter")
    expect(page.locator("#station-binding")).to_contain_text("Bound to Bench 1")
    expect(page.locator("#station-binding")).to_contain_text("labels closed here print on Bench 1 Zebra")
    expect(page.locator(".station-table .badge")).to_have_text("this device")
    page.screenshot(path=f"{SHOTS}/stations-bound-1366.png", full_page=True)

    page.get_by_role("button", name="Unbind").click()
    expect(page.locator("#station-binding")).to_contain_text("Not bound to a pack station")
    expect(page.locator(".station-table .badge")).to_have_count(0)

    page.get_by_label("Your default printer").select_option(label="Bench 1 Zebra")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Default printer saved")
    expect(page.locator("#station-binding")).to_contain_text("your default printer, Bench 1 Zebra")
    page.reload()
    expect(page.get_by_label("Your default printer")).to_have_value(bench1["id"])

    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1
    expect(page.locator(".station-table")).to_contain_text("PACK-1")
    page.screenshot(path=f"{SHOTS}/stations-360.png", full_page=True)


def test_a_stations_printer_is_changed_in_its_row(client, h, admin, live_server, desktop_page):
    hub = _hub(client, h)
    _printer(client, h, hub, "Bench 1 Zebra")
    bench2 = _printer(client, h, hub, "Bench 2 Zebra", "127.0.0.1:9101")
    r = client.post("/api/spl/stations", json={"name": "Bench 2", "code": "PACK-2"}, headers=h)
    assert r.status_code == 200, r.get_json()
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/stations")
    page.get_by_label("Printer of Bench 2").select_option(label="Bench 2 Zebra")
    expect(page.locator("#toasts")).to_contain_text("Station Bench 2 saved")
    [station] = client.get("/api/spl/stations", headers=h).get_json()
    assert station["printer_id"] == bench2["id"]


def _shipped_template(client, h) -> str:
    r = client.get("/api/spl/settings/label", headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["body"]


def test_label_template_refused_inline_saved_drawn_and_test_printed(client, h, admin, live_server, desktop_page):
    hub = _hub(client, h)
    bench1 = _printer(client, h, hub, "Bench 1 Zebra")
    shipped = _shipped_template(client, h)
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/settings/label")
    image = page.locator("img[data-zpl-image]")
    expect(image).to_have_attribute("src", re.compile(r"^data:image/png;base64,.{1000,}"), timeout=30_000)
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") > 700  # 4 in at 8 dots/mm: 813 dots

    # no ^XZ and data without ^FH_: every problem is listed, not only the first
    page.locator("#label-body").fill("^XA\n^FO20,20^A0N,30,30^FD{{ shipment_number }}^FS\n")
    page.get_by_role("button", name="Save template").click()
    problems = page.locator(".template-problems li")
    expect(problems).to_have_count(2)
    expect(problems.first).to_contain_text("the label must end with ^XZ")
    expect(problems.last).to_contain_text("holds data without ^FH_ before it")
    expect(page.locator("#label-template .alert")).to_contain_text("Not saved: the template does not render")
    expect(page.locator("#label-body")).to_have_value(re.compile(r"\{\{ shipment_number \}\}"))  # what was typed stays
    page.locator("#label-body").fill("^XA\n^FO20,20^FH_^FD{{ no_such_field }}^FS\n^XZ")
    page.get_by_role("button", name="Save template").click()
    expect(problems).to_have_text([re.compile("unknown variable: 'no_such_field' is undefined")])
    assert _shipped_template(client, h) == shipped  # nothing saved
    page.screenshot(path=f"{SHOTS}/label-refused-1366.png", full_page=True)

    tweaked = shipped.replace("^XA", "{# ours #}\n^XA", 1)
    page.locator("#label-body").fill(tweaked)
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#label-template .ok")).to_contain_text("Template saved")
    expect(page.locator("#label-template .badge")).to_have_text("your template")
    expect(page.locator("img[data-zpl-image]")).to_have_attribute("src", re.compile(r"^data:image/png;base64,.{1000,}"))
    saved = client.get("/api/spl/settings/label", headers=h).get_json()
    assert saved["is_default"] is False and "{# ours #}" in saved["body"]

    page.get_by_role("button", name="Test print").click()
    expect(page.locator("#toasts")).to_contain_text("Test print queued")
    assert [j["description"] for j in _jobs(client, h, bench1)] == ["Test print on Bench 1 Zebra"]

    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1
    page.screenshot(path=f"{SHOTS}/label-360.png", full_page=True)


def _closed_parcel(client, h, s) -> dict:
    p = parcel(client, h, s, weight=900)
    r = client.post(f"/lcs/parcels/{p['id']}/close", json={"weight": 900}, headers=h)
    assert r.status_code < 300, r.get_data(as_text=True)
    return client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()


def test_print_label_at_the_pack_station_goes_to_the_default_printer(client, h, admin, live_server, desktop_page):
    hub = _hub(client, h)
    bench1 = _printer(client, h, hub, "Bench 1 Zebra")
    s = picked_shipment(client, h)
    p = _closed_parcel(client, h, s)
    assert p["closed_at"]
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments/{s['id']}/pack")
    card = page.locator(".parcel", has_text=p["number"])
    card.get_by_role("button", name="Print label").click()  # no station bound, no default printer
    expect(page.locator("#toasts .toast-error")).to_have_text(
        "Choose a printer: no pack station is bound to this session and you have no default printer"
    )
    assert _jobs(client, h, bench1) == []

    r = client.put("/api/spl/printers/default", json={"printer_id": bench1["id"]}, headers=h)
    assert r.status_code == 204, r.get_data(as_text=True)
    card.get_by_role("button", name="Print label").click()
    expect(page.locator("#toasts")).to_contain_text("Label sent to Bench 1 Zebra")
    [job] = _jobs(client, h, bench1)
    assert job["description"] == f"Label for parcel {p['number']}" and job["encoding"] == "zpl"
    page.screenshot(path=f"{SHOTS}/pack-print-1366.png", full_page=True)


def test_print_labels_on_the_list_page_goes_to_the_bound_station(client, h, admin, live_server, desktop_page):
    hub = _hub(client, h)
    _printer(client, h, hub, "Bench 1 Zebra")
    bench2 = _printer(client, h, hub, "Bench 2 Zebra", "127.0.0.1:9101")
    r = client.post(
        "/api/spl/stations", json={"name": "Bench 2", "code": "PACK-2", "printer_id": bench2["id"]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    s = picked_shipment(client, h)
    p = _closed_parcel(client, h, s)
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/stations")
    page.get_by_label("Scan the station's barcode").fill("PACK-2")
    page.get_by_role("button", name="Bind").click()
    expect(page.locator("#station-binding")).to_contain_text("Bound to Bench 2")
    page.goto(f"{live_server}/lcs/lists/{s['list_id']}")
    page.get_by_role("button", name="Print labels").click()
    expect(page.locator("#toasts")).to_contain_text("Labels sent to Bench 2 Zebra")
    [job] = _jobs(client, h, bench2)
    assert job["description"].startswith("Labels for handling list") and "(1 parcels)" in job["description"]
    assert p["number"]


def test_print_buttons_only_for_people_who_may_print(app, client, h, tenant, live_server):
    """Without spl.print the pack station and the list page offer no Print button (the routes
    would refuse it); the PDF label is still there."""
    s = picked_shipment(client, h)
    p = _closed_parcel(client, h, s)
    packer = with_features(
        app, tenant, "packer@acme.test", ["lcs.shipments.read", "lcs.handling.read", "lcs.handling.write"]
    )
    browser = app.test_client()
    browser_login(browser, packer)
    pack = browser.get(f"/lcs/shipments/{s['id']}/pack", headers=BROWSER).get_data(as_text=True)
    assert p["number"] in pack and ("Request label" in pack or "Relabel" in pack)
    assert "Print label" not in pack
    listing = browser.get(f"/lcs/lists/{s['list_id']}", headers=BROWSER).get_data(as_text=True)
    assert "Pick list PDF" in listing and "Print labels" not in listing
    admin_browser = app.test_client()
    browser_login(admin_browser, "admin@acme.test")
    assert "Print label" in admin_browser.get(f"/lcs/shipments/{s['id']}/pack", headers=BROWSER).get_data(as_text=True)


def test_a_pdf_printer_form_and_the_address_hint_at_360(client, h, admin, live_server, mobile_page):
    _hub(client, h)
    page = mobile_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/spl/printers")
    page.locator("summary", has_text="New printer").click()
    form = page.locator("#printer-create form")
    form.get_by_label("Name", exact=True).fill("Office laser")
    form.get_by_label("Language").select_option("pdf")
    form.get_by_label("Interface").select_option("ipp")
    form.get_by_label("Address").fill("ipp://cups.local:631/printers/office")
    form.get_by_label("Copies").fill("2")
    assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1
    page.screenshot(path=f"{SHOTS}/printer-form-360.png", full_page=True)
    form.get_by_role("button", name="Add printer").click()
    expect(page.locator("#printer-create .ok")).to_contain_text("Printer Office laser added")
    [printer] = client.get("/api/spl/printers", headers=h).get_json()
    assert printer["default_encoding"] == "pdf" and printer["settings"] == {"copies": 2}
    assert printer["connection"] == {"interface": "ipp", "address": "ipp://cups.local:631/printers/office"}
