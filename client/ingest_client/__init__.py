"""``ingest``: the command-line client of the ingestion service's HTTP API.

It speaks to the API over HTTP only (``requests``), so it installs anywhere: it imports nothing
of the service itself.
"""

__version__ = "0.1.0"
