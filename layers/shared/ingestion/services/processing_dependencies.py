"""What processing an uploaded file talks to: the repositories, the file store and the data plane,
handed in as one :class:`Dependencies` (:meth:`Dependencies.default` for the deployed ones, fakes
in tests)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

from ingestion.domain import IngestOptions, UploadOutcome
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.commit_locks import CommitLockRepository, HeldLock, get_commit_lock_repository
from ingestion.repositories.data_types import DataTypeRepository, get_data_type_repository
from ingestion.repositories.files import FileStore, get_file_store
from ingestion.repositories.uploads import UploadRequestRepository, get_upload_request_repository
from ingestion.settings import Settings, get_settings

if TYPE_CHECKING:
    from ingestion.schemas.spec import DataTypeSpec


@dataclass(frozen=True)
class UploadedObject:
    """A file that landed in the bucket, as an S3 ObjectCreated notification names it."""

    bucket: str
    key: str


class CheckedFile(Protocol):
    """A validated file held until it is merged (:class:`ingestion.dataplane.CheckedUpload`)."""

    @property
    def groupable(self) -> bool:
        """Whether it may be merged in one commit with other groupable files of its table."""
        ...

    @property
    def merge_type(self) -> DataTypeSpec:
        """The data type its rows are merged as: only files merged as the same one share a commit."""
        ...

    def refused_outcome(self, request_id: str) -> UploadOutcome | None: ...

    def close(self) -> None: ...


class DataPlane(Protocol):
    """Validating and merging files (:mod:`ingestion.dataplane`), as the service uses it."""

    def check(
        self,
        *,
        open_source: Callable[[], BinaryIO],
        data_type: DataTypeSpec,
        separator: str,
        collection_id: str,
        options: IngestOptions,
        on_progress: Callable[[int], None],
        settings: Settings,
    ) -> CheckedFile: ...

    def merge(
        self,
        uploads: Sequence[tuple[str, CheckedFile]],
        *,
        collection_id: str,
        keeper: HeldLock,
        settings: Settings,
    ) -> list[UploadOutcome]: ...

    def table_spec(self, collection_id: str, data_type: str, settings: Settings) -> DataTypeSpec | None: ...


class IcebergDataPlane:
    """The data plane of :mod:`ingestion.dataplane`, imported on first use: pyarrow and pyiceberg
    load only in the validator, never in the dead-letter function that shares this module."""

    def check(self, **arguments: object) -> CheckedFile:
        from ingestion.dataplane import check_upload

        return check_upload(**arguments)  # type: ignore[arg-type]

    def merge(
        self,
        uploads: Sequence[tuple[str, CheckedFile]],
        *,
        collection_id: str,
        keeper: HeldLock,
        settings: Settings,
    ) -> list[UploadOutcome]:
        from ingestion.dataplane import get_catalog, merge_checked

        return merge_checked(
            uploads,  # type: ignore[arg-type]
            collection_id=collection_id,
            keeper=keeper,
            catalog=get_catalog(settings),
            settings=settings,
        )

    def table_spec(self, collection_id: str, data_type: str, settings: Settings) -> DataTypeSpec | None:
        from ingestion.dataplane import read_table_spec

        return read_table_spec(collection_id, data_type, settings=settings)


@dataclass(frozen=True)
class Dependencies:
    """Everything processing talks to; :meth:`default` for the deployed ones, fakes in tests."""

    collections: CollectionRepository
    uploads: UploadRequestRepository
    files: FileStore
    data_types: DataTypeRepository
    commit_locks: CommitLockRepository
    data_plane: DataPlane
    settings: Settings

    @classmethod
    def default(cls) -> Dependencies:
        return cls(
            collections=get_collection_repository(),
            uploads=get_upload_request_repository(),
            files=get_file_store(),
            data_types=get_data_type_repository(),
            commit_locks=get_commit_lock_repository(),
            data_plane=IcebergDataPlane(),
            settings=get_settings(),
        )
