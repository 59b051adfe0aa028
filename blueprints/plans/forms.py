"""Request bodies of the plan routes, for the OpenAPI document (services.plans validates)."""
from wtforms import BooleanField, IntegerField, StringField

from blueprints.auth.forms import ApiForm


class PlanForm(ApiForm):
    name = StringField("Name")
    description = StringField("Description")
    quota = IntegerField("Quota in MB")
    default = BooleanField("Make this the default plan")


class AssignmentForm(ApiForm):
    userId = StringField("User id")
    planId = StringField("Plan id")
