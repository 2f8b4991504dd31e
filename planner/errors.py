"""Errors the services raise; the web views and the API turn each into a clear answer."""

from __future__ import annotations


class PlannerError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(PlannerError):
    """One or more fields are wrong; ``fields`` says which and why."""

    code = "validation_failed"
    status = 422


class PermissionDenied(PlannerError):
    code = "forbidden"
    status = 403


class NotFound(PlannerError):
    code = "not_found"
    status = 404


class Conflict(PlannerError):
    """The request is valid but not in the object's current state (e.g. approving a draft)."""

    code = "conflict"
    status = 409


class BadRequest(PlannerError):
    code = "bad_request"
    status = 400


class Unauthenticated(PlannerError):
    code = "unauthenticated"
    status = 401
