"""The tables' FileIO: pyiceberg's PyArrow FileIO with fewer round trips to S3.

A 5-row upsert into a table of 63 data files made 125 requests to S3, most of them to read
and write the table's own metadata. Two things cut them without changing a byte of any table:

- **Small files in one PUT.** PyArrow's S3 writer opens a multipart upload for every file
  (create, part, complete) unless it may delay the open (``allow_delayed_open``): then a file
  smaller than one part, which every manifest, manifest list and metadata file is, and the
  data files of a small upsert too, goes up in a single PutObject.
- **Table metadata read once per process.** Iceberg never rewrites a metadata file, a
  manifest list or a manifest: each is written once under a new, unique name and only ever
  deleted. So their bytes are kept after the first read (up to :data:`METADATA_CACHE_BYTES`,
  least recently used first out), and a merge's planning, its commit and the next upload
  on a warm function read each one from S3 once instead of a HEAD and a GET every time.
  The ones this process writes are kept as written, once S3 has them: the next upload of
  the table on a warm function reads none of its own commit's metadata back, and the
  writer learns a manifest's length without a HEAD. Data files are not cached: they are
  large, and read once per merge.

The catalog names this class with pyiceberg's ``py-io-impl`` property
(:func:`.tables.get_catalog`), so every table it loads, and every FileIO made from its
properties, uses it.
"""

from __future__ import annotations

import pyarrow as pa
from pyarrow.fs import FileSystem, S3FileSystem
from pyiceberg.io import (
    AWS_ACCESS_KEY_ID,
    AWS_REGION,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
    S3_ACCESS_KEY_ID,
    S3_CONNECT_TIMEOUT,
    S3_ENDPOINT,
    S3_REGION,
    S3_REQUEST_TIMEOUT,
    S3_SECRET_ACCESS_KEY,
    S3_SESSION_TOKEN,
    InputFile,
    InputStream,
    OutputFile,
    OutputStream,
)
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.typedef import Properties
from pyiceberg.utils.properties import get_first_property_value

from ingestion.dataplane.sized_lru import SizedLru

# The bytes of table metadata files kept per process: a manifest of a few hundred data files
# is tens of KiB, so this holds the metadata of many tables.
METADATA_CACHE_BYTES = 64 << 20
# The files Iceberg writes once and never changes, by the ends of their names.
_IMMUTABLE_METADATA = (".avro", ".metadata.json", ".metadata.json.gz", ".gz.metadata.json")


class MetadataCache(SizedLru[str, bytes]):
    """Bytes of immutable files by location, least recently used dropped past ``max_size`` bytes."""


METADATA_CACHE = MetadataCache(METADATA_CACHE_BYTES)


def is_immutable_metadata(location: str) -> bool:
    """Whether ``location`` is a table metadata file: in a ``metadata/`` folder, named as Iceberg
    names the files it never rewrites."""
    return "/metadata/" in location and location.endswith(_IMMUTABLE_METADATA)


class _CachedMetadataFile(InputFile):
    """A table metadata file read whole once, then served from :data:`METADATA_CACHE`."""

    def __init__(self, location: str, source: InputFile) -> None:
        super().__init__(location)
        self._source = source

    def _content(self) -> bytes:
        content = METADATA_CACHE.get(self.location)
        if content is None:
            with self._source.open(seekable=False) as stream:
                content = stream.read()
            METADATA_CACHE.put(self.location, content)
        return content

    def __len__(self) -> int:
        return len(self._content())

    def exists(self) -> bool:
        return METADATA_CACHE.get(self.location) is not None or self._source.exists()

    def open(self, seekable: bool = True) -> InputStream:
        return pa.BufferReader(self._content())  # type: ignore[return-value]  # a NativeFile


class _WrittenMetadata:
    """An output stream that holds a metadata file's bytes, and on close sends them to S3 in
    one write and keeps them in :data:`METADATA_CACHE`."""

    def __init__(self, location: str, target: OutputFile) -> None:
        self._location = location
        self._target = target
        self._chunks: list[bytes] = []
        self._closed = False

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        content = b"".join(self._chunks)
        # Whether the file may exist was settled when it was created (:meth:`_CachedMetadataOutput.create`).
        with self._target.create(overwrite=True) as stream:
            stream.write(content)
        METADATA_CACHE.put(self._location, content)  # only once S3 has it

    def __enter__(self) -> _WrittenMetadata:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if error is None:
            self.close()


class _CachedMetadataOutput(OutputFile):
    """A table metadata file to write: its bytes kept once written (see the module docstring)."""

    def __init__(self, location: str, target: OutputFile) -> None:
        super().__init__(location)
        self._target = target

    def __len__(self) -> int:
        content = METADATA_CACHE.get(self.location)
        return len(content) if content is not None else len(self._target)

    def exists(self) -> bool:
        return self.to_input_file().exists()

    def to_input_file(self) -> InputFile:
        return _CachedMetadataFile(self.location, self._target.to_input_file())

    def create(self, overwrite: bool = False) -> OutputStream:
        if not overwrite and self.exists():
            raise FileExistsError(f"Cannot create file, already exists: {self.location}")
        return _WrittenMetadata(self.location, self._target)  # type: ignore[return-value]


class IngestionFileIO(PyArrowFileIO):
    """PyArrow's FileIO, writing small files to S3 in one request and reading table metadata once."""

    def __init__(self, properties: Properties | None = None) -> None:
        super().__init__(properties or {})

    def new_input(self, location: str) -> InputFile:  # type: ignore[override]
        source = super().new_input(location)
        return _CachedMetadataFile(location, source) if is_immutable_metadata(location) else source

    def new_output(self, location: str) -> OutputFile:  # type: ignore[override]
        target = super().new_output(location)
        return _CachedMetadataOutput(location, target) if is_immutable_metadata(location) else target

    def _initialize_s3_fs(self, netloc: str | None) -> FileSystem:
        # The properties the catalog sets (:func:`.tables.get_catalog`), and credentials only
        # when given (else the environment's, as pyiceberg does).
        options: dict[str, object] = {
            "endpoint_override": self.properties.get(S3_ENDPOINT),
            "region": get_first_property_value(self.properties, S3_REGION, AWS_REGION),
            "access_key": get_first_property_value(self.properties, S3_ACCESS_KEY_ID, AWS_ACCESS_KEY_ID),
            "secret_key": get_first_property_value(
                self.properties, S3_SECRET_ACCESS_KEY, AWS_SECRET_ACCESS_KEY
            ),
            "session_token": get_first_property_value(self.properties, S3_SESSION_TOKEN, AWS_SESSION_TOKEN),
        }
        if timeout := self.properties.get(S3_CONNECT_TIMEOUT):
            options["connect_timeout"] = float(timeout)
        if timeout := self.properties.get(S3_REQUEST_TIMEOUT):
            options["request_timeout"] = float(timeout)
        return S3FileSystem(**options, allow_delayed_open=True)
