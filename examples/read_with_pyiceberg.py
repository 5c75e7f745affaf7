"""Read one data type of a collection from its Iceberg table, through the local stack's Glue catalog.

    AWS_ENDPOINT_URL=http://127.0.0.1:5000 COLLECTION_ID=<collectionId> DATA_TYPE=deals \
        .venv/bin/python examples/read_with_pyiceberg.py

Prints the table's current rows, one JSON object a line.
"""

import json
import os

from pyiceberg.catalog import load_catalog

endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")  # make run's AWS endpoint
collection_id = os.environ["COLLECTION_ID"]
data_type = os.environ.get("DATA_TYPE", "deals")
database = os.environ.get("GLUE_DATABASE", "ingestion_local")  # the Glue database of the local stack

catalog = load_catalog(
    "local",
    **{
        "type": "glue",
        "glue.endpoint": endpoint,
        "glue.region": "us-east-1",
        "glue.access-key-id": "testing",
        "glue.secret-access-key": "testing",
        "s3.endpoint": endpoint,
        "s3.region": "us-east-1",
        "s3.access-key-id": "testing",
        "s3.secret-access-key": "testing",
    },
)
# One table per collection and data type: <glue database>.<collectionId>_<dataType>.
table = catalog.load_table(f"{database}.{collection_id}_{data_type}")
rows = table.scan().to_arrow()
for row in rows.to_pylist():
    print(json.dumps(row, default=str))
