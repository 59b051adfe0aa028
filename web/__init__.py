"""HTTP plumbing shared by every blueprint: negotiation, errors, access, pagination,
htmx helpers and the OpenAPI generator. Each mechanism lives in exactly one module here."""
