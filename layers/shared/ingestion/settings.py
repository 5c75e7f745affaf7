"""Service settings: one pydantic model, read from the environment once."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    collections_table: str = Field(alias="COLLECTIONS_TABLE")
    commit_locks_table: str = Field(alias="COMMIT_LOCKS_TABLE")
    upload_requests_table: str = Field(alias="UPLOAD_REQUESTS_TABLE")
    tokens_table: str = Field(alias="TOKENS_TABLE")
    data_types_table: str = Field(alias="DATA_TYPES_TABLE")
    exports_table: str = Field(alias="EXPORTS_TABLE")
    # Responses of POST and PUT requests sent with an Idempotency-Key, kept 24 hours.
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    data_bucket: str = Field(alias="DATA_BUCKET")
    glue_database: str = Field(alias="GLUE_DATABASE")
    incoming_prefix: str = Field(default="incoming/", alias="INCOMING_PREFIX")
    warehouse_prefix: str = Field(default="warehouse/", alias="WAREHOUSE_PREFIX")
    # What did not fit in an upload request's record (every warning, the errors kept) is written here.
    reports_prefix: str = Field(default="reports/", alias="REPORTS_PREFIX")
    # Export files (POST .../export), one per export.
    exports_prefix: str = Field(default="exports/", alias="EXPORTS_PREFIX")
    # How long the download URL of a finished export (GET .../export/{exportId}) works.
    export_url_seconds: int = Field(default=3600, ge=1, le=43200, alias="EXPORT_URL_SECONDS")
    # Days an export's file (and its record) is kept (the bucket's lifecycle rule for exports/).
    export_retention_days: int = Field(default=7, ge=1, alias="EXPORT_RETENTION_DAYS")
    # Where the entry function queues work for the functions with the data plane: purging a
    # deleted collection, writing an export. Only the entry function sends to them.
    purge_queue_url: str | None = Field(default=None, alias="PURGE_QUEUE_URL")
    export_queue_url: str | None = Field(default=None, alias="EXPORT_QUEUE_URL")
    # Deliveries of a queued job before it moves to its dead-letter queue (the template's
    # MaxReceiveCount): the export function ends an export `error` when its last delivery fails.
    max_receive_count: int = Field(default=3, ge=1, alias="MAX_RECEIVE_COUNT")
    # Only set outside AWS (local stack, tests): every client, pyiceberg included, talks to it.
    # LOCAL_AWS_ENDPOINT_URL is the template's own name for it (empty in AWS): a variable the
    # template declares is one `sam local invoke --env-vars` can set, and botocore never reads it.
    aws_endpoint_url: str | None = Field(
        default=None,
        alias="AWS_ENDPOINT_URL",
        validation_alias=AliasChoices("AWS_ENDPOINT_URL", "LOCAL_AWS_ENDPOINT_URL"),
    )
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    max_validation_errors: int = Field(default=100, ge=1, le=1000, alias="MAX_VALIDATION_ERRORS")
    # A request left in_progress longer than this is presumed abandoned (crash, timeout)
    # and may be taken over by a redelivered notification.
    processing_lease_seconds: int = Field(default=960, ge=1, alias="PROCESSING_LEASE_SECONDS")
    # A file larger than this once decompressed is refused: its rows would take more local disk
    # and time than the validator has (the template's MaxDecompressedMiB says how much it takes).
    max_decompressed_mib: int = Field(default=1024, ge=1, alias="MAX_DECOMPRESSED_MIB")
    # A file's kept rows beyond this much Arrow memory go to local disk and are merged in parts
    # of MERGE_PART_ROWS rows: the validator's memory stays bounded whatever the file's size.
    kept_rows_in_memory_mib: int = Field(default=256, ge=0, alias="KEPT_ROWS_IN_MEMORY_MIB")
    # A file whose kept rows take more than this on local disk is refused before the disk is
    # full; the merge writes its winners as much again, so twice this fits the EphemeralStorage.
    kept_rows_on_disk_mib: int = Field(default=3072, ge=1, alias="KEPT_ROWS_ON_DISK_MIB")
    merge_part_rows: int = Field(default=200_000, ge=1, alias="MERGE_PART_ROWS")
    # Files of one table that the validator receives together are merged in one commit (a
    # group commit) when each one's kept rows take at most this much Arrow memory; larger
    # ones, and files that add columns, are merged alone. 0 merges every file alone.
    group_commit_max_mib: int = Field(default=16, ge=0, alias="GROUP_COMMIT_MAX_MIB")
    # Once a file's kept rows take more than this much Arrow memory, they are also written as
    # data files while validation goes on, for a merge that appends them all (dataplane/
    # early_append.py). Smaller files (the group commit's) are written only by the merge.
    early_write_after_mib: int = Field(default=16, ge=0, alias="EARLY_WRITE_AFTER_MIB")
    # Table maintenance: snapshots older than this go (time travel reaches this far at most)...
    snapshot_retention_days: float = Field(default=7, gt=0, alias="SNAPSHOT_RETENTION_DAYS")
    # ...and files no snapshot refers to are deleted once this old (younger ones may belong to a
    # commit being written).
    orphan_file_age_hours: float = Field(default=24, gt=0, alias="ORPHAN_FILE_AGE_HOURS")
    # How long a merge waits for the table's commit lock before the upload is tried again later.
    commit_lock_wait_seconds: float = Field(default=600, gt=0, alias="COMMIT_LOCK_WAIT_SECONDS")
    # A lock holder renews its lease every third of this; a crashed holder blocks the table
    # for at most this long.
    commit_lock_lease_seconds: float = Field(default=30, gt=0, alias="COMMIT_LOCK_LEASE_SECONDS")
    # How long an upload URL (POST .../append/upload-url) lets its file be PUT. A URL signed by
    # the function's role also ends with the role's session, so keep it to hours.
    upload_url_seconds: int = Field(default=3600, ge=1, le=43200, alias="UPLOAD_URL_SECONDS")
    # Time after an upload URL expired before its request is ended `error` if no file came:
    # a PUT started just before the expiry may still be arriving, its notification queued.
    upload_url_grace_seconds: int = Field(default=900, ge=0, alias="UPLOAD_URL_GRACE_SECONDS")

    @property
    def max_decompressed_bytes(self) -> int:
        return self.max_decompressed_mib << 20

    @property
    def warehouse_location(self) -> str:
        return f"s3://{self.data_bucket}/{self.warehouse_prefix.rstrip('/')}"

    @field_validator("aws_endpoint_url", mode="before")
    @classmethod
    def _empty_endpoint_is_none(cls, value: object) -> object:
        return value or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
