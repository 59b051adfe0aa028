"""Issue 16 item 11 at 1366 × 800: warehouse staff photograph damage on a shipment but cannot
create, change or delete storage partitions (``attachments.partitions.manage`` is split out of
``attachments.manage``)."""

from __future__ import annotations

import pytest

from services import roles
from tests.support import (
    api_token,
    bearer,
    expect,
    new_shipment,
    open_and_sign_in,
    png,
    refusal,
    settled,
    url_is,
    with_features,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("files_root")]
STAFF = "staff@acme.test"
PARTITIONS = "/api/attachments/partitions"


def test_staff_upload_a_photo_but_cannot_manage_partitions(client, make, tenant, admin, live_server, desktop_page):
    make.member(tenant, STAFF, roles.WAREHOUSE_STAFF)
    s = new_shipment(client, bearer(api_token(client, admin)))
    page = desktop_page
    open_and_sign_in(page, live_server, STAFF)
    expect(page.get_by_role("link", name="Storage partitions")).to_have_count(0)

    page.goto(f"{live_server}/lcs/shipments/{s['id']}")
    panel = settled(page.locator("section.file-panel"))
    page.set_input_files(
        'section.file-panel input[type="file"] >> nth=0',
        files=[{"name": "damage.png", "mimeType": "image/png", "buffer": png()}],
    )
    expect(panel.locator("li.thumb img")).to_have_attribute("alt", "damage.png")

    answer = page.goto(f"{live_server}/attachments/partitions")
    assert answer.status == 403
    expect(page.locator("main")).to_contain_text("attachments.partitions.manage")
    assert url_is(live_server, "/attachments/partitions").match(page.url)


def test_partitions_need_their_own_feature_through_the_api(client, app, tenant, admin):
    """The seed's ``attachments.manage`` still uploads; partitions also need the split feature."""
    uploader = bearer(api_token(client, with_features(app, tenant, "up@acme.test", ["attachments.manage"])))
    r = client.get(PARTITIONS, headers=uploader)
    assert r.status_code == 403
    assert r.get_json()["requiredFeatures"] == ["attachments.manage", "attachments.partitions.manage"]
    assert refusal(client.post(PARTITIONS, json={"code": "x", "title": "X"}, headers=uploader), 403)
    keeper = bearer(
        api_token(
            client,
            with_features(app, tenant, "keeper@acme.test", ["attachments.manage", "attachments.partitions.manage"]),
        )
    )
    assert client.get(PARTITIONS, headers=keeper).status_code == 200
    assert client.get(PARTITIONS, headers=bearer(api_token(client, admin))).status_code == 200
