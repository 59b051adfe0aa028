"""Input of the directory routes: the same forms read HTML form posts and JSON bodies, and
the OpenAPI generator derives the request schemas from them. Business rules (slug format,
tree moves, uniqueness) live in services.directory; the forms only say what is required."""
from wtforms import BooleanField, StringField
from wtforms.validators import InputRequired, Length, Optional

from blueprints.auth.forms import ApiForm


class TenantCreateForm(ApiForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    isActive = BooleanField("Active", validators=[Optional()])


class TenantUpdateForm(ApiForm):
    id = StringField("Tenant id", validators=[InputRequired()])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    isActive = BooleanField("Active", validators=[Optional()])


class OrganizationCreateForm(ApiForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    slug = StringField("Slug (generated from the name when empty)", validators=[Optional(), Length(max=120)])
    parentId = StringField("Parent organization id (empty = top level)", validators=[Optional()])
    tenantId = StringField("Tenant id (super admins only; default: the parent's or your tenant)",
                           validators=[Optional()])
    isActive = BooleanField("Active", validators=[Optional()])


class OrganizationUpdateForm(ApiForm):
    id = StringField("Organization id", validators=[InputRequired()])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    slug = StringField("Slug", validators=[Optional(), Length(max=120)])
    parentId = StringField("Parent organization id (null = top level; omit to keep)", validators=[Optional()])
    isActive = BooleanField("Active", validators=[Optional()])


class DeleteForm(ApiForm):
    id = StringField("Id", validators=[InputRequired()])
