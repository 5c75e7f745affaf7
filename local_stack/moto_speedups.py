"""moto's server, spared a directory listing on every request it answers.

To route a request, moto's server first asks whether the Host header names one of its service
modules, and answers that by listing its package directory and testing each of the ~180
entries with ``isdir``: every request pays ~180 ``stat`` calls, a few milliseconds on a busy
machine. A small upload makes about a hundred requests (its file, the table's metadata and
manifests, the catalog, the records), so the listing alone was a large share of its time
against the local stack. The modules of an installed moto do not change while it runs: the
listing is taken once and kept. Like ``local_stack.glue_concurrency``, it affects only a moto
server running in this process.
"""

from __future__ import annotations

import functools
import threading

_patch_lock = threading.Lock()


def cache_moto_module_list() -> bool:
    """Patch moto (idempotent); False if this moto version has no such listing to cache."""
    try:
        from moto import backends
    except ImportError:
        return False
    with _patch_lock:
        listing = getattr(backends, "list_of_moto_modules", None)
        if listing is None:
            return False
        if getattr(listing, "cached_by_local_stack", False):
            return True
        modules = tuple(listing())

        @functools.wraps(listing)
        def cached_listing() -> tuple[str, ...]:
            return modules

        cached_listing.cached_by_local_stack = True  # type: ignore[attr-defined]
        backends.list_of_moto_modules = cached_listing
    return True
