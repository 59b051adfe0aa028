"""Input of the auth routes. The same forms read HTML form posts and JSON bodies,
and the OpenAPI generator derives request schemas from them."""
from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import Length, Optional

from services.errors import BadRequest
from web.forms import EmailAddress


class ApiForm(FlaskForm):
    """Base for Wharf forms: CSRF is enforced globally by web.identity, not per form."""

    class Meta(FlaskForm.Meta):
        csrf = False

        def wrap_formdata(self, form, formdata):
            """A JSON body must be an object: an array or a bare value is a 400, not a crash."""
            if request.is_json and request.method in ("POST", "PUT", "PATCH", "DELETE"):
                body = request.get_json(silent=True)
                if body is not None and not isinstance(body, dict):
                    raise BadRequest("Request body must be a JSON object", ok=False)
            return super().wrap_formdata(form, formdata)


class LoginForm(ApiForm):
    email = StringField("Email")
    password = PasswordField("Password")
    tenantId = StringField("Tenant id", validators=[Optional()])
    next = HiddenField()


class RefreshForm(ApiForm):
    refreshToken = StringField("Refresh token")


class ProfileForm(ApiForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    email = EmailField("Email", validators=[Optional(), EmailAddress(), Length(max=320)])
    currentPassword = PasswordField("Current password", validators=[Optional()])
    password = PasswordField("New password", validators=[Optional(), Length(min=8, max=200)])


class FeatureCheckForm(ApiForm):
    features = StringField("Feature ids (JSON array)")


class RoleForm(ApiForm):
    id = StringField("Role id (updates)")
    name = StringField("Name")
    tenantId = StringField("Tenant id (super admins)")


class RoleAclForm(ApiForm):
    roleId = StringField("Role id")
    features = StringField("Feature ids (JSON array)")
    isSuperAdmin = BooleanField("Super admin (super admins only)")
    organizations = StringField("Organization ids (JSON array) or null for all")
    updatedAt = StringField("updatedAt read with the ACL (optimistic lock)")


class UserAclForm(RoleAclForm):
    roleId = None
    userId = StringField("User id")


class UserForm(ApiForm):
    id = StringField("User id (updates)")
    email = StringField("Email")
    name = StringField("Name")
    password = PasswordField("Password")
    organizationId = StringField("Home organization id")
    roles = StringField("Role ids (JSON array)")
    isActive = BooleanField("Active")
    tenantId = StringField("Tenant id (super admins)")


class PasswordResetForm(ApiForm):
    email = EmailField("Email")


class PasswordResetConfirmForm(ApiForm):
    token = StringField("Reset token (from the emailed link)")
    password = PasswordField("New password")
