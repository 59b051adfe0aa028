"""The print spooler's JSON contract (seed 001 /spl, family B): hubs and their secrets, printers
and their settings, the queue's statuses, retries and idempotency, printing from the floor, the
label template — and the refusals (unknown hub, another tenant's printer, bad address, unknown
encoding) as 4xx in the family-B envelope."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import api_token, bearer, new_list, new_shipment, parcel, picked_shipment, scan, with_features

ZPL = b"^XA^FO50,50^A0N,40^FDHello^FS^XZ"


def zpl_uri(data: bytes = ZPL) -> str:
    return "data:application/zpl;base64," + base64.b64encode(data).decode()


@pytest.fixture(autouse=True)
def _fast(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "TASKS_EAGER", True)


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def new_hub(client, h, name="Dock hub") -> dict:
    r = client.post("/spl/hubs", json={"name": name, "description": "Outbound"}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def new_printer(client, h, hub_id, encoding="zpl", address="127.0.0.1:9100", **extra) -> dict:
    body = {
        "name": f"Printer {encoding}",
        "hub_id": hub_id,
        "default_encoding": encoding,
        "connection": {"interface": "network", "address": address},
        **extra,
    }
    r = client.post("/spl/printers", json=body, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def queue(client, h, printer_id, job=None, **extra) -> dict:
    r = client.post("/spl/queue", json={"job": job or zpl_uri(), "tag": printer_id, **extra}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def pull(client, hub, **body) -> list[dict]:
    r = client.post(f"/spl/hubs/{hub['id']}/jobs", json={"wait": 0, **body}, headers=bearer(hub["secret"]))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def report(client, hub, job_id, status, **extra):
    return client.put(f"/spl/queue/{job_id}", json={"status": status, **extra}, headers=bearer(hub["secret"]))


def refused(r, status: int, field: str | None = None) -> dict:
    body = r.get_json()
    assert r.status_code == status, body
    assert body["code"] == status and body["reference"] and body["message"], body
    if field is not None:
        fields = [f for named in body["errors"].values() for f in named]
        assert any(field in f for f in fields), body
    return body


@pytest.fixture()
def rig(client, h):
    """A hub (with its secret) and a ZPL printer on it."""
    hub = new_hub(client, h)
    return hub, new_printer(client, h, hub["id"])


# --- hubs ---------------------------------------------------------------------------------------


class TestHubs:
    def test_the_secret_is_answered_once_and_identifies_the_hub(self, client, h):
        hub = new_hub(client, h)
        assert hub["secret"].startswith("whh_") and hub["uuid"].replace("-", "") in hub["secret"]
        assert hub["status"] == "offline" and hub["pubnub"] == {"tokens": []}
        listed = client.get("/spl/hubs", headers=h).get_json()
        assert [x["id"] for x in listed] == [hub["id"]] and "secret" not in listed[0]
        assert "secret" not in client.get(f"/spl/hubs/{hub['id']}", headers=h).get_json()
        # the agent finds its hub by the uuid in its secret, with the secret
        mine = client.get(f"/spl/hubs/{hub['uuid']}/uuid", headers=bearer(hub["secret"]))
        assert mine.status_code == 200 and mine.get_json()["id"] == hub["id"]

    def test_a_pull_is_the_heartbeat(self, client, h):
        hub = new_hub(client, h)
        assert client.get(f"/spl/hubs/{hub['id']}/status", headers=h).get_json()["is_online"] is False
        pull(client, hub, version="1.0", ip_address="10.0.0.7", properties=[{"key": "hostname", "value": "pi"}])
        status = client.get(f"/spl/hubs/{hub['id']}/status", headers=h).get_json()
        assert status["is_online"] and status["is_idle"] and status["location"] == "Outbound"
        assert status["network"]["ip_address"] == "10.0.0.7" and status["network"]["last_connected_at"]
        assert status["image"] == {"is_up_to_date": True, "download_progress": 100, "version": "1.0"}
        row = client.get(f"/spl/hubs/{hub['id']}", headers=h).get_json()
        assert row["status"] == "online" and row["properties"] == [{"key": "hostname", "value": "pi"}]

    def test_a_hub_is_offline_a_minute_after_its_last_pull(self, app, client, h):
        from models import Hub, db

        hub = new_hub(client, h)
        pull(client, hub)
        with app.app_context():
            row = db.session.get(Hub, uuid.UUID(hub["id"]))
            row.last_seen_at = datetime.now(UTC) - timedelta(seconds=61)
            db.session.commit()
        assert client.get(f"/spl/hubs/{hub['id']}", headers=h).get_json()["status"] == "offline"

    def test_a_hub_sees_only_itself_and_cannot_manage(self, client, h):
        one, two = new_hub(client, h, "One"), new_hub(client, h, "Two")
        as_one = bearer(one["secret"])
        assert [x["id"] for x in client.get("/spl/hubs", headers=as_one).get_json()] == [one["id"]]
        refused(client.get(f"/spl/hubs/{two['id']}", headers=as_one), 404)
        refused(client.post(f"/spl/hubs/{two['id']}/jobs", json={"wait": 0}, headers=as_one), 404)
        refused(client.post("/spl/hubs", json={"name": "Mine"}, headers=as_one), 403)

    def test_rotating_the_secret_stops_the_old_one(self, client, h):
        hub = new_hub(client, h)
        fresh = client.post(f"/spl/hubs/{hub['id']}/secret", headers=h).get_json()["secret"]
        assert fresh != hub["secret"]
        refused(client.get("/spl/hubs", headers=bearer(hub["secret"])), 401)
        assert client.get("/spl/hubs", headers=bearer(fresh)).status_code == 200

    def test_delete_disables_the_hub_its_secret_and_its_waiting_jobs(self, client, h, rig):
        hub, printer = rig
        job = queue(client, h, printer["id"])
        r = client.delete(f"/spl/hubs/{hub['id']}", headers=h)
        assert r.status_code == 200 and r.get_json()["disabled_at"]
        refused(client.get("/spl/hubs", headers=bearer(hub["secret"])), 401)
        assert client.get(f"/spl/queue/{job['id']}", headers=h).get_json()["status"] == "cancelled"
        refused(client.post("/spl/queue", json={"job": zpl_uri(), "tag": printer["id"]}, headers=h), 404)

    def test_update_and_bad_input(self, client, h):
        hub = new_hub(client, h)
        r = client.put(f"/spl/hubs/{hub['id']}", json={"name": "Dock 4", "description": "Bench 9"}, headers=h)
        assert r.status_code == 200 and r.get_json()["name"] == "Dock 4"
        refused(client.put(f"/spl/hubs/{hub['id']}", json={"name": ""}, headers=h), 400, "name")
        refused(client.get("/spl/hubs/not-a-uuid", headers=h), 404)
        refused(client.get(f"/spl/hubs/{hub['id'][:-1]}0/uuid", headers=h), 404)

    def test_logs_are_paged_by_token_and_resolved(self, client, h):
        hub = new_hub(client, h)
        as_hub = bearer(hub["secret"])
        for n in range(5):
            r = client.post(
                f"/spl/hubs/{hub['id']}/logs", json={"message": f"Paper out {n}", "level": "public"}, headers=as_hub
            )
            assert r.status_code == 200 and r.get_json()["is_resolved"] is False
        first = client.get(f"/spl/hubs/{hub['id']}/logs", headers={**h, "x-page-size": "3"})
        assert [x["message"] for x in first.get_json()] == ["Paper out 4", "Paper out 3", "Paper out 2"]
        second = client.get(
            f"/spl/hubs/{hub['id']}/logs", headers={**h, "x-page-size": "3", "x-page": first.headers["x-page"]}
        )
        assert [x["message"] for x in second.get_json()] == [
            "Paper out 1",
            "Paper out 0",
        ] and "x-page" not in second.headers
        refused(client.get(f"/spl/hubs/{hub['id']}/logs", headers={**h, "x-page": "garbage!"}), 400)
        refused(client.post(f"/spl/hubs/{hub['id']}/logs", json={"message": "x", "level": "loud"}, headers=as_hub), 400)
        log_id = first.get_json()[0]["id"]
        assert client.post(f"/spl/hubs/{hub['id']}/logs/{log_id}/resolve", headers=h).get_json()["is_resolved"]
        assert len(client.get(f"/spl/hubs/{hub['id']}/logs", headers=h).get_json()) == 4

    def test_network_is_what_the_agent_reported(self, client, h):
        hub = new_hub(client, h)
        devices = [
            {
                "description": "pi",
                "mac_address": "AA-BB-CC-DD-EE-FF",
                "interface": {"interface": "eth0", "address": "10.0.0.7"},
            }
        ]
        r = client.put(f"/spl/hubs/{hub['id']}/network", json=devices, headers=bearer(hub["secret"]))
        assert r.status_code == 200 and r.get_json()[0]["mac_address"] == "aa:bb:cc:dd:ee:ff"
        got = client.get(f"/spl/hubs/{hub['id']}/network", headers=h).get_json()
        assert got[0]["interface"] == {"interface": "eth0", "address": "10.0.0.7"} and got[0]["created_at"]
        refused(
            client.put(
                f"/spl/hubs/{hub['id']}/network",
                json=[{"mac_address": "nope", "interface": {"interface": "x", "address": ""}}],
                headers=h,
            ),
            400,
        )


# --- printers -----------------------------------------------------------------------------------


class TestPrinters:
    def test_create_read_update_and_health(self, client, h, rig):
        hub, printer = rig
        assert printer["connection"] == {"interface": "network", "address": "127.0.0.1:9100"}
        assert printer["settings"] == {
            "dpi": 203,
            "label_width_mm": 101.6,
            "label_height_mm": 152.4,
            "darkness": 15,
            "copies": 1,
        }
        assert printer["is_online"] is False and printer["jobs_waiting"] == 0
        queue(client, h, printer["id"])
        pull(client, hub, wait=0)  # takes the job; the hub is now online
        got = client.get(f"/spl/printers/{printer['id']}", headers=h).get_json()
        assert got["is_online"] and got["jobs_waiting"] == 1
        body = {
            "name": "Office",
            "hub_id": hub["id"],
            "default_encoding": "pdf",
            "connection": {"interface": "ipp", "address": "ipp://cups.local:631/printers/office"},
            "settings": {"copies": 2},
        }
        r = client.put(f"/spl/printers/{printer['id']}", json=body, headers=h)
        assert (
            r.status_code == 200
            and r.get_json()["settings"] == {"copies": 2}
            and r.get_json()["default_encoding"] == "pdf"
        )
        r = client.put(f"/spl/printers/{printer['id']}/inbox", json={"inbox_id": "in-7"}, headers=h)
        assert r.get_json()["inbox_id"] == "in-7"
        assert [p["id"] for p in client.get("/spl/printers?inbox_id=in-7", headers=h).get_json()] == [printer["id"]]
        assert [p["id"] for p in client.get(f"/spl/printers?hub_id={hub['id']}", headers=h).get_json()] == [
            printer["id"]
        ]

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"connection": {"interface": "network", "address": "printer host"}}, "connection"),
            ({"connection": {"interface": "network", "address": "10.0.0.1:70000"}}, "connection"),
            ({"connection": {"interface": "ipp", "address": "ftp://cups/printers/x"}}, "connection"),
            ({"connection": {"interface": "usb", "address": "/dev/usb/lp0"}}, "connection.interface"),
            ({"default_encoding": "escpos"}, "default_encoding"),
            ({"settings": {"dpi": 600}}, "settings"),
            ({"settings": {"darkness": 31}}, "settings"),
            ({"hub_id": "nope"}, "hub_id"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, client, h, rig, change, field):
        hub, _ = rig
        body = {
            "name": "P",
            "hub_id": hub["id"],
            "connection": {"interface": "network", "address": "10.0.0.1"},
            **change,
        }
        refused(client.post("/spl/printers", json=body, headers=h), 400, field)

    def test_unknown_hub_and_another_tenants_are_404(self, app, client, h, make, rig):
        other = make.tenant("Rival")
        body = {
            "name": "P",
            "hub_id": "00000000-0000-4000-8000-000000000000",
            "connection": {"interface": "network", "address": "10.0.0.1"},
        }
        refused(client.post("/spl/printers", json=body, headers=h), 404)
        hub, printer = rig
        rival = bearer(api_token(client, with_features(app, other, "ops@rival.test", ["spl.*"])))
        refused(client.get(f"/spl/printers/{printer['id']}", headers=rival), 404)
        refused(client.post("/spl/printers", json={**body, "hub_id": hub["id"]}, headers=rival), 404)
        refused(client.post("/spl/queue", json={"job": zpl_uri(), "tag": printer["id"]}, headers=rival), 404)
        assert client.get("/spl/printers", headers=rival).get_json() == []

    def test_settings_schemas(self, client, h):
        zpl = client.get("/spl/settings/printers/zpl", headers=h).get_json()
        assert zpl["type"] == "zpl" and json.loads(zpl["schema"])["properties"]["dpi"]["enum"] == [203, 300]
        assert (
            "copies"
            in json.loads(client.get("/spl/settings/printers/pdf", headers=h).get_json()["schema"])["properties"]
        )
        refused(client.get("/spl/settings/printers/escpos", headers=h), 404)

    def test_delete_disables_and_cancels_waiting_jobs(self, client, h, rig):
        _, printer = rig
        job = queue(client, h, printer["id"])
        r = client.delete(f"/spl/printers/{printer['id']}", headers=h)
        assert r.status_code == 200 and r.get_json()["disabled_at"]
        assert client.get(f"/spl/queue/{job['id']}", headers=h).get_json()["status"] == "cancelled"
        refused(client.post(f"/spl/printers/{printer['id']}/test", headers=h), 404)


# --- the queue ----------------------------------------------------------------------------------


class TestQueue:
    def test_a_job_moves_scheduled_received_printed_once(self, client, h, rig):
        hub, printer = rig
        job = queue(client, h, printer["id"], description="Hello label")
        assert job["status"] == "scheduled" and job["reference"] == job["id"] and job["encoding"] == "zpl"
        assert job["job"] == "data:application/zpl;base64,…" and job["hub_id"] == hub["id"]
        assert client.get(job["artifact"], headers=h).data == ZPL
        [taken] = pull(client, hub)
        assert taken["id"] == job["id"] and taken["connection"]["address"] == "127.0.0.1:9100"
        assert client.get(taken["artifact"], headers=bearer(hub["secret"])).data == ZPL
        assert client.get(f"/spl/queue/{job['id']}", headers=h).get_json()["status"] == "received"
        assert pull(client, hub) == []  # held: not answered again while leased
        r = report(client, hub, job["id"], "printed")
        assert r.status_code == 201 and r.get_json() == {"reference": job["reference"], "status": "printed"}
        printed_at = client.get(f"/spl/queue/{job['id']}", headers=h).get_json()["printed_at"]
        time.sleep(0.01)
        assert report(client, hub, job["id"], "success").get_json()["status"] == "printed"  # the seed's word, again
        again = client.get(f"/spl/queue/{job['id']}", headers=h).get_json()
        assert again["printed_at"] == printed_at and again["attempts"] == 1
        assert client.get(f"/spl/printers/{printer['id']}", headers=h).get_json()["last_printed_at"]

    def test_the_same_reference_is_the_same_job(self, client, h, rig):
        _, printer = rig
        one = queue(client, h, printer["id"], reference="order-7-label")
        two = queue(client, h, printer["id"], reference="order-7-label")
        assert (
            one["id"] == two["id"] and client.get("/spl/queue/order-7-label", headers=h).get_json()["id"] == one["id"]
        )
        assert len(client.get("/spl/queue", headers=h).get_json()) == 1

    def test_a_restarted_hub_gets_back_what_it_held(self, client, h, rig):
        hub, printer = rig
        job = queue(client, h, printer["id"])
        pull(client, hub)
        assert pull(client, hub) == []
        assert [j["id"] for j in pull(client, hub, restart=True)] == [job["id"]]

    def test_failures_retry_with_backoff_then_fail(self, app, client, h, rig, monkeypatch):
        monkeypatch.setitem(app.config, "SPL_RETRY_DELAYS", [0.2])
        monkeypatch.setitem(app.config, "SPL_MAX_ATTEMPTS", 3)
        hub, printer = rig
        job = queue(client, h, printer["id"])
        for attempt in (1, 2):
            pull(client, hub)
            r = report(client, hub, job["id"], "failed", error="Connection refused", retryable=True)
            assert r.get_json()["status"] == "scheduled"
            row = client.get(f"/spl/queue/{job['id']}", headers=h).get_json()
            assert row["attempts"] == attempt and row["error"] == "Connection refused" and row["schedule_at"]
            assert pull(client, hub) == []  # not before its delay
            time.sleep(0.25)
        pull(client, hub)
        assert report(client, hub, job["id"], "failed", error="Connection refused").get_json()["status"] == "failed"
        assert client.get(f"/spl/printers/{printer['id']}", headers=h).get_json()["last_error"] == "Connection refused"
        # people schedule a failed job again: its attempts start over
        r = client.put(f"/spl/queue/{job['id']}", json={"status": "scheduled"}, headers=h)
        assert r.status_code == 201 and r.get_json()["status"] == "scheduled"
        assert client.get(f"/spl/queue/{job['id']}", headers=h).get_json()["attempts"] == 0

    def test_a_failure_not_worth_retrying_fails_at_once(self, client, h, rig):
        hub, printer = rig
        job = queue(client, h, printer["id"])
        pull(client, hub)
        assert (
            report(client, hub, job["id"], "failed", error="queue gone", retryable=False).get_json()["status"]
            == "failed"
        )

    def test_schedule_at_is_honoured(self, client, h, rig):
        hub, printer = rig
        later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        job = queue(client, h, printer["id"], schedule_at=later)
        assert pull(client, hub) == []
        time.sleep(1.1)
        assert [j["id"] for j in pull(client, hub)] == [job["id"]]

    def test_cancel_only_while_scheduled_and_people_do_not_report_prints(self, app, client, h, rig, tenant):
        hub, printer = rig
        one, two = queue(client, h, printer["id"]), queue(client, h, printer["id"])
        r = client.put(f"/spl/queue/{one['id']}", json={"status": "cancelled"}, headers=h)
        assert r.status_code == 201 and r.get_json()["status"] == "cancelled"
        assert [j["id"] for j in pull(client, hub)] == [two["id"]]
        refused(client.put(f"/spl/queue/{two['id']}", json={"status": "cancelled"}, headers=h), 409)
        staff_h = bearer(api_token(client, with_features(app, tenant, "packer@acme.test", ["spl.print"])))
        refused(client.put(f"/spl/queue/{two['id']}", json={"status": "printed"}, headers=staff_h), 403)
        refused(client.put(f"/spl/queue/{two['id']}", json={"status": "done"}, headers=h), 400, "status")
        refused(client.put("/spl/queue/no-such-job", json={"status": "cancelled"}, headers=h), 404)

    @pytest.mark.parametrize(
        ("job", "status"),
        [
            ("data:application/zpl;base64,@@@", 400),
            ("data:image/png;base64,iVBORw0KGgo=", 400),
            ("data:application/zpl,", 400),
            ("not a document", 400),
            ("00000000-0000-4000-8000-000000000000", 404),
        ],
    )
    def test_bad_documents_are_refused(self, client, h, rig, job, status):
        _, printer = rig
        refused(client.post("/spl/queue", json={"job": job, "tag": printer["id"]}, headers=h), status)

    def test_unknown_printer_and_wrong_hub_are_404(self, client, h, rig):
        _, printer = rig
        other = new_hub(client, h, "Other")
        refused(client.post("/spl/queue", json={"job": zpl_uri(), "tag": "printer-1"}, headers=h), 404)
        refused(
            client.post("/spl/queue", json={"job": zpl_uri(), "tag": printer["id"], "hub_id": other["id"]}, headers=h),
            404,
        )

    def test_zpl_cannot_print_on_a_pdf_printer_and_pdf_becomes_zpl(self, client, h, rig):
        hub, zpl_printer = rig
        pdf_printer = new_printer(client, h, hub["id"], encoding="pdf")
        refused(client.post("/spl/queue", json={"job": zpl_uri(), "tag": pdf_printer["id"]}, headers=h), 400, "job")
        pdf = client.post(
            "/cnt/html/inline", json={"content": base64.b64encode(b"<p>Slip</p>").decode()}, headers=h
        ).data
        assert pdf.startswith(b"%PDF")
        uri = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
        as_pdf = queue(client, h, pdf_printer["id"], job=uri)
        assert client.get(as_pdf["artifact"], headers=h).data == pdf
        as_zpl = queue(client, h, zpl_printer["id"], job=uri)
        art = client.get(as_zpl["artifact"], headers=h).data
        assert (
            as_zpl["encoding"] == "zpl" and art.startswith(b"^XA") and b"^GF" in art and art.rstrip().endswith(b"^XZ")
        )

    def test_a_stored_document_prints_by_its_id(self, client, h, rig):
        hub, _printer = rig
        pdf_printer = new_printer(client, h, hub["id"], encoding="pdf")
        body = {"content": base64.b64encode(b"<p>Stored</p>").decode(), "path": "/docs", "filename": "s.pdf"}
        stored = client.post("/cnt/html", json=body, headers=h)
        assert stored.status_code in (200, 201), stored.get_json()
        file_id = stored.get_json()["id"]
        job = queue(client, h, pdf_printer["id"], job=file_id)
        assert job["job"] == file_id and client.get(job["artifact"], headers=h).data.startswith(b"%PDF")

    def test_filters_and_token_paging(self, client, h, rig):
        hub, printer = rig
        other = new_printer(client, h, hub["id"], address="127.0.0.2")
        jobs = [queue(client, h, printer["id"]) for _ in range(3)] + [queue(client, h, other["id"])]
        client.put(f"/spl/queue/{jobs[0]['id']}", json={"status": "cancelled"}, headers=h)
        ids = lambda r: [j["id"] for j in r.get_json()]
        assert ids(client.get(f"/spl/queue?printer_id={other['id']}", headers=h)) == [jobs[3]["id"]]
        assert ids(client.get(f"/spl/queue?tag={other['id']}", headers=h)) == [jobs[3]["id"]]
        assert ids(client.get("/spl/queue?status=cancelled", headers=h)) == [jobs[0]["id"]]
        first = client.get("/spl/queue", headers={**h, "x-page-size": "3"})
        second = client.get("/spl/queue", headers={**h, "x-page-size": "3", "x-page": first.headers["x-page"]})
        assert ids(first) + ids(second) == [j["id"] for j in reversed(jobs)]
        refused(client.get("/spl/queue?status=lost", headers=h), 400)
        refused(client.get("/spl/queue", headers={**h, "x-page-size": "0"}), 400)

    def test_reprint_and_redirect(self, client, h, rig):
        hub, printer = rig
        spare = new_printer(client, h, hub["id"], address="127.0.0.3")
        pdf_printer = new_printer(client, h, hub["id"], encoding="pdf")
        job = queue(client, h, printer["id"])
        r = client.post(f"/spl/queue/{job['id']}/redirect", json={"printer_id": spare["id"]}, headers=h)
        assert r.status_code == 200 and r.get_json()["printer_id"] == spare["id"] and r.get_json()["tag"] == spare["id"]
        refused(client.post(f"/spl/queue/{job['id']}/redirect", json={"printer_id": pdf_printer["id"]}, headers=h), 409)
        pull(client, hub)
        report(client, hub, job["id"], "printed")
        refused(client.post(f"/spl/queue/{job['id']}/redirect", json={"printer_id": printer["id"]}, headers=h), 409)
        again = client.post(f"/spl/queue/{job['id']}/reprint", headers=h).get_json()
        assert again["id"] != job["id"] and again["status"] == "scheduled" and again["printer_id"] == spare["id"]
        assert client.get(again["artifact"], headers=h).data == ZPL


# --- printing from the floor --------------------------------------------------------------------


class TestFloor:
    def test_a_parcels_label_prints_as_native_zpl(self, client, h, rig):
        _hub, printer = rig
        s = picked_shipment(client, h)
        p = parcel(client, h, s)
        r = client.post(f"/lcs/parcels/{p['id']}/print", json={"printer_id": printer["id"]}, headers=h)
        assert r.status_code == 204 and not r.data and r.headers["x-job-id"]
        job = client.get(f"/spl/queue/{r.headers['x-job-id']}", headers=h).get_json()
        assert job["job"] == f"lcs:parcel:{p['id']}" and job["description"] == f"Label for parcel {p['number']}"
        zpl = client.get(job["artifact"], headers=h).data.decode()
        assert zpl.startswith("~SD15") and "^XA" in zpl and "^CI28" in zpl and f">;>800{p['number']}" in zpl
        assert client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["closed_at"]

    def test_a_pdf_printer_gets_the_pdf_label(self, client, h, rig):
        hub, _ = rig
        pdf_printer = new_printer(client, h, hub["id"], encoding="pdf")
        p = parcel(client, h, picked_shipment(client, h))
        r = client.post(f"/lcs/parcels/{p['id']}/print", json={"printer_id": pdf_printer["id"]}, headers=h)
        job = client.get(f"/spl/queue/{r.headers['x-job-id']}", headers=h).get_json()
        assert client.get(job["artifact"], headers=h).data.startswith(b"%PDF")

    def test_without_a_printer_the_default_printer_else_a_400(self, client, h, rig):
        _, printer = rig
        p = parcel(client, h, picked_shipment(client, h))
        refused(client.post(f"/lcs/parcels/{p['id']}/print", headers=h), 400, "printer_id")
        assert client.put("/spl/printers/default", json={"printer_id": printer["id"]}, headers=h).status_code == 204
        r = client.post(f"/lcs/parcels/{p['id']}/print", headers=h)
        assert client.get(f"/spl/queue/{r.headers['x-job-id']}", headers=h).get_json()["printer_id"] == printer["id"]

    def test_an_unlabelable_parcel_is_refused_and_nothing_is_queued(self, client, h, rig):
        _, printer = rig
        s = picked_shipment(client, h)
        empty = client.post("/lcs/parcels", json={"shipment_id": s["id"], "weight": 100}, headers=h).get_json()
        refused(client.post(f"/lcs/parcels/{empty['id']}/print", json={"printer_id": printer["id"]}, headers=h), 422)
        assert client.get("/spl/queue", headers=h).get_json() == []

    def test_a_lists_labels_print_as_one_job(self, client, h, rig):
        _, printer = rig
        s1, s2 = new_shipment(client, h), new_shipment(client, h)
        list_id = new_list(client, h, s1["id"], s2["id"])
        for unit in s1["items"] + s2["items"]:
            scan(client, h, list_id, unit["id"])
        p1, p2 = (parcel(client, h, client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()) for s in (s1, s2))
        r = client.post(f"/lcs/lists/{list_id}/print", json={"printer_id": printer["id"]}, headers=h)
        assert r.status_code == 204, r.get_json()
        job = client.get(f"/spl/queue/{r.headers['x-job-id']}", headers=h).get_json()
        assert job["description"].endswith("(2 parcels)")
        zpl = client.get(job["artifact"], headers=h).data.decode()
        assert zpl.count("^XA") == 2 and zpl.index(p1["number"]) < zpl.index(p2["number"])

    def test_a_tenants_template_prints_and_a_broken_one_is_refused(self, client, h, rig):
        _, printer = rig
        bad = client.put("/spl/settings/label", json={"body": "^XA^FO10,10^FD{{ nope }}^FS^XZ"}, headers=h)
        body = refused(bad, 400, "body")
        assert "nope" in body["message"]
        good = "^XA^CI28^FO30,30^A0N,40^FH_^FDOUR LABEL {{ shipment_number }}^FS^XZ"
        r = client.put("/spl/settings/label", json={"body": good}, headers=h)
        assert r.status_code == 200 and r.get_json()["is_default"] is False and "OUR LABEL" in r.get_json()["preview"]
        p = parcel(client, h, picked_shipment(client, h))
        job_id = client.post(f"/lcs/parcels/{p['id']}/print", json={"printer_id": printer["id"]}, headers=h).headers[
            "x-job-id"
        ]
        art = client.get(client.get(f"/spl/queue/{job_id}", headers=h).get_json()["artifact"], headers=h).data.decode()
        assert "OUR LABEL" in art
        assert client.delete("/spl/settings/label", headers=h).get_json()["is_default"] is True

    def test_a_test_print_queues_the_sample_label(self, client, h, rig):
        _, printer = rig
        r = client.post(f"/spl/printers/{printer['id']}/test", headers=h)
        assert r.status_code == 204
        job = client.get(f"/spl/queue/{r.headers['x-job-id']}", headers=h).get_json()
        assert "^XA" in client.get(job["artifact"], headers=h).data.decode()


class TestStations:
    def test_closing_a_parcel_prints_at_the_bound_station(self, app, client, h, rig, admin):
        from tests.support import browser_login

        _, printer = rig
        r = client.post(
            "/spl/stations", json={"name": "Bench 1", "code": "PACK-1", "printer_id": printer["id"]}, headers=h
        )
        assert r.status_code == 200 and r.get_json()["printer_name"] == printer["name"]
        refused(client.post("/spl/stations", json={"name": "Bench 2", "code": "PACK-1"}, headers=h), 409)
        browser = app.test_client()
        csrf = browser_login(browser, admin)
        headers = {"X-CSRFToken": csrf, "Accept": "application/json"}
        refused(browser.post("/spl/stations/bind", json={"code": "PACK-9"}, headers=headers), 404)
        assert browser.post("/spl/stations/bind", json={"code": " PACK-1 "}, headers=headers).status_code == 200
        s = picked_shipment(client, h)
        p = client.post(
            "/lcs/parcels", json={"shipment_id": s["id"], "item_ids": [u["id"] for u in s["items"]]}, headers=h
        ).get_json()
        closed = browser.post(f"/lcs/parcels/{p['id']}/close", json={"weight": 900}, headers=headers)
        assert closed.status_code == 200 and closed.headers["x-task-id"] and closed.headers["x-job-id"]
        job = client.get(f"/spl/queue/{closed.headers['x-job-id']}", headers=h).get_json()
        assert job["printer_id"] == printer["id"] and job["description"] == f"Label for parcel {p['number']}"
        # unbound, without a default printer: the close still works and prints nothing
        assert browser.post("/spl/stations/bind", json={"code": ""}, headers=headers).status_code == 204
        s2 = picked_shipment(client, h)
        p2 = client.post(
            "/lcs/parcels", json={"shipment_id": s2["id"], "item_ids": [u["id"] for u in s2["items"]]}, headers=h
        ).get_json()
        closed = browser.post(f"/lcs/parcels/{p2['id']}/close", json={"weight": 900}, headers=headers)
        assert closed.status_code == 200 and "x-job-id" not in closed.headers

    def test_stations_crud_and_another_tenants_printer(self, app, client, h, rig, make):
        _, printer = rig
        st = client.post("/spl/stations", json={"name": "Bench 1", "code": "PACK-1"}, headers=h).get_json()
        r = client.put(
            f"/spl/stations/{st['id']}",
            json={"name": "Bench 1b", "code": "PACK-1B", "printer_id": printer["id"]},
            headers=h,
        )
        assert r.status_code == 200 and r.get_json()["code"] == "PACK-1B"
        assert [x["name"] for x in client.get("/spl/stations", headers=h).get_json()] == ["Bench 1b"]
        other = make.tenant("Rival")
        rival = bearer(api_token(client, with_features(app, other, "ops@rival.test", ["spl.*"])))
        refused(
            client.post("/spl/stations", json={"name": "X", "code": "X1", "printer_id": printer["id"]}, headers=rival),
            404,
        )
        refused(client.delete(f"/spl/stations/{st['id']}", headers=rival), 404)
        assert client.delete(f"/spl/stations/{st['id']}", headers=h).status_code == 204
        assert client.get("/spl/stations", headers=h).get_json() == []
        # the code of a removed station is free again
        assert client.post("/spl/stations", json={"name": "Bench 1", "code": "PACK-1B"}, headers=h).status_code == 200

    def test_scanning_the_benchs_barcode_at_pack_binds_the_session(self, app, client, h, rig, admin):
        from tests.support import HX, browser_login

        _, printer = rig
        client.post("/spl/stations", json={"name": "Bench 3", "code": "PACK-3", "printer_id": printer["id"]}, headers=h)
        browser = app.test_client()
        csrf = browser_login(browser, admin)
        r = browser.post("/lcs/pack/open", data={"code": "PACK-3", "csrf_token": csrf}, headers=HX)
        assert r.status_code == 200 and "At pack station <strong>Bench 3</strong>" in r.get_data(as_text=True)
        assert "Bench 3" in r.headers.get("HX-Trigger", "")
        s = picked_shipment(client, h)
        p = client.post(
            "/lcs/parcels", json={"shipment_id": s["id"], "item_ids": [u["id"] for u in s["items"]]}, headers=h
        ).get_json()
        closed = browser.post(f"/lcs/parcels/{p['id']}/close", data={"weight": "900", "csrf_token": csrf}, headers=HX)
        assert closed.status_code == 200 and closed.headers["x-job-id"]
        assert "printing on " + printer["name"] in closed.headers.get("HX-Trigger", "")
        # an API client's scan of the same code is no shipment: 404
        refused(client.post("/lcs/pack/open", json={"code": "PACK-3"}, headers=h), 404)


def test_the_printer_pages_health_refreshes_after_a_test_print(app, client, h, rig, admin):
    """htmx: the test print announces spl:printers-changed; the health card re-fetches itself alone."""
    from tests.support import HX, browser_login

    _, printer = rig
    browser = app.test_client()
    csrf = browser_login(browser, admin)
    r = browser.post(f"/spl/printers/{printer['id']}/test", headers={**HX, "X-CSRFToken": csrf})
    assert r.status_code == 200 and "spl:printers-changed" in r.headers["HX-Trigger"] and r.headers["x-job-id"]
    card = browser.get(f"/spl/printers/{printer['id']}", headers={**HX, "HX-Target": "printer-health"})
    html = card.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="printer-health"') and "1 job" in html and "<form" not in html
