"""Connectors: events from streams and files, through the intake, into the log.

- :mod:`banktwin.ingest.kafka_source` — a Kafka topic of producers' JSON events
  (``banktwin ingest kafka``).
- :mod:`banktwin.ingest.stream_intake` — what every connector does with the records it reads:
  valid events appended to the log, invalid records kept in the dead-letter table.
- :mod:`banktwin.ingest.dead_letters` — the dead-letter table's port and record; adapters for
  SQLite, PostgreSQL and memory beside it; :mod:`banktwin.ingest.replay` fixes and replays one.
"""
