"""Maintenance function: compacts every collection's tables, expires old snapshots and deletes
files no snapshot refers to. Runs on a schedule (daily by default)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.observability import logger, metrics
from ingestion.services.maintenance import maintain_all_tables


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = maintain_all_tables()
    return {
        "tables": len(results),
        "filesBefore": sum(result.files_before for result in results.values()),
        "filesAfter": sum(result.files_after for result in results.values()),
        "orphansDeleted": sum(result.orphans_deleted for result in results.values()),
    }
