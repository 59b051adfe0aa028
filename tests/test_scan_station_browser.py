"""The scan station in a real browser at 360 × 740: keyboard-wedge bursts wherever the focus
is, the tote shown large, the user's feedback switch, and the camera (button, decoded codes,
and Chromium's fake camera filming a QR code that the vendored zxing-wasm reader decodes offline)."""

from __future__ import annotations

import io

import pytest
import segno

from services import roles
from tests.support import ARTIFACTS, CHROMIUM, api_token, bearer, expect, open_and_sign_in

pytestmark = pytest.mark.browser

PICKER = "pick@acme.test"


@pytest.fixture()
def floor(client, make, tenant, admin):
    """Admin's API headers and a signed-up picker."""
    make.member(tenant, PICKER, roles.WAREHOUSE_STAFF)
    return bearer(api_token(client, admin))


def totes_list(client, h) -> str:
    """Two shipments sorted into totes A (SKU-A × 1) and B (SKU-B × 2); walk order puts SKU-A first."""
    ids = []
    for sku, qty in (("SKU-A", 1), ("SKU-B", 2)):
        body = {
            "type": "delivery",
            "is_outbound": True,
            "addressing": {"to": {"address": {"name": "Dock", "city": "Amsterdam", "country_code": "NL"}}},
            "items": [{"sku": sku, "quantity": qty, "description": f"Widget {sku[-1]}"}],
        }
        r = client.post("/lcs/shipments", json=body, headers=h)
        assert r.status_code == 200, r.get_json()
        ids.append(r.get_json()["id"])
    r = client.post(
        "/lcs/lists", json={"shipments": [{"id": ids[0], "label": "A"}, {"id": ids[1], "label": "B"}]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def open_station(page, live_server, list_id):
    open_and_sign_in(page, live_server, PICKER)
    page.goto(f"{live_server}/lcs/lists/{list_id}/station")
    page.wait_for_function("window.htmx !== undefined")


def font_px(locator) -> float:
    return locator.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")


def test_wedge_burst_is_a_scan_wherever_the_focus_is(mobile_page, client, floor, live_server):
    page = mobile_page
    list_id = totes_list(client, floor)
    open_station(page, live_server, list_id)
    panel = page.locator("#station-panel")
    expect(panel.locator(".progress-count")).to_have_text("0/3")

    # focus on the page itself (the input lost it)
    page.evaluate("document.activeElement.blur()")
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.type("SKU-A", delay=5)
    page.keyboard.press("Enter")
    expect(panel.locator(".progress-count")).to_have_text("1/3")
    expect(page.locator("#scan-input")).to_have_value("")

    # focus on a button: the burst's Enter does not press it
    undo = page.get_by_role("button", name="Undo last scan")
    undo.focus()
    page.keyboard.type("SKU-B", delay=5)
    page.keyboard.press("Enter")
    expect(panel.locator(".progress-count")).to_have_text("2/3")
    expect(panel.locator(".station-message")).to_contain_text("SKU-B picked")

    # another text field: a burst is a scan and leaves the field as it was; slow typing stays there
    page.evaluate(
        """() => { const f = document.createElement('input'); f.id = 'note'; f.value = 'keep';
                   document.querySelector('.station').prepend(f); }"""
    )
    note = page.locator("#note")
    note.focus()
    page.keyboard.type("SKU-B", delay=5)
    page.keyboard.press("Enter")
    expect(panel.locator(".progress-count")).to_have_text("3/3")
    expect(note).to_have_value("keep")
    expect(note).to_be_focused()
    page.keyboard.type("SKU-X", delay=120)  # a person typing
    page.keyboard.press("Enter")
    expect(note).to_have_value("keepSKU-X")
    page.wait_for_timeout(300)
    expect(panel.locator(".progress-count")).to_have_text("3/3")
    expect(panel.locator(".station-message")).to_contain_text("SKU-B picked")  # no scan was sent


def test_put_in_tote_is_the_largest_after_the_position(mobile_page, client, floor, live_server):
    page = mobile_page
    list_id = totes_list(client, floor)
    open_station(page, live_server, list_id)
    put_in = page.locator(".next-pick .put-in")
    expect(put_in).to_have_text("Put in A")
    expect(put_in).to_be_visible()
    size = font_px(put_in)
    position = font_px(page.locator(".pick-position"))
    others = [font_px(page.locator(sel)) for sel in (".pick-sku", ".pick-desc", ".progress-count", ".station-head")]
    assert size > max(others) and size <= position, (size, position, others)
    colors = put_in.evaluate("el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]")
    assert colors == ["rgb(255, 255, 255)", "rgb(17, 17, 17)"]  # white on black
    page.keyboard.type("SKU-A")
    page.keyboard.press("Enter")
    expect(page.locator(".station-message")).to_have_text("SKU-A picked — put in A")
    expect(put_in).to_have_text("Put in B")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "station-totes-360.png"), full_page=True)


