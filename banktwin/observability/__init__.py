"""Prometheus metrics: what each process counts, what ``GET /metrics`` computes at scrape time,
and the directory that lets the API's scrape include what its consumer processes counted
(``docs/operations.md``, "Metrics")."""
