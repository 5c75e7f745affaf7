"""Domain package of the data-ingestion service, shared by every function.

Walk down from a function's entry point: ``functions/<name>/app.py`` calls one
function of :mod:`ingestion.services`, which works on domain entities
(:mod:`ingestion.domain`) through the repositories in :mod:`ingestion.repositories`.
The data plane (:mod:`ingestion.dataplane`) imports pyarrow and pyiceberg and is only
reachable from the validator.
"""
