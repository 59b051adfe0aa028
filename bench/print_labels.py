"""Benchmark: the same 100 parcel labels for a ZPL printer (native ZPL, what a thermal printer
takes) and for a PDF printer (the WeasyPrint label), in one run: labels/s, the ratio, and the
bytes a hub has to carry to the printer.

The path timed is the one ``POST /lcs/lists/{id}/print`` takes (``floor.label_bytes``): the
database read of the parcels, the label data, then ZPL from the Jinja template (with the
printer's darkness) or the PDF from HTML. CPU seconds of this process, median of interleaved
rounds, as bench/documents.py measures (a full garbage collection before each timed part).

    .venv/bin/python bench/print_labels.py [--labels 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from documents import build  # bench/documents.py: 100 parcels on one handling list

from models import Printer, db
from schemas.spl import SplHubModel, SplPrinterModel
from services import documents
from services.acl import SYSTEM
from services.logistics import lists
from services.printing import floor, hubs, printers


def make_printers(app) -> dict[str, object]:
    with app.app_context():
        tenant_id = db.session.scalar(db.select(lists.HandlingList.tenant_id))
        hub, _ = hubs.create_hub(SYSTEM, SplHubModel(name="Bench hub"), tenant_id=tenant_id)
        made = {}
        for encoding in ("zpl", "pdf"):
            body = {"name": encoding, "hub_id": hub.id, "default_encoding": encoding}
            body["connection"] = {"interface": "network", "address": "127.0.0.1"}
            made[encoding] = printers.create_printer(SYSTEM, SplPrinterModel(**body)).id
        return made


def one_round(app, list_id, printer_id) -> tuple[float, int]:
    with app.test_request_context():
        db.session.expire_all()
        gc.collect()
        start = time.process_time()
        parcels = documents.list_parcels(db.session.get(lists.HandlingList, list_id))
        data = floor.label_bytes(parcels, db.session.get(Printer, printer_id))
        elapsed = time.process_time() - start
        db.session.remove()
    return elapsed, len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    app, list_id, _, _ = build(args.labels)
    ids = make_printers(app)
    one_round(app, list_id, ids["zpl"])  # warm: templates compiled, fonts loaded
    one_round(app, list_id, ids["pdf"])
    times: dict[str, list[float]] = {"zpl": [], "pdf": []}
    sizes: dict[str, int] = {}
    for _ in range(args.rounds):
        for encoding in ("zpl", "pdf"):
            elapsed, size = one_round(app, list_id, ids[encoding])
            times[encoding].append(elapsed)
            sizes[encoding] = size
    zpl, pdf = (statistics.median(times[e]) for e in ("zpl", "pdf"))
    n = args.labels
    print(f"{n} parcel labels, median of {args.rounds} rounds (CPU seconds)")
    print(
        f"  ZPL (native, thermal printer): {zpl:.3f} s  {n / zpl:8.0f} labels/s  {sizes['zpl'] / n / 1024:6.1f} KiB/label"
    )
    print(
        f"  PDF (WeasyPrint label):        {pdf:.3f} s  {n / pdf:8.0f} labels/s  {sizes['pdf'] / n / 1024:6.1f} KiB/label"
    )
    print(f"  ZPL is {pdf / zpl:.0f}x faster to make and {sizes['pdf'] / sizes['zpl']:.1f}x smaller to carry")


if __name__ == "__main__":
    main()