def test_feedback_follows_status_and_the_users_switch(mobile_page, client, floor, live_server):
    page = mobile_page
    page.add_init_script("window.__buzz = []; navigator.vibrate = p => { window.__buzz.push(p); return true; };")
    tones: list[tuple[str, int]] = []
    page.on("response", lambda r: tones.append((r.url.rsplit("/", 1)[-1], r.status)) if ".wav" in r.url else None)
    list_id = totes_list(client, floor)
    open_station(page, live_server, list_id)
    expect(page.locator("body")).to_have_attribute("data-scan-sound", "on")
    for code, sound in (("SKU-A", "scan-ok"), ("SKU-A", "scan-warning"), ("NOPE-1", "scan-error")):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page.locator("body")).to_have_attribute("data-last-feedback", sound)
    assert page.evaluate("window.__buzz") == [60, [80, 60, 80], [200, 80, 200, 80, 200]]
    page.wait_for_timeout(300)
    assert {name for name, status in tones if status in (200, 206)} == {
        "scan-ok.wav",
        "scan-warning.wav",
        "scan-error.wav",
    }

    # the user switches it off on the profile page: silent and still from then on
    page.goto(f"{live_server}/auth/profile")
    switch = page.get_by_label("Scan sounds and vibration")
    expect(switch).to_be_checked()
    switch.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts")).to_contain_text("Profile saved")
    expect(page.get_by_label("Scan sounds and vibration")).not_to_be_checked()
    expect(page.locator("body")).to_have_attribute("data-scan-sound", "off")  # at once, no reload
    page.goto(f"{live_server}/lcs/lists/{list_id}/station")
    page.wait_for_function("window.htmx !== undefined")
    expect(page.locator("body")).to_have_attribute("data-scan-sound", "off")
    page.evaluate("window.__buzz = []; delete document.body.dataset.lastFeedback")
    page.keyboard.type("SKU-B")
    page.keyboard.press("Enter")
    expect(page.locator(".progress-count")).to_have_text("2/3")
    assert page.evaluate("window.__buzz") == [] and page.locator("body").get_attribute("data-last-feedback") is None


def test_camera_button_hides_without_a_camera_and_decoded_codes_are_sent(mobile_page, client, floor, live_server):
    page = mobile_page
    list_id = totes_list(client, floor)
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'mediaDevices', {get: () => undefined});")
    open_station(page, live_server, list_id)
    expect(page.locator("[data-camera-toggle]")).to_be_hidden()
    # a decoded code goes through the station's one send()
    page.evaluate(
        "document.getElementById('scan-form')"
        ".dispatchEvent(new CustomEvent('wharf:decoded', {detail: {code: 'SKU-A'}}))"
    )
    expect(page.locator(".progress-count")).to_have_text("1/3")
    expect(page.locator(".station-message")).to_have_text("SKU-A picked — put in A")


def test_camera_button_hides_where_no_camera_is_plugged_in(mobile_page, client, floor, live_server):
    page = mobile_page
    open_station(page, live_server, totes_list(client, floor))
    assert page.evaluate("!!navigator.mediaDevices")  # headless Chromium: the API, but no video input
    page.wait_for_function("navigator.mediaDevices.enumerateDevices().then(d => d.length >= 0)")
    expect(page.locator("[data-camera-toggle]")).to_be_hidden()


def test_a_refused_camera_says_so_and_scanning_goes_on(mobile_page, client, floor, live_server):
    page = mobile_page
    page.add_init_script(
        """navigator.mediaDevices.enumerateDevices = () => Promise.resolve([{kind: 'videoinput'}]);
           navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no', 'NotAllowedError'));"""
    )
    open_station(page, live_server, totes_list(client, floor))
    page.get_by_role("button", name="Camera", exact=True).click()
    expect(page.locator("[data-camera-status]")).to_have_text("Camera access was refused.")
    expect(page.get_by_role("button", name="Camera", exact=True)).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type("SKU-A")
    page.keyboard.press("Enter")
    expect(page.locator(".progress-count")).to_have_text("1/3")


def y4m_still(path, text: str, width=640, height=480):
    """A one-frame Y4M video of a QR code (Chromium's fake camera plays it in a loop)."""
    from PIL import Image

    code = segno.make(text, error="m")
    img = Image.new("L", (width, height), 255)
    qr = io.BytesIO()
    code.save(qr, kind="png", scale=10, border=2)
    symbol = Image.open(qr).convert("L")
    img.paste(symbol, ((width - symbol.width) // 2, (height - symbol.height) // 2))
    grey = bytes([128]) * (width // 2) * (height // 2)  # 4:2:0 chroma of a grey picture
    path.write_bytes(
        f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + b"FRAME\n" + img.tobytes() + grey + grey
    )


def test_camera_reads_a_barcode_and_scans_it(browser, client, floor, live_server, tmp_path):
    """Chromium's fake camera films a QR code of SKU-A: the station's Camera button opens it,
    the vendored reader decodes it once (not once per frame) and the pick is made."""
    video = tmp_path / "sku-a.y4m"
    y4m_still(video, "SKU-A")
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(viewport={"width": 360, "height": 740})
        context.set_default_timeout(15_000)
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        list_id = totes_list(client, floor)
        open_station(page, live_server, list_id)
        page.get_by_role("button", name="Camera", exact=True).click()
        expect(page.locator("[data-camera-panel]")).to_be_visible()
        expect(page.locator(".progress-count")).to_have_text("1/3", timeout=15_000)
        expect(page.locator(".station-message")).to_have_text("SKU-A picked — put in A")
        page.wait_for_timeout(2500)  # the code stays in view: still one scan
        expect(page.locator(".progress-count")).to_have_text("1/3")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "station-camera-360.png"), full_page=True)
        page.get_by_role("button", name="Close camera").click()
        expect(page.locator("[data-camera-panel]")).to_be_hidden()
        expect(page.locator("#scan-input")).to_be_focused()
        assert all(u.startswith(live_server) for u in requests)
        assert any(u.endswith(".wasm") for u in requests)
    finally:
        camera_browser.close()
