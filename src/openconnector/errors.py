"""The one error tree of openconnector.

Every error a user can cause carries an HTTP status and a JSON body, so the
REST API renders them all with one handler (``api/errors.py``) and the CLI
prints the message and exits 1. Sync errors are grouped by what the caller
must do: ``SourceUnavailable`` is retried, ``SourceRejected`` is fatal for the
run, ``InvalidRecord`` is counted and the run goes on.

    OpenConnectorError
    ├── NotFound (404)
    ├── BadRequest (400)
    │   └── ValidationFailed (400, per-field list)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── Conflict (409)
    ├── PayloadTooLarge (413)
    ├── StorageUnavailable (503, the file storage cannot be reached)
    ├── SourceError (502)
    │   ├── SourceUnavailable (retried: connection errors, 5xx, 429)
    │   └── SourceRejected (fatal: 4xx, bad body)
    └── InvalidRecord (a bad record; counted ``invalid`` with its reason)
"""

from __future__ import annotations

from typing import Any


class OpenConnectorError(Exception):
    """Base of every error openconnector raises on purpose."""

    status = 500
    error = "Internal error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        body.update(self.details)
        return body


class NotFound(OpenConnectorError):
    status = 404
    error = "Not Found"


class BadRequest(OpenConnectorError):
    status = 400
    error = "Bad Request"


class ValidationFailed(BadRequest):
    """An object does not match its schema; ``errors`` lists each property."""

    error = "Validation failed"

    def __init__(self, errors: list[dict[str, Any]], message: str = "Validation failed") -> None:
        super().__init__(message)
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        return {"status": "error", "error": self.error, "message": self.message, "errors": self.errors}


class Unauthorized(OpenConnectorError):
    status = 401
    error = "Unauthorized"


class Forbidden(OpenConnectorError):
    status = 403
    error = "Forbidden"


class TooManyRequests(OpenConnectorError):
    """Slowed down on purpose (password guessing); ``retry_after`` seconds until the next try."""

    status = 429
    error = "Too Many Requests"

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retryAfter=retry_after, **details)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class Conflict(OpenConnectorError):
    status = 409
    error = "Conflict"


class PayloadTooLarge(OpenConnectorError):
    """A request body (an uploaded file) is over the configured limit."""

    status = 413
    error = "Payload Too Large"


class StorageUnavailable(OpenConnectorError):
    """The file storage (a directory or an S3 bucket) failed; worth trying again later."""

    status = 503
    error = "Storage unavailable"


class SourceError(OpenConnectorError):
    """A call to an external source failed."""

    status = 502
    error = "Source error"


class SourceUnavailable(SourceError):
    """Worth retrying: connection error, timeout, 5xx or 429."""


class SourceRejected(SourceError):
    """Not worth retrying: the source refused the request or sent an unreadable body."""


class InvalidRecord(OpenConnectorError):
    """One record of a run cannot be stored; the run counts it and goes on."""

    status = 400
    error = "Invalid record"

    def __init__(self, message: str, record: Any = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.record = record
