"""The one error tree of Shipyard.

Every error Shipyard raises on purpose is a :class:`ShipyardError`. Each class has a stable string
``code`` (part of the wire format, never renamed) and one HTTP status. The hub answers an error as::

    {"error": {"code": "INVALID_ARGUMENT", "message": "...", "field": "metrics[3].value"}}

and the remote SDK raises the same class again from that body, so local and remote code catch the
same exceptions.

============================  =====================  ======  ======================================
class                         code                   status  meaning
============================  =====================  ======  ======================================
``InvalidArgument``           ``INVALID_ARGUMENT``   400     a value is malformed (also ValueError)
``Unauthenticated``           ``UNAUTHENTICATED``    401     no or bad credentials
``PermissionDenied``          ``PERMISSION_DENIED``  403     the principal may not do this
``NotFound``                  ``NOT_FOUND``          404     no such entity (also LookupError)
``AlreadyExists``             ``ALREADY_EXISTS``     409     an entity with that identity exists
``Conflict``                  ``CONFLICT``           409     the change contradicts stored state
``PayloadTooLarge``           ``PAYLOAD_TOO_LARGE``  413     a request is larger than allowed
``IntegrityError``            ``INTEGRITY_ERROR``    500     stored data failed its digest check
``Unavailable``               ``UNAVAILABLE``        503     a backend cannot be reached now
``MissingDependency``         ``MISSING_DEPENDENCY`` 500     an optional extra is not installed
``FlushError``                ``FLUSH_FAILED``       503     buffered metric points are not yet sent
``Overloaded``                ``OVERLOADED``         503     a model server's queue is full; retry
``ModelError``                ``MODEL_ERROR``        500     a served model raised while predicting
``DeadlineExceeded``          ``DEADLINE_EXCEEDED``  504     a request took longer than its timeout
============================  =====================  ======  ======================================
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "Conflict",
    "DeadlineExceeded",
    "FlushError",
    "IntegrityError",
    "InvalidArgument",
    "MissingDependency",
    "ModelError",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "ShipyardError",
    "Unauthenticated",
    "Unavailable",
    "error_class_for_code",
]


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose.

    Args:
        message: what went wrong and, where possible, what to do next.
        field: the input field at fault (dotted path such as ``metrics[2].value``), if any.
    """

    code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the hub answers with."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}

    def __str__(self) -> str:
        return f"{self.message} (field: {self.field})" if self.field else self.message


class InvalidArgument(ShipyardError, ValueError):
    """A value is malformed or out of range."""

    code = "INVALID_ARGUMENT"
    http_status = 400


class Unauthenticated(ShipyardError):
    """No credentials, or credentials that are not valid."""

    code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(ShipyardError):
    """The acting principal may not perform this action."""

    code = "PERMISSION_DENIED"
    http_status = 403


class NotFound(ShipyardError, LookupError):
    """The entity does not exist."""

    code = "NOT_FOUND"
    http_status = 404


class AlreadyExists(ShipyardError):
    """An entity with the same identity exists already."""

    code = "ALREADY_EXISTS"
    http_status = 409


class Conflict(ShipyardError):
    """The change contradicts stored state (a changed param, a finished run)."""

    code = "CONFLICT"
    http_status = 409


class PayloadTooLarge(ShipyardError, ValueError):
    """A request carries more than the server accepts in one call."""

    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class IntegrityError(ShipyardError):
    """Stored bytes do not match their recorded sha256 digest."""

    code = "INTEGRITY_ERROR"
    http_status = 500


class Unavailable(ShipyardError):
    """A backend (database, object store, hub) cannot be reached right now; retrying may help."""

    code = "UNAVAILABLE"
    http_status = 503


class MissingDependency(ShipyardError, ImportError):
    """An optional extra is not installed; the message names the command that installs it."""

    code = "MISSING_DEPENDENCY"
    http_status = 500

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed; install it with: pip install 'shipyard[{extra}]'")
        self.extra: str | None = extra


class FlushError(ShipyardError):
    """Buffered metric points could not be delivered to the hub; they are still held in memory
    (raised by the SDK in remote mode, never sent over the wire)."""

    code = "FLUSH_FAILED"
    http_status = 503


class Overloaded(Unavailable):
    """A model server's queue for this model is full; answered with 503 and ``Retry-After``."""

    code = "OVERLOADED"
    http_status = 503


class ModelError(ShipyardError):
    """A served model raised while predicting; the server answers 500 and stays up."""

    code = "MODEL_ERROR"
    http_status = 500


class DeadlineExceeded(ShipyardError):
    """A request was not answered within its timeout (the model server answers 504)."""

    code = "DEADLINE_EXCEEDED"
    http_status = 504


_BY_CODE: dict[str, type[ShipyardError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        AlreadyExists,
        Conflict,
        PayloadTooLarge,
        IntegrityError,
        Unavailable,
        MissingDependency,
        FlushError,
        Overloaded,
        ModelError,
        DeadlineExceeded,
    )
}


def error_class_for_code(code: str) -> type[ShipyardError]:
    """The error class for a wire ``code``; unknown codes map to :class:`ShipyardError`."""
    return _BY_CODE.get(code, ShipyardError)
