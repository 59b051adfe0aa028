"""Input of the API key routes. ``roles`` (a list of role ids) is read from the body
directly; the form documents and validates the scalar fields."""
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.auth.forms import ApiForm


class ApiKeyForm(ApiForm):
    name = StringField("Name", validators=[DataRequired(message="is required"), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=1000)])
    tenantId = StringField("Tenant id (super admins only; default: your tenant)", validators=[Optional()])
    organizationId = StringField("Organization id", validators=[Optional()])
    expiresAt = StringField("Expires at (ISO-8601, UTC when no offset; empty or null = never)",
                            validators=[Optional()])
