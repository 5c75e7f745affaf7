"""The uploaded-files store: objects under ``incoming/`` in the data bucket.

Layout: ``incoming/<collectionId>/<dataType>/<anything>``. Files posted through the API
land at ``incoming/<collectionId>/<dataType>/api/<requestId>`` and carry the upload
request in their object metadata, so the validator can always rebuild the request even if
the API function stopped between storing the file and recording the request. A file PUT to
an upload URL lands at the same key without metadata: its request was recorded when the URL
was given, and the key names it. The ``api/`` folder holds nothing else.

The same bucket holds what the service writes for its customers beside their uploads: the
reports of uploads whose record could not hold everything (``reports/``) and export files
(``exports/``), which this store reads, writes, signs download URLs for and deletes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError

from ingestion import aws
from ingestion.errors import FileReplaced
from ingestion.settings import get_settings

MAX_FILE_NAME_LENGTH = 255
# S3 allows 2 KB of user metadata per object; the file name gets half of it, percent-encoded
# (an emoji takes 12 bytes there), and the other values need under 200 bytes.
MAX_FILE_NAME_METADATA_BYTES = 1024
# A cut name keeps its extension (the format may be known from it) if it is this short.
_MAX_EXTENSION = 16
# Longer than any real media type; a content type is only read for the file's format.
MAX_CONTENT_TYPE_LENGTH = 255
# Where the API's own uploads live under a data type's folder.
_API_FOLDER = "api"
# S3 deletes at most this many objects per request.
_DELETE_BATCH = 1000


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
    # What makes this object this object: an overwrite of the key is another version.
    etag: str = ""
    version_id: str | None = None
    last_modified: datetime | None = None
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
    def __init__(self, s3_client: Any, bucket: str, incoming_prefix: str, presigner: Any = None) -> None:
        self._s3 = s3_client
        # Presigned URLs may need another signing set-up than the calls this store makes.
        self._presigner = presigner or s3_client
        self.bucket = bucket
        self._prefix = incoming_prefix

    def api_upload_key(self, collection_id: str, data_type: str, request_id: str) -> str:
        return f"{self._prefix}{collection_id}/{data_type}/{_API_FOLDER}/{request_id}"

    def api_upload_request_id(self, key: str) -> str | None:
        """What a key under a data type's ``api/`` folder names after it (a request id, if it is
        one of ours); None for a key outside that folder."""
        if not key.startswith(self._prefix):
            return None
        parts = key[len(self._prefix) :].split("/", 3)
        if len(parts) < 4 or parts[2] != _API_FOLDER or not all(parts[:2]):
            return None
        return parts[3]

    def upload_url(self, key: str, expires_in_seconds: int) -> str:
        """A URL that lets whoever holds it PUT this one object, and nothing else, for that long.

        Nothing but the host is signed, so a plain ``curl -T file URL`` matches the signature;
        the object's metadata cannot be set through it (S3 refuses unsigned ``x-amz-*`` headers).
        """
        return str(
            self._presigner.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_in_seconds,
                HttpMethod="PUT",
            )
        )

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
        version_id = head.get("VersionId")
        return FileInfo(
            size_bytes=int(head["ContentLength"]),
            upload=upload,
            etag=str(head.get("ETag") or ""),
            version_id=None if version_id in (None, "null") else str(version_id),
            last_modified=head.get("LastModified"),
            content_type=head.get("ContentType"),
            separator=separator,
            max_bad_records=max_bad_records,
            allow_field_addition=allow_field_addition,
        )

    def open(self, key: str, etag: str = "") -> BinaryIO:
        """The object's bytes; with ``etag``, only if it is still that object (else :class:`FileReplaced`)."""
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key, **({"IfMatch": etag} if etag else {}))[
                "Body"
            ]
        except ClientError as error:
            if error.response["Error"]["Code"] in ("PreconditionFailed", "412"):
                raise FileReplaced(f"s3://{self.bucket}/{key}") from None
            raise

    def report_key(self, reports_prefix: str, collection_id: str, data_type: str, request_id: str) -> str:
        return f"{reports_prefix}{collection_id}/{data_type}/{request_id}.json"

    def put_report(self, key: str, body: bytes) -> str:
        """Store what did not fit in an upload request's record; returns its location."""
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{self.bucket}/{key}"

    def report(self, key: str) -> bytes | None:
        """A report :meth:`put_report` stored, or None if there is none."""
        try:
            return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put_file(self, key: str, path: str, content_type: str) -> None:
        """Store a local file of any size (a multipart upload when it is large)."""
        self._s3.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def download_url(self, key: str, expires_in_seconds: int, file_name: str) -> str:
        """A URL that lets whoever holds it GET this one object for that long, saved as ``file_name``."""
        return str(
            self._presigner.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{file_name}"',
                },
                ExpiresIn=expires_in_seconds,
            )
        )

    def keys_under(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (which ends with ``/``)."""
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def delete_keys(self, keys: list[str]) -> None:
        """Delete these objects (a thousand per request, as S3 takes them)."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            response = self._s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
            failed = response.get("Errors") or []
            if failed:
                first = failed[0]
                example = f"{first.get('Key')}: {first.get('Message')}"
                raise RuntimeError(f"{len(failed)} objects could not be deleted, e.g. {example}")

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix`` (which ends with ``/``); how many there were."""
        keys = self.keys_under(prefix)
        self.delete_keys(keys)
        return len(keys)


def storable_file_name(name: str | None) -> str:
    """A file name as the service keeps it: one line of printable text that fits its limits.

    Control characters and line breaks become ``_`` (so does ``/``, which would nest the name),
    and a name longer than :data:`MAX_FILE_NAME_LENGTH` characters or
    :data:`MAX_FILE_NAME_METADATA_BYTES` percent-encoded bytes is cut in the middle, keeping its
    extension.
    """
    cleaned = "".join(
        "_" if char == "/" or unicodedata.category(char) in ("Cc", "Zl", "Zp") else char
        for char in (name or "").strip()
    )
    cleaned = cleaned or "upload"
    if _fits(cleaned):
        return cleaned
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION:
        stem, extension = cleaned, ""
    suffix = f"…{dot}{extension}"
    kept = []
    for char in stem:
        if not _fits("".join(kept) + char + suffix):
            break
        kept.append(char)
    return "".join(kept) + suffix


def storable_content_type(content_type: str | None) -> str | None:
    """A content type as the service keeps it: as sent if it is one short line of ASCII, else
    its media type if that is, else None (the format is then told by the name or the bytes)."""
    for candidate in (content_type, (content_type or "").split(";", 1)[0]):
        value = (candidate or "").strip()
        if value and len(value) <= MAX_CONTENT_TYPE_LENGTH and value.isascii() and value.isprintable():
            return value
    return None


def _fits(name: str) -> bool:
    return len(name) <= MAX_FILE_NAME_LENGTH and len(quote(name, safe="")) <= MAX_FILE_NAME_METADATA_BYTES


def _non_negative_int(value: str | None) -> int:
    """Metadata anyone can write: anything but a whole number >= 0 means the default, 0."""
    return int(value) if value and value.isdigit() else 0


def get_file_store() -> FileStore:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    settings = get_settings()
    return FileStore(
        aws.client("s3"), settings.data_bucket, settings.incoming_prefix, presigner=aws.s3_presigner()
    )
