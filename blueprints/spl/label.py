"""The ZPL parcel label template (Wharf): a tenant may override the shipped one; it is
validated when saved (it must render the sample parcel into one ``^XA…^XZ`` label), has a
preview, and the shipped template stays the fallback."""

from __future__ import annotations

from blueprints.spl import bp
from models import LabelTemplate, db
from schemas.spl import SplLabelTemplate, SplLabelTemplateModel
from services import zpl
from services.printing import floor, printers
from web.access import current_actor, registry, requires
from web.contract import operation
from web.forms import show_again
from web.negotiate import respond

PAGE = "spl/label.html"
registry.add_nav("Label template", "spl.label_template", group="Administration", order=430)


def _current() -> dict:
    actor = current_actor()
    row = db.session.scalars(actor.scope.select(LabelTemplate)).first()
    body = row.body if row is not None else zpl.shipped_template()
    return {
        "body": body,
        "is_default": row is None,
        "updated_at": row.updated_at if row is not None else None,
        "preview": zpl.render_label(zpl.sample_fields(), dpi=203, template=None if row is None else body),
    }


def _context(**extra) -> dict:
    actor = current_actor()
    # the page's test print: the saved template on one of the tenant's live ZPL printers
    zpl_printers = [
        p
        for p in db.session.scalars(printers.visible_printers(actor))
        if p.default_encoding == "zpl" and p.disabled_at is None
    ]
    return {
        "t": _current(),
        "can_manage": actor.grants.allows(["spl.manage"]),
        "can_print": actor.grants.allows(["spl.print"]),
        "printers": [{"id": p.id, "name": p.name} for p in zpl_printers],
        **extra,
    }


_save_error = show_again(PAGE, "label_form", context=lambda: _context())


@bp.get("/settings/label")
@requires("spl.read")
@operation(responses={200: SplLabelTemplate})
def label_template():
    """The ZPL parcel label template (Wharf)

    The tenant's own, else the shipped one, with a preview rendered from sample data.
    """
    return respond(_current(), template=PAGE, context=lambda: _context())


@bp.put("/settings/label")
@requires("spl.manage")
@operation(body=SplLabelTemplateModel, responses={200: SplLabelTemplate}, form_error=_save_error)
def save_label_template(body: SplLabelTemplateModel):
    """Save the tenant's label template (Wharf)

    A Jinja template of ZPL; refused (400, every problem listed) unless it renders the
    sample parcel into a label.
    """
    floor.save_template(current_actor(), body.body)
    return respond(
        _current(),
        template=PAGE,
        block="label_form",
        context=lambda: _context(saved=True),
        toast="Label template saved",
    )


@bp.delete("/settings/label")
@requires("spl.manage")
@operation(responses={200: SplLabelTemplate})
def reset_label_template():
    """Back to the shipped label template (Wharf)"""
    floor.reset_template(current_actor())
    return respond(
        _current(), template=PAGE, block="label_form", context=lambda: _context(), toast="Shipped label restored"
    )
