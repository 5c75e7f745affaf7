"""moto's Glue UpdateTable, made to refuse a stale VersionId as Glue does.

An Iceberg table in the Glue catalog is committed by UpdateTable with the VersionId the
writer read: Glue refuses the update with ConcurrentModificationException when another
commit has changed the table since, and pyiceberg turns that refusal into
``CommitFailedException`` so the writer can retry on the new version. moto 5 ignores the
VersionId, so of two concurrent commits the second silently overwrites the first and its
appended data is lost from the table: a bug no local test could see.

``guard_glue_table_versions`` wraps moto's UpdateTable so that a VersionId other than the
table's current one fails with ConcurrentModificationException (HTTP 400, moto's JSON error
shape). The comparison and the update happen under one lock, because the moto server
answers each request in a thread of its own. An UpdateTable without a VersionId is applied
as before. Like ``local_stack.s3_notifications``, it affects only a moto server running in
this process.
"""

from __future__ import annotations

import threading
from typing import Any

# Serialises every guarded UpdateTable: a check and an update of two requests must not interleave.
_update_lock = threading.Lock()
_patch_lock = threading.Lock()


def guard_glue_table_versions() -> bool:
    """Patch moto (idempotent); False if this moto version updates Glue tables elsewhere."""
    try:
        from moto.core.exceptions import JsonRESTError
        from moto.glue.responses import GlueResponse
    except ImportError:
        return False
    with _patch_lock:
        original = getattr(GlueResponse, "update_table", None)
        if original is None:
            return False
        if getattr(original, "guarded_by_local_stack", False):
            return True

        def update_table(self: Any) -> Any:
            expected = self.parameters.get("VersionId")
            with _update_lock:
                if expected is not None:
                    database_name = self.parameters.get("DatabaseName")
                    table_name = (self.parameters.get("TableInput") or {}).get("Name")
                    table = self.glue_backend.get_table(database_name, table_name)
                    current = _version_id(table)
                    if current is not None and str(expected) != current:
                        raise JsonRESTError(
                            "ConcurrentModificationException",
                            f"Update table failed due to concurrent modifications: table "
                            f"{database_name}.{table_name} is at version {current}, not {expected}; "
                            "read it again and retry",
                        )
                return original(self)

        update_table.guarded_by_local_stack = True  # type: ignore[attr-defined]
        update_table.__wrapped__ = original  # type: ignore[attr-defined]
        GlueResponse.update_table = update_table  # type: ignore[method-assign]
        return True


def _version_id(table: Any) -> str | None:
    """The VersionId GetTable reports for moto's table; None if moto stopped numbering versions."""
    version = getattr(table, "_current_version", None)
    return None if version is None else str(version)
