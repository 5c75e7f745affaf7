"""Merging several small uploads of one table in one commit: a group commit.

A CRM sync posts a few rows every minute; merged one commit each, uploads of one table take
turns under its commit lock, and the queue of a busy table grows faster than commits drain it.
So the validator merges the small files of one table that it received together in ONE commit,
as if they had been merged one after another in arrival order:

- each upload's counts (inserted, updated, stale) are decided against the table as the uploads
  before it in the group left it: a key the first upload inserted is an update for the second;
- the rows written are, for each key, the row that would have been left last: the newest
  version, and on a tie the later upload;
- the commit's snapshot records every request id with its counts (:class:`.commits.Stamp`), so
  a redelivered upload of the group is recognised and answered with its own counts.

Only uploads already validated and accepted join a group: a file with problems never reaches
it, so it cannot block or change the others. Files that add columns or that are large are
merged alone (:func:`ingestion.dataplane.merge_checked`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from ingestion.dataplane.commits import (
    Counts,
    MergeResult,
    SnapshotKeeper,
    Stamp,
    commit_merge,
    recorded_merge,
)
from ingestion.dataplane.merge import keep_newest_per_key, merge_with_retries, plan_merge, stored_versions
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec
from ingestion.settings import Settings


@dataclass(frozen=True)
class GroupMember:
    """One upload of a group: its request id and its rows, one per key, in key order."""

    request_id: str
    rows: pa.Table


def merge_group(
    catalog: Catalog,
    settings: Settings,
    collection_id: str,
    data_type: DataTypeSpec,
    members: Sequence[GroupMember],
    *,
    keeper: SnapshotKeeper | None = None,
) -> dict[str, MergeResult]:
    """Upsert every member's rows into the collection's table in one commit, in the members'
    order, each request exactly once; what each request did, by request id.

    A member merged before (alone or in another group) is answered with its recorded counts and
    left out of the commit.
    """

    def merge_once(table: Table) -> dict[str, MergeResult]:
        results: dict[str, MergeResult] = {}
        pending = []
        for member in members:
            recorded = recorded_merge(table, member.request_id)
            if recorded is None:
                pending.append(member)
            else:
                results[member.request_id] = recorded
        if pending:
            results |= _merge_pending(table, data_type, pending, keeper)
        return {member.request_id: results[member.request_id] for member in members}

    return merge_with_retries(catalog, settings, collection_id, data_type, merge_once)


def _merge_pending(
    table: Table, data_type: DataTypeSpec, members: Sequence[GroupMember], keeper: SnapshotKeeper | None
) -> dict[str, MergeResult]:
    incoming = _concat([member.rows for member in members])
    stored = stored_versions(table, data_type, incoming)
    counts, winners = sequential_outcome(members, stored.rows, data_type)
    plan = plan_merge(winners, stored.rows, data_type)
    merged = commit_merge(table, plan, stored, data_type, Stamp(counts), (), keeper)
    logger.info(
        "group of uploads merged", extra={"requests": len(members), "snapshot_id": merged.snapshot_id}
    )
    return {
        request_id: MergeResult(
            inserted=each.inserted,
            updated=each.updated,
            stale=each.stale,
            row_count=merged.row_count,
            snapshot_id=merged.snapshot_id,
            sequence_number=merged.sequence_number,
        )
        for request_id, each in counts.items()
    }


def sequential_outcome(
    members: Sequence[GroupMember], stored: pa.Table, data_type: DataTypeSpec
) -> tuple[dict[str, Counts], pa.Table]:
    """Each member's counts as if merged one after another onto ``stored`` (key and version of
    the stored rows), and the rows that are left for each key at the end, in key order."""
    key, version = data_type.key, data_type.version_field
    columns = [key] + ([version] if version else []) if key else []
    state = stored.select(columns) if key and stored.num_rows else pa.table({})
    counts: dict[str, Counts] = {}
    kept = []
    for member in members:
        plan = plan_merge(member.rows, state, data_type)
        counts[member.request_id] = Counts(plan.inserted, plan.updated, plan.stale)
        kept.append(plan.rows)
        if key:
            state = _advance(state, plan.rows.select(columns), key)
    winners = keep_newest_per_key(_concat(kept), data_type).rows  # on a tie, the later member
    return counts, winners


def _advance(state: pa.Table, merged: pa.Table, key: str) -> pa.Table:
    """The stored (key, version) pairs once ``merged`` (one row per key) is merged."""
    if state.num_rows == 0:
        return merged
    left = state.filter(pc.invert(pc.is_in(state.column(key), value_set=merged.column(key).combine_chunks())))
    return pa.concat_tables([left, merged.cast(left.schema)])


def _concat(tables: Sequence[pa.Table]) -> pa.Table:
    """One table of the members' rows, in order; a column some files left out is null in them."""
    return pa.concat_tables(tables, promote_options="permissive")
