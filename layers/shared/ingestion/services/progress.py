"""How far the validator has read an upload, recorded while it reads, for a progress bar.

The data plane calls a progress callback after every batch of records; writing each call to
DynamoDB would cost a write per batch, so :class:`ProgressReport` writes ``processedLines`` at
most once a second of processing, or every 100k lines if those come sooner, and only ever
upwards (a reader that starts a file over reports from zero again).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ingestion.domain import UploadRequest
from ingestion.observability import logger
from ingestion.repositories.uploads import UploadRequestRepository

EVERY_SECONDS = 1.0
EVERY_LINES = 100_000


class ProgressReport:
    """The progress callback of one processing attempt of ``request``."""

    def __init__(
        self,
        uploads: UploadRequestRepository,
        request: UploadRequest,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uploads = uploads
        self._request = request
        self._clock = clock
        self._reported_at = clock()
        self._reported_lines = 0
        self.writes = 0

    def __call__(self, processed_lines: int) -> None:
        if processed_lines <= self._reported_lines:
            return
        now = self._clock()
        if now - self._reported_at < EVERY_SECONDS and processed_lines - self._reported_lines < EVERY_LINES:
            return
        self._reported_at, self._reported_lines = now, processed_lines
        self.writes += 1
        try:
            self._uploads.report_progress(self._request, processed_lines)
        except Exception:  # a progress bar that lags is no reason to fail the upload
            logger.exception("progress not recorded", extra={"request_id": self._request.id})
