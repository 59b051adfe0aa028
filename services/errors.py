"""Domain exceptions. Views never build error responses: they raise one of these and
``web.errors`` renders it in the module's wire family (JSON), as a page, or as a fragment."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    default_message = "Bad request"

    def __init__(
        self, message: str | None = None, *, details: list[dict] | None = None, headers: dict | None = None, **extra
    ):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details or []
        self.headers = headers or {}
        self.extra = extra


class BadRequest(DomainError):
    status = 400


class ValidationFailed(DomainError):
    """Invalid input. ``details`` items are ``{"path": [...], "message": ...}``."""

    status = 400
    default_message = "Validation failed"


class Unauthorized(DomainError):
    status = 401
    default_message = "Authentication required"


class Forbidden(DomainError):
    status = 403
    default_message = "Forbidden"


class NotFound(DomainError):
    status = 404
    default_message = "Not found"


class MethodNotAllowed(DomainError):
    status = 405
    default_message = "Method not allowed"

    def __init__(self, message: str | None = None, *, allow: list[str]):
        super().__init__(message, headers={"Allow": ", ".join(allow)})


class Conflict(DomainError):
    status = 409
    default_message = "Conflict"


class TooManyRequests(DomainError):
    status = 429
    default_message = "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)}, retryAfterSeconds=retry_after)
        self.retry_after = retry_after
