"""The one place that owns the logger, tracer and metrics every module imports."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer


class DeferredTracer:
    """Powertools' ``Tracer``, built when a traced handler first runs instead of at import.

    Building a Tracer imports the X-Ray SDK (and botocore through it) and patches the libraries
    it traces: about 0.3 s that importing an API function's handler would otherwise pay before
    it can route a request. A function with SnapStart builds it before its snapshot instead
    (``ingestion.cold_start``). Any other attribute is the Tracer's own, built on first use.
    """

    def __init__(self) -> None:
        self._tracer: Tracer | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._tracer is not None

    def build(self) -> Tracer:
        with self._lock:
            if self._tracer is None:
                self._tracer = Tracer()
            return self._tracer

    def capture_lambda_handler(
        self, lambda_handler: Callable[..., Any] | None = None, **options: Any
    ) -> Callable[..., Any]:
        """``Tracer.capture_lambda_handler``, applied on the handler's first call."""
        if lambda_handler is None:
            return functools.partial(self.capture_lambda_handler, **options)
        traced: Callable[..., Any] | None = None

        @functools.wraps(lambda_handler)
        def handler(event: Any, context: Any, **kwargs: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.build().capture_lambda_handler(lambda_handler, **options)
            return traced(event, context, **kwargs)

        return handler

    def __getattr__(self, name: str) -> Any:
        return getattr(self.build(), name)


logger = Logger()
tracer = DeferredTracer()
metrics = Metrics()
