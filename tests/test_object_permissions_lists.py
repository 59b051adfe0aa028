"""No list forgets the exceptions: every protected list and search endpoint whose features take
object grants, walked from the URL map, answers a caller denied one cluster of records (a
location with its shipment, units, list and parcel; a rule set with its rule and logs; a
partition with its file) without any of them — and its count agrees with its items."""

from __future__ import annotations

import io
import re

from services.object_permissions import kinds_for
from tests.support import (
    TO,
    api_token,
    bearer,
    new_list,
    new_shipment,
    object_grant,
    png,
    protected_operations,
    tenant_admin,
    user_id_of,
    with_features,
)


def _cluster(client, h, tag: str) -> tuple[dict, set[str]]:
    """Records of one kind each, linked like on a floor: (objects to grant on by kind, every id)."""
    loc = client.post("/lcs/locations", json={"name": f"Loc {tag}"}, headers=h).get_json()["id"]
    s = new_shipment(
        client, h, addressing={"from": {"entity_type": "location", "entity_id": loc}, "to": {"address": TO}}
    )
    hl = new_list(client, h, s["id"])
    p = client.post("/lcs/parcels", json={"shipment_id": s["id"], "weight": 500, "item_ids": []}, headers=h)
    assert p.status_code == 200, p.get_json()
    rule_body = {"ruleId": f"rule-{tag}", "ruleName": tag, "ruleType": "GUARD", "entityType": "matrix.thing"}
    rule = client.post("/api/business_rules/rules", json=rule_body, headers=h).get_json()["id"]
    rset = client.post("/api/business_rules/sets", json={"setId": f"set-{tag}", "setName": tag}, headers=h).get_json()
    client.post(f"/api/business_rules/sets/{rset['id']}/members", json={"ruleId": rule}, headers=h)
    client.post(f"/api/business_rules/execute/{rule}", json={"data": {"n": 1}}, headers=h)
    logs = client.get(f"/api/business_rules/logs?ruleId={rule}", headers=h).get_json()["items"]
    part = client.post("/api/attachments/partitions", json={"code": f"part{tag}", "title": tag}, headers=h).get_json()
    part_id = part["item"]["id"] if "item" in part else part["id"]
    data = {
        "entityId": "lcs:shipment",
        "recordId": "R1",
        "partitionCode": f"part{tag}",
        "file": (io.BytesIO(png()), "f.png"),
    }
    up = client.post("/api/attachments", data=data, headers=h, content_type="multipart/form-data").get_json()
    objects = {
        "location": loc,
        "shipment": s["id"],
        "handling_list": hl,
        "business_rule": rule,
        "rule_set": rset["id"],
        "storage_partition": part_id,
    }
    ids = {loc, s["id"], hl, p.get_json()["id"], rule, rset["id"], part_id, up["item"]["id"]}
    ids |= {u["id"] for u in s["items"]} | {entry["id"] for entry in logs}
    return objects, ids


def _listing(r) -> tuple[list[dict], int] | None:
    """(items, total) of a family A page or a family B array with ``x-count``; None otherwise."""
    if r.status_code != 200 or not r.is_json:
        return None
    body = r.get_json()
    if isinstance(body, list) and "x-count" in r.headers:
        return body, int(r.headers["x-count"])
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"], body.get("total", len(body["items"]))
    return None


def _ids(items) -> set[str]:
    """Ids of the listed records (grouped units list theirs under ``ids``)."""
    found = set()
    for i in items:
        if isinstance(i, dict):
            found |= {str(i.get("id"))} | {str(x) for x in i.get("ids") or []}
    return found


def test_lists_counts_and_searches_agree_with_the_exceptions(app, client, tenant, files_root):
    lead = bearer(api_token(client, tenant_admin(app, tenant, "lead@acme.test")))
    _kept_objects, kept = _cluster(client, lead, "k")
    denied_objects, denied = _cluster(client, lead, "d")

    checked, failures, counter = [], [], 0
    for rule, method, access in protected_operations(app):
        restrictable = [f for f in access.features if kinds_for(f)]
        listing = method == "GET" and "<" not in rule.rule
        search = method == "POST" and re.search(r"/search(/|$)", rule.rule) and "<" not in rule.rule
        if not restrictable or not (listing or search) or not rule.rule.startswith("/api/"):
            continue
        counter += 1
        full = with_features(app, tenant, f"full{counter}@acme.test", list(access.features))
        narrow = with_features(app, tenant, f"narrow{counter}@acme.test", list(access.features))
        for feature in restrictable:
            for kind, oid in denied_objects.items():
                if kind in kinds_for(feature):
                    object_grant(app, tenant, feature, oid, kind, False, user_id=user_id_of(app, narrow))

        def call(email, rule=rule, search=search):
            headers = {**bearer(api_token(client, email)), "x-page-size": "100"}
            query = {"pageSize": 100}
            if search:
                return client.post(rule.rule, json={"constraints": []}, headers=headers)
            return client.get(rule.rule, query_string=query, headers=headers)

        seen, got = _listing(call(full)), _listing(call(narrow))
        if seen is None or not (_ids(seen[0]) & denied):
            continue  # not a list of these records (or needs parameters): nothing to compare
        checked.append(f"{method} {rule.rule}")
        items, total = got or ([], -1)
        leaked = _ids(items) & denied
        lost = (_ids(seen[0]) & kept) - _ids(items)
        if got is None or leaked or lost or total != len(items):
            failures.append(
                f"{method} {rule.rule}: leaked {len(leaked)}, lost {len(lost)}, total {total} vs {len(items)}"
            )
    assert len(checked) >= 14, checked  # 15 when written
    assert not failures, "\n".join(failures)
