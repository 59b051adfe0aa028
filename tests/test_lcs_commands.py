"""The write skeleton (``services.commands``) as the logistics services use it: one commit
per operation, nothing half-written after a failure, nested commands joining their
caller's transaction, "after" events only once the change is durable, and derived
shipment flags that read the same as JSON values and as SQL filters."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from models import Parcel, Shipment, ShipmentItem, db
from schemas.lcs_lists import LcsHandlingListUpdate, LcsHandlingModel
from schemas.lcs_shipments import (
    LcsShipmentItemCorrection,
    LcsShipmentItemMissing,
    LcsShipmentItemModel,
    LcsShipmentModel,
    LcsShipmentUpdateModel,
)
from services import events
from services.commands import after_commit, command, discard, on_rollback, savepoint
from services.errors import ValidationFailed
from services.logistics import lists, shipments
from tests.support import SYSTEM


@contextmanager
def commits():
    """Count the database COMMITs inside the block (savepoints are not commits)."""
    seen = []

    def count(conn):
        seen.append(1)

    sa.event.listen(db.engine, "commit", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "commit", count)


@contextmanager
def listening(phase: str):
    seen = []

    def listener(entity, event, data, context):
        seen.append((entity, event))

    events.subscribe(phase, listener)
    try:
        yield seen
    finally:
        events._listeners[phase].remove(listener)


def new_shipment(tenant, *skus) -> Shipment:
    return shipments.create_shipment(
        SYSTEM,
        LcsShipmentModel(
            tenant_id=tenant,
            is_outbound=True,
            order_id="ORD-1",
            items=[LcsShipmentItemModel(sku=sku, quantity=1) for sku in skus or ("SKU-A", "SKU-B")],
        ),
    )


def units_of(shipment_id) -> list[ShipmentItem]:
    return list(
        db.session.scalars(
            sa.select(ShipmentItem).where(ShipmentItem.shipment_id == shipment_id).order_by(ShipmentItem.sequence)
        )
    )


def test_update_shipment_commits_once_with_its_search_text(ctx, tenant):
    s = new_shipment(tenant)
    with commits() as seen, listening("after") as after:
        shipments.update_shipment(SYSTEM, s.id, LcsShipmentUpdateModel(order_id="ORD-NEW"))
    assert len(seen) == 1
    assert after == [("lcs.shipment", "updated")]
    db.session.expire_all()
    stored = db.session.get(Shipment, s.id)
    assert stored.order_id == "ORD-NEW" and "ord-new" in stored.search_text


def test_a_failure_after_the_first_change_leaves_nothing_half_written(ctx, tenant):
    """The first unit is marked missing, then the second entry names a unit of another
    shipment: the operation fails as a whole, even if the session commits later on."""
    s, other = new_shipment(tenant), new_shipment(tenant, "SKU-Z")
    first, stranger = units_of(s.id)[0].id, units_of(other.id)[0].id
    with commits() as seen, pytest.raises(ValidationFailed):
        shipments.set_missing(
            SYSTEM,
            s.id,
            [LcsShipmentItemMissing(id=first, is_missing=True), LcsShipmentItemMissing(id=stranger, is_missing=True)],
        )
    assert seen == []
    db.session.commit()  # whatever the caller writes next must not carry the half
    db.session.expire_all()
    assert not any(u.is_missing for u in units_of(s.id))


def test_a_nested_command_joins_its_callers_transaction(ctx, tenant):
    s = new_shipment(tenant)

    @command()
    def correct_then_fail():
        shipments.set_corrections(SYSTEM, s.id, "overage", [LcsShipmentItemCorrection(sku="SKU-X", quantity=1)])
        raise ValidationFailed("later step refused")

    with commits() as seen, pytest.raises(ValidationFailed):
        correct_then_fail()
    assert seen == []
    db.session.expire_all()
    assert not db.session.get(Shipment, s.id).overage


def test_finishing_through_the_state_change_is_one_commit_and_events_follow_it(ctx, tenant):
    s = new_shipment(tenant, "SKU-A")
    hl = lists.create_list(SYSTEM, LcsHandlingModel(shipments=[{"id": s.id}]))
    db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.list_id == hl.id).values(is_handled=True))
    db.session.commit()
    committed_when_heard = []

    def listener(entity, event, data, context):
        committed_when_heard.append(len(seen))

    events.subscribe("after", listener)
    try:
        with commits() as seen:
            lists.set_state(SYSTEM, hl.id, LcsHandlingListUpdate(is_finished=True))  # set_state → finish
    finally:
        events._listeners["after"].remove(listener)
    assert len(seen) == 1
    assert committed_when_heard == [1]  # the "finished" event ran after the one commit


def test_a_refused_write_runs_no_after_event(ctx, tenant):
    s = new_shipment(tenant)
    lists.create_list(SYSTEM, LcsHandlingModel(shipments=[{"id": s.id}]))
    with listening("after") as after, pytest.raises(Exception, match="already on an active handling list"):
        lists.create_list(SYSTEM, LcsHandlingModel(shipments=[{"id": s.id}]))
    assert after == []


def test_discard_answers_without_the_changes_or_the_hooks(ctx, tenant):
    s = new_shipment(tenant)
    ran = []

    @command()
    def lose_the_race():
        db.session.execute(sa.update(Shipment).where(Shipment.id == s.id).values(order_id="LOST"))
        after_commit(lambda: ran.append("hook"))
        discard()
        return "nothing to do"

    with commits() as seen:
        assert lose_the_race() == "nothing to do"
    assert seen == [] and ran == []
    db.session.expire_all()
    assert db.session.get(Shipment, s.id).order_id == "ORD-1"


def test_a_refused_savepoint_undoes_only_its_part(ctx, tenant):
    """``savepoint()``: what the block wrote is undone, its after-commit hooks dropped and its
    rollback hooks run at once; what the command did before it commits, with its hooks."""
    s = new_shipment(tenant)
    ran = []

    @command()
    def keep_the_first_part():
        db.session.execute(sa.update(Shipment).where(Shipment.id == s.id).values(order_id="KEPT"))
        after_commit(lambda: ran.append("kept"))
        with pytest.raises(ValidationFailed), savepoint():
            db.session.execute(sa.update(Shipment).where(Shipment.id == s.id).values(channel_id="UNDONE"))
            after_commit(lambda: ran.append("dropped"))
            on_rollback(lambda: ran.append("rolled back"))
            raise ValidationFailed("refused")
        assert ran == ["rolled back"]

    with commits() as seen:
        keep_the_first_part()
    assert len(seen) == 1 and ran == ["rolled back", "kept"]
    db.session.expire_all()
    stored = db.session.get(Shipment, s.id)
    assert (stored.order_id, stored.channel_id) == ("KEPT", None)
    with pytest.raises(RuntimeError, match="outside a command"), savepoint():
        pass


def test_derived_flags_read_the_same_as_values_and_as_filters(ctx, tenant):
    """Every flag, on shipments in many states — including a boxed unit later marked
    missing next to an open one, where the two old definitions disagreed."""
    plain = new_shipment(tenant)
    canceled = new_shipment(tenant)
    shipments.cancel_shipment(SYSTEM, canceled.id)
    listed = new_shipment(tenant)
    lists.create_list(SYSTEM, LcsHandlingModel(shipments=[{"id": listed.id}]))
    handled = new_shipment(tenant)
    db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.shipment_id == handled.id).values(is_handled=True))
    boxed_missing = new_shipment(tenant)
    parcel = Parcel(tenant_id=tenant, shipment_id=boxed_missing.id, number="P-1", label={"file_id": "x"})
    db.session.add(parcel)
    db.session.flush()
    one, _ = units_of(boxed_missing.id)
    db.session.execute(
        sa.update(ShipmentItem)
        .where(ShipmentItem.id == one.id)
        .values(parcel_id=parcel.id, is_missing=True, is_handled=True)
    )
    shipments.set_corrections(SYSTEM, plain.id, "overage", [LcsShipmentItemCorrection(sku="SKU-X", quantity=1)])
    db.session.commit()

    everything = [plain, canceled, listed, handled, boxed_missing]
    values = shipments.flags_for(db.session.scalars(sa.select(Shipment)).all())
    for flag in shipments.FLAG_RULES:
        for wanted in (True, False):
            by_sql = set(db.session.scalars(sa.select(Shipment.id).where(shipments.flag_condition(flag, wanted))))
            by_value = {s.id for s in everything if values[s.id][flag] is wanted}
            assert by_sql == by_value, (flag, wanted)
    assert values[boxed_missing.id]["is_boxed"] is True and values[boxed_missing.id]["is_editable"] is False
    assert values[plain.id]["is_overcomplete"] is True and values[handled.id]["is_handled"] is True


def test_only_the_outermost_command_runs_again_after_a_deadlock(ctx, tenant):
    """A deadlock victim lost its whole transaction: the nested command must not redo its
    own part alone on top of a rolled-back caller; the outermost command runs again."""

    class Orig(Exception):
        sqlstate = "40P01"

    s = new_shipment(tenant)
    calls = {"outer": 0, "inner": 0}

    @command(retry_deadlocks=True)
    def inner():
        calls["inner"] += 1
        if calls["inner"] == 1:
            raise sa.exc.OperationalError("UPDATE …", {}, Orig())

    @command(retry_deadlocks=True)
    def outer():
        calls["outer"] += 1
        db.session.execute(sa.update(Shipment).where(Shipment.id == s.id).values(order_id=f"RUN-{calls['outer']}"))
        inner()

    with commits() as seen:
        outer()
    assert calls == {"outer": 2, "inner": 2} and len(seen) == 1
    db.session.expire_all()
    assert db.session.get(Shipment, s.id).order_id == "RUN-2"


def test_a_command_in_another_app_context_has_its_own_transaction(app, ctx, tenant):
    """A task run eagerly (a fresh app context, so a session of its own) inside a command
    commits its own work: it is not "nested" in the caller's transaction."""
    s = new_shipment(tenant)

    @command()
    def refused_after_a_task():
        with app.app_context():
            shipments.set_corrections(SYSTEM, s.id, "overage", [LcsShipmentItemCorrection(sku="SKU-X")])
        raise ValidationFailed("refused")

    with pytest.raises(ValidationFailed):
        refused_after_a_task()
    db.session.expire_all()
    assert [c["sku"] for c in db.session.get(Shipment, s.id).overage] == ["SKU-X"]
