"""The uploaded-files store: objects under ``incoming/`` in the data bucket.

Layout: ``incoming/<collectionId>/<dataType>/<anything>``. Files posted through the API
land at ``incoming/<collectionId>/<dataType>/api/<requestId>`` and carry the upload
request in their object metadata, so the validator can always rebuild the request even if
the API function stopped between storing the file and recording the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError

from ingestion import aws
from ingestion.settings import get_settings


@dataclass(frozen=True)
class StoredUpload:
    """What the API recorded about a file when it stored it."""

    request_id: str
    file_name: str
    separator: str
    dump_datetime: datetime
    max_bad_records: int = 0
    allow_field_addition: bool = False


@dataclass(frozen=True)
class FileInfo:
    size_bytes: int
    upload: StoredUpload | None  # None for a file dropped straight into the bucket
    content_type: str | None = None
    # A dropped file may name its separator, maxBadRecords and allowFieldAddition in its metadata.
    separator: str = ","
    max_bad_records: int = 0
    allow_field_addition: bool = False


@dataclass(frozen=True)
class ObjectLocation:
    collection_id: str
    data_type: str


class FileStore:
    def __init__(self, s3_client: Any, bucket: str, incoming_prefix: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self._prefix = incoming_prefix

    def api_upload_key(self, collection_id: str, data_type: str, request_id: str) -> str:
        return f"{self._prefix}{collection_id}/{data_type}/api/{request_id}"

    def locate(self, key: str) -> ObjectLocation | None:
        """Collection and data type named by a key, or None if the key is outside the layout."""
        if not key.startswith(self._prefix):
            return None
        parts = key[len(self._prefix) :].split("/")
        if len(parts) < 3 or not all(parts[:3]):
            return None
        return ObjectLocation(collection_id=parts[0], data_type=parts[1])

    def put_upload(self, key: str, content: bytes, upload: StoredUpload, content_type: str | None) -> None:
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=content,
            ContentType=content_type or "application/octet-stream",
            # Metadata must be ASCII: values are percent-encoded.
            Metadata={
                "request-id": upload.request_id,
                "file-name": quote(upload.file_name, safe=""),
                "separator": quote(upload.separator, safe=""),
                "dump-datetime": upload.dump_datetime.isoformat(),
                "max-bad-records": str(upload.max_bad_records),
                "allow-field-addition": str(upload.allow_field_addition).lower(),
            },
        )

    def info(self, key: str) -> FileInfo | None:
        """Size and stored request of an object; None if it no longer exists."""
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        metadata = head.get("Metadata", {})
        separator = unquote(metadata.get("separator", ",")) or ","
        max_bad_records = _non_negative_int(metadata.get("max-bad-records") or metadata.get("maxbadrecords"))
        allow_field_addition = (
            metadata.get("allow-field-addition") or metadata.get("allowfieldaddition") or ""
        ).lower() == "true"
        upload = None
        if "request-id" in metadata:
            upload = StoredUpload(
                request_id=metadata["request-id"],
                file_name=unquote(metadata.get("file-name", "")),
                separator=separator,
                dump_datetime=datetime.fromisoformat(metadata["dump-datetime"]),
                max_bad_records=max_bad_records,
                allow_field_addition=allow_field_addition,
            )
        return FileInfo(
            size_bytes=int(head["ContentLength"]),
            upload=upload,
            content_type=head.get("ContentType"),
            separator=separator,
            max_bad_records=max_bad_records,
            allow_field_addition=allow_field_addition,
        )

    def open(self, key: str) -> BinaryIO:
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]


def _non_negative_int(value: str | None) -> int:
    """Metadata anyone can write: anything but a whole number >= 0 means the default, 0."""
    return int(value) if value and value.isdigit() else 0


def get_file_store() -> FileStore:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    settings = get_settings()
    return FileStore(aws.client("s3"), settings.data_bucket, settings.incoming_prefix)
