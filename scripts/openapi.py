"""Write the API's OpenAPI document, generated from the functions' own Powertools resolvers.

    python scripts/openapi.py            # (re)write layers/shared/ingestion/openapi.json
    python scripts/openapi.py --check    # exit 1 if the committed document is out of date

Each API function (functions/entry, functions/status, functions/tables) declares its routes with their request
and response models; Powertools' OpenAPIMerge joins them into one document. The document is
committed beside the domain package, where the status function serves it (GET /api/openapi.json
and the Swagger UI at /api/docs) without needing the other functions' code, and a test fails
whenever it differs from what the routes generate.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "layers" / "shared" / "ingestion" / "openapi.json"
API_FUNCTIONS = ("entry", "status", "tables")
TITLE = "Data ingestion API"
DESCRIPTION = (
    "Push batches of data (CSV, JSON, NDJSON, gzip) into a collection: each upload is answered at once "
    "with a request id, validated against its data type and merged; poll the request for the outcome. "
    "Every route needs the header `Authorization: Token <token>` (or `Bearer <token>`). A POST or PUT "
    "sent with an `Idempotency-Key` header is carried out once: a repeat within 24 hours gets the first "
    "answer again."
)


def generate() -> str:
    """The document the routes describe, as the JSON text to commit."""
    # Importing a handler module must not reach for AWS; Powertools reads these at import.
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "ingestion")
    sys.path[:0] = [str(ROOT / "layers" / "shared")]
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    merge = OpenAPIMerge(
        title=TITLE,
        version="1",
        description=DESCRIPTION,
        security_schemes={
            "token": APIKey(
                name="Authorization",
                in_=APIKeyIn.header,
                description="`Token <token>` or `Bearer <token>`; `make token` issues one.",
            )
        },
        security=[{"token": []}],
        on_conflict="error",
    )
    for function in API_FUNCTIONS:
        merge.add_file(ROOT / "functions" / function / "app.py", resolver_name="app")
    return merge.get_openapi_json_schema() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed document is out of date")
    arguments = parser.parse_args()
    document = generate()
    if arguments.check:
        if DOCUMENT.read_text(encoding="utf-8") != document:
            print(f"{DOCUMENT.relative_to(ROOT)} is out of date: run make openapi", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(document, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
