"""Benchmark: label PDFs and the barcode endpoint, each against a baseline in the same run.

1. A 100-label batch PDF (one HTML document, one page per label, as the batch-labels task
   and ``GET /lcs/lists/{id}/labels.pdf`` build it): labels/s for Wharf's whole path
   (database → label data → barcodes → Jinja → WeasyPrint), and the ratio to WeasyPrint
   alone rendering the same HTML with the barcodes removed. Goals: ≥ 50 labels/s, ratio ≤ 1.3.
2. ``GET /cnt/barcode`` (Code 128 PNG and SVG, every value new: no cache hits) through
   the test client vs calling python-barcode directly; and the cached second request.

Times are CPU seconds of this process (``time.process_time``): on an idle machine that is
the wall time, and on a shared one (CI, colleagues' test runs) it does not count the time
other processes had the core. Rounds are interleaved and the median is reported. Each timed
label section starts after a full garbage collection (not timed; collections its own work
triggers still count): a render leaves ~100 000 objects of garbage, a full collection of
this process costs ~0.15 s, and without it which section pays for the previous one's
garbage depends on where the collector's thresholds fall, moving the ratio by ±0.1 from
one run to the next.

    .venv/bin/python bench/documents.py [--labels 100] [--rounds 3] [--codes 300]
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from app import create_app
from models import db
from schemas.lcs_lists import LcsHandlingModel, LcsHandlingModelShipments
from schemas.lcs_parcels import LcsParcelCreateModel
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from services import accounts, documents, users
from services.acl import SYSTEM
from services.logistics import lists, parcels, shipments

PASSWORD = "bench-password-1"
TO = {
    "name": "Ann Jansen",
    "company": "Jansen B.V.",
    "street": "Damrak",
    "house_number": "1",
    "postal_code": "1012LG",
    "city": "Amsterdam",
    "country_code": "NL",
}
FROM = {
    "name": "Acme Logistics",
    "street": "Havenweg",
    "house_number": "3",
    "postal_code": "3011AA",
    "city": "Rotterdam",
    "country_code": "NL",
}


def build(n_labels: int):
    tmp = tempfile.mkdtemp(prefix="wharf-bench-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
            "SECRET_KEY": "b" * 48,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "ATTACHMENTS_ROOT": f"{tmp}/files",
        }
    )
    logging.getLogger("wharf.request").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        t = accounts.create_tenant("Bench")
        db.session.commit()
        users.create_user(SYSTEM, email="bench@b.test", password=PASSWORD, tenant_id=t.id)  # any signed-in user
        per_shipment = 4
        shipment_ids = []
        for n in range((n_labels + per_shipment - 1) // per_shipment):
            s = shipments.create_shipment(
                SYSTEM,
                LcsShipmentModel(
                    tenant_id=t.id,
                    order_id=f"ORD-{n}",
                    items=[
                        LcsShipmentItemModel(sku=f"SKU-{n}-{k}", quantity=1, description="Bench unit")
                        for k in range(per_shipment)
                    ],
                    addressing={"to": {"address": TO}, "from": {"address": FROM}},
                ),
            )
            shipment_ids.append(s.id)
            for k, unit in enumerate(s.items):
                if len(shipment_ids) * per_shipment - per_shipment + k >= n_labels:
                    break
                parcels.create_parcel(
                    SYSTEM,
                    LcsParcelCreateModel(
                        shipment_id=s.id,
                        weight=750 + k,
                        item_ids=[unit.id],
                        tracking_code=f"3S{n:05d}{k}",
                        tracking_url=f"https://track.example/3S{n:05d}{k}",
                    ),
                )
        hl = lists.create_list(
            SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=sid) for sid in shipment_ids])
        )
        list_id = hl.id
    client = app.test_client()
    token = client.post("/api/auth/login", json={"email": "bench@b.test", "password": PASSWORD}).get_json()["token"]
    return app, list_id, client, {"Authorization": f"Bearer {token}", "Accept": "application/json"}


# The label's barcodes: the SSCC (GS1-128) and the tracking QR code, as inline SVG or as images.
BARCODES = re.compile(r'<svg[^>]*class="barcode[^"]*".*?</svg>|<img class="(?:qr|barcode)"[^>]*>', re.DOTALL)


def wharf_labels(app, list_id) -> tuple[float, bytes, str]:
    """Database → PDF, as the batch task does it (minus storing)."""
    with app.test_request_context():
        db.session.expire_all()  # read the parcels from the database every round
        gc.collect()
        start = time.process_time()
        hl = db.session.get(lists.HandlingList, list_id)
        html = documents.labels_html(documents.list_parcels(hl), "Bench")
        pdf = documents.render_pdf(html)
        elapsed = time.process_time() - start
        db.session.remove()
    return elapsed, pdf, html


def weasyprint_alone(html: str) -> float:
    from weasyprint import HTML

    gc.collect()
    start = time.process_time()
    HTML(string=html).write_pdf()
    return time.process_time() - start


def bench_labels(app, list_id, n_labels: int, rounds: int) -> dict:
    wharf_labels(app, list_id)  # warm: fonts, templates, imports
    _, pdf, html = wharf_labels(app, list_id)
    bare = BARCODES.sub("", html)
    assert bare.count("<svg") == 0 and "<img" not in bare and html.count('class="label"') == n_labels
    weasyprint_alone(bare)
    ours, base, full = [], [], []
    for _ in range(rounds):  # interleaved, so drift hits both sides alike
        ours.append(wharf_labels(app, list_id)[0])
        base.append(weasyprint_alone(bare))
        full.append(weasyprint_alone(html))
    t_ours, t_base, t_full = statistics.median(ours), statistics.median(base), statistics.median(full)
    return {
        "labels": n_labels,
        "seconds": t_ours,
        "labels_per_s": n_labels / t_ours,
        "pdf_bytes": len(pdf),
        "baseline_seconds": t_base,
        "baseline_labels_per_s": n_labels / t_base,
        "ratio": t_ours / t_base,
        "render_ratio": t_full / t_base,
    }


def bench_barcodes(client, headers, n: int) -> dict:
    from barcode import Code128
    from barcode.writer import ImageWriter, SVGWriter

    from services import barcodes

    def endpoint(fmt: str, tag: str) -> float:
        barcodes.cache.clear()
        start = time.process_time()
        for i in range(n):
            r = client.get(
                "/cnt/barcode",
                query_string={"t": "code_128", "v": f"WHARF-{tag}-{i:06d}", "format": fmt},
                headers=headers,
            )
            assert r.status_code == 200, r.get_data(as_text=True)
        return n / (time.process_time() - start)

    def library(writer_cls, tag: str) -> float:
        start = time.process_time()
        for i in range(n):
            Code128(f"WHARF-{tag}-{i:06d}", writer=writer_cls()).write(io.BytesIO())
        return n / (time.process_time() - start)

    def cached() -> float:
        q = {"t": "code_128", "v": "WHARF-CACHED"}
        client.get("/cnt/barcode", query_string=q, headers=headers)
        start = time.process_time()
        for _ in range(n):
            client.get("/cnt/barcode", query_string=q, headers=headers)
        return n / (time.process_time() - start)

    endpoint("png", "warm")
    png, lib_png = endpoint("png", "a"), library(ImageWriter, "a")
    svg, lib_svg = endpoint("svg", "b"), library(SVGWriter, "b")
    return {
        "png_per_s": png,
        "python_barcode_png_per_s": lib_png,
        "png_ratio": lib_png / png,
        "svg_per_s": svg,
        "python_barcode_svg_per_s": lib_svg,
        "svg_ratio": lib_svg / svg,
        "cached_png_per_s": cached(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--codes", type=int, default=300)
    args = parser.parse_args()
    app, list_id, client, headers = build(args.labels)

    r = bench_labels(app, list_id, args.labels, args.rounds)
    print(f"Batch labels ({r['labels']} labels, one PDF, {r['pdf_bytes'] // 1024} KiB), median of {args.rounds}:")
    print(
        f"  Wharf (data + barcodes + template + WeasyPrint): {r['seconds']:.2f} s = {r['labels_per_s']:.1f} labels/s"
        f"   (goal ≥ 50)"
    )
    print(
        f"  WeasyPrint alone, same HTML without barcodes:    {r['baseline_seconds']:.2f} s = "
        f"{r['baseline_labels_per_s']:.1f} labels/s"
    )
    print(
        f"  ratio: {r['ratio']:.2f}   (goal ≤ 1.3); WeasyPrint alone with vs without barcodes: {r['render_ratio']:.2f}"
    )

    b = bench_barcodes(client, headers, args.codes)
    print(f"Barcode endpoint, Code 128, {args.codes} distinct values (no cache hits):")
    print(
        f"  PNG: GET /cnt/barcode {b['png_per_s']:.0f}/s vs python-barcode ImageWriter {b['python_barcode_png_per_s']:.0f}/s"
        f"  (python-barcode / endpoint = {b['png_ratio']:.2f})"
    )
    print(
        f"  SVG: GET /cnt/barcode {b['svg_per_s']:.0f}/s vs python-barcode SVGWriter {b['python_barcode_svg_per_s']:.0f}/s"
        f"  (python-barcode / endpoint = {b['svg_ratio']:.2f})"
    )
    print(f"  the same request again (in-process cache): {b['cached_png_per_s']:.0f}/s")


if __name__ == "__main__":
    main()
