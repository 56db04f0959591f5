"""Bank-wide KPIs: a consumer of the log and the queries the API serves from its state."""
