"""Domain exceptions. Each names what was wrong and what to do; the API layer maps them
to HTTP status codes in one place (:mod:`ingestion.http`)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``str(error)`` is a message meant for the caller."""


class NotFoundError(DomainError):
    pass


class CollectionNotFound(NotFoundError):
    def __init__(self, collection_id: str) -> None:
        super().__init__(
            f"collection '{collection_id}' does not exist (or belongs to another tenant); "
            "create one with POST /api/collection"
        )


class DataTypeNotFound(NotFoundError):
    def __init__(self, data_type: str, known: list[str]) -> None:
        super().__init__(f"unknown data type '{data_type}'; available data types: {', '.join(sorted(known))}")


class UploadRequestNotFound(NotFoundError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"upload request '{request_id}' does not exist in this collection and data type")


class ExportNotFound(NotFoundError):
    def __init__(self, export_id: str) -> None:
        super().__init__(f"export '{export_id}' does not exist for this collection and data type")


class NoValidationErrors(NotFoundError):
    """An upload request that found no problem (yet) has no errors file."""


class InvalidInput(DomainError):
    """Input that passed the request schema but is still unusable (e.g. an empty file)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MalformedBody(DomainError):
    """A request body that cannot be what its Content-Type says (a multipart body cut short)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.field = "body"


class StatusConflict(DomainError):
    """A conditional status write lost: another attempt moved the request first."""


class RequestBusy(DomainError):
    """Another live attempt is processing this upload request; deliver the notification later."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"upload request {request_id} is being processed by another attempt")


class DataTypeConflict(DomainError):
    """A data type cannot be declared as asked (built in, or declared differently before)."""


class DataTypeBusy(DataTypeConflict):
    """Merges into the data type's table held it for longer than a request can wait."""


class FileReplaced(DomainError):
    """The uploaded object changed while it was being read: what was read is not one file."""

    def __init__(self, location: str) -> None:
        super().__init__(
            f"the file at {location} was replaced while it was being read, so nothing of it was merged; "
            "the new file is ingested as an upload of its own"
        )


class TableBusy(DomainError):
    """Other uploads held the table's commit lock for longer than this attempt may wait."""


class RequestInProgress(DomainError):
    """A request with the same Idempotency-Key is still being answered."""
