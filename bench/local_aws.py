"""One embedded moto server (S3 and Glue) for the whole run, with a bucket and a Glue database.

The server runs in threads of the benchmark's parent process, which does nothing else while
a case runs, so the cases (separate processes) get it to themselves. Only fake credentials
are ever set: nothing here can reach a real AWS account.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "ingestion-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "IngestionBench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",  # the engine logs every merge at INFO
}
BUCKET = "bench-data"
DATABASE = "bench_collections"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalAws:
    """``with LocalAws() as aws:`` a moto server on a free loopback port, bucket and database made."""

    def __init__(self) -> None:
        self.endpoint = ""
        self.bucket = BUCKET
        self.database = DATABASE
        self._server: Any = None

    def __enter__(self) -> LocalAws:
        from moto.server import ThreadedMotoServer

        from local_stack.moto_speedups import cache_moto_module_list

        cache_moto_module_list()  # as the local stack's server: moto's own overhead is not ours to measure
        os.environ.update(FAKE_AWS_ENVIRONMENT)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
        port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint  # any client a case makes talks to moto
        self.client("s3").create_bucket(Bucket=self.bucket)
        self.client("glue").create_database(DatabaseInput={"Name": self.database})
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.stop()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")

    def upload(self, path: Path, key: str) -> None:
        self.client("s3").upload_file(str(path), self.bucket, key)

    def child_environment(self) -> dict[str, str]:
        """The environment of a case's process: fake credentials and the moto endpoint."""
        return {**os.environ, **FAKE_AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": self.endpoint}
