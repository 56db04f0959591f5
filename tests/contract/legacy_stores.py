"""Stores as the builds before schema migrations and twin generations left them: their DDL
copied verbatim from those builds, and the data they wrote. Tests open such stores with this
build and check what it keeps."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from banktwin.domain.customer import CustomerTwin
from banktwin.domain.twin import Twin
from banktwin.store import codec

LEGACY_FORMAT = "3"
"""The twin format the builds before generations wrote into the plain tables."""

SQLITE_STATE_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    consumer     TEXT    NOT NULL,
    partition_id INTEGER NOT NULL,
    next_offset  INTEGER NOT NULL,
    PRIMARY KEY (consumer, partition_id)
);

CREATE TABLE IF NOT EXISTS store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    updated_at  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc         BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS branches (
    branch_id  TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS loans (
    application_id TEXT PRIMARY KEY,
    customer_id    TEXT,
    updated_at     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc            BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS loans_by_customer ON loans (customer_id, updated_at);
CREATE TABLE IF NOT EXISTS accounts (
    account_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    type        TEXT,
    currency    TEXT NOT NULL,
    balance     TEXT NOT NULL,
    status      TEXT NOT NULL,
    opened_at   TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, account_id)
);
CREATE INDEX IF NOT EXISTS accounts_by_id ON accounts (account_id);
CREATE TABLE IF NOT EXISTS transactions (
    transaction_id    TEXT NOT NULL,
    customer_id       TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    amount            TEXT NOT NULL,
    currency          TEXT NOT NULL,
    direction         TEXT NOT NULL,
    channel           TEXT NOT NULL,
    merchant          TEXT,
    merchant_category TEXT,
    terminal_id       TEXT,
    card_token        TEXT,
    device_id         TEXT,
    country           TEXT,
    city              TEXT,
    description       TEXT,
    occurred_at       TEXT NOT NULL,
    event_id          TEXT NOT NULL,
    -- Clustered by customer and time: the newest-first page is one range scan, and an
    -- insert touches one B-tree instead of a table and an index. (rows.TRANSACTION_KEY)
    PRIMARY KEY (customer_id, occurred_at, transaction_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fraud_alerts (
    alert_id       TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    severity       TEXT NOT NULL,
    status         TEXT NOT NULL,
    score          REAL,
    reasons        TEXT NOT NULL,
    rule_ids       TEXT NOT NULL,
    raised_at      TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fraud_alerts_recent ON fraud_alerts (raised_at DESC, alert_id DESC);
CREATE INDEX IF NOT EXISTS fraud_alerts_by_status
    ON fraud_alerts (status, raised_at DESC, alert_id DESC);
"""
SQLITE_KV_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    consumer     TEXT    NOT NULL,
    partition_id INTEGER NOT NULL,
    next_offset  INTEGER NOT NULL,
    PRIMARY KEY (consumer, partition_id)
);

CREATE TABLE IF NOT EXISTS consumer_state (
    consumer text NOT NULL,
    key      text NOT NULL,
    value    BLOB NOT NULL,
    PRIMARY KEY (consumer, key)
) WITHOUT ROWID;
"""
SQLITE_LOG_DDL = """
CREATE TABLE IF NOT EXISTS log_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_log (
    partition_id INTEGER NOT NULL,
    log_offset   INTEGER NOT NULL,
    event_id     BLOB    NOT NULL UNIQUE,  -- the UUID's 16 bytes: a smaller, faster index
    subject_id   TEXT    NOT NULL,
    subject_hash INTEGER NOT NULL,         -- crc32(subject_id), indexed in place of the text
                                           -- (an index key only: not what picks the partition)
    type         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    occurred_at  TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    PRIMARY KEY (partition_id, log_offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_log_by_subject ON event_log (subject_hash);
"""
POSTGRES_STATE_DDL = (
    """
    CREATE TABLE IF NOT EXISTS store_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS projection_positions (
        consumer     text    NOT NULL,
        partition_id integer NOT NULL,
        next_offset  bigint  NOT NULL,
        PRIMARY KEY (consumer, partition_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS customers (
        customer_id text        PRIMARY KEY,
        updated_at  timestamptz NOT NULL,
        version     bigint      NOT NULL,
        doc         bytea       NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS branches (
        branch_id  text        PRIMARY KEY,
        updated_at timestamptz NOT NULL,
        version     bigint      NOT NULL,
        doc        bytea       NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS loans (
        application_id text        PRIMARY KEY,
        customer_id    text,
        updated_at     timestamptz NOT NULL,
        version     bigint      NOT NULL,
        doc            bytea       NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS loans_by_customer ON loans (customer_id, updated_at)",
    """
    CREATE TABLE IF NOT EXISTS accounts (
        account_id  text          NOT NULL,
        customer_id text          NOT NULL,
        type        text,
        currency    text          NOT NULL,
        balance     numeric(18,2) NOT NULL,
        status      text          NOT NULL,
        opened_at   timestamptz,
        updated_at  timestamptz   NOT NULL,
    PRIMARY KEY (customer_id, account_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS accounts_by_id ON accounts (account_id)",
    """
    CREATE TABLE IF NOT EXISTS transactions (
        transaction_id    text          NOT NULL,
        customer_id       text          NOT NULL,
        account_id        text          NOT NULL,
        amount            numeric(18,2) NOT NULL,
        currency          text          NOT NULL,
        direction         text          NOT NULL,
        channel           text          NOT NULL,
        merchant          text,
        merchant_category text,
        terminal_id       text,
        card_token        text,
        device_id         text,
        country           text,
        city              text,
        description       text,
        occurred_at       timestamptz   NOT NULL,
        event_id          text          NOT NULL,
    -- The SQLite store's key: a customer's transactions in time order (the newest-first page
    -- is a backward scan of it); see TRANSACTION_KEY.
    PRIMARY KEY (customer_id, occurred_at, transaction_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS fraud_alerts (
        alert_id       text             PRIMARY KEY,
        customer_id    text             NOT NULL,
        transaction_id text             NOT NULL,
        severity       text             NOT NULL,
        status         text             NOT NULL,
        score          double precision,
        reasons        jsonb            NOT NULL,
        rule_ids       jsonb            NOT NULL,
        raised_at      timestamptz      NOT NULL,
        updated_at     timestamptz      NOT NULL
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS fraud_alerts_recent ON fraud_alerts (raised_at DESC, alert_id DESC)
    """,
    """
    CREATE INDEX IF NOT EXISTS fraud_alerts_by_status
        ON fraud_alerts (status, raised_at DESC, alert_id DESC)
    """,
)
POSTGRES_KV_DDL = (
    """
    CREATE TABLE IF NOT EXISTS projection_positions (
        consumer     text    NOT NULL,
        partition_id integer NOT NULL,
        next_offset  bigint  NOT NULL,
        PRIMARY KEY (consumer, partition_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS consumer_state (
        consumer text NOT NULL,
        key      text NOT NULL,
        value    bytea NOT NULL,
        PRIMARY KEY (consumer, key)
    )""",
)
POSTGRES_LOG_DDL = (
    """
    CREATE TABLE IF NOT EXISTS log_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS log_partitions (
        partition_id integer PRIMARY KEY,
        next_offset  bigint  NOT NULL CHECK (next_offset >= 0)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS event_log (
        partition_id integer     NOT NULL,
        log_offset   bigint      NOT NULL,
        event_id     text        NOT NULL UNIQUE,
        subject_id   text        NOT NULL,
        type         text        NOT NULL,
        version      integer     NOT NULL,
        occurred_at  timestamptz NOT NULL,
        recorded_at  timestamptz NOT NULL,
        source       text        NOT NULL,
        payload      jsonb       NOT NULL,
        PRIMARY KEY (partition_id, log_offset)
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS event_log_by_subject
        ON event_log (subject_id, partition_id, log_offset)
    """,
)


def postgres_connect(url: str) -> Any:
    """A connection to the schema a test URL (``…?schema=NAME``) names, autocommit."""
    import psycopg

    from banktwin.postgres_connection import connection_kwargs

    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    return psycopg.connect(urlunsplit((*parts[:3], "", "")), **connection_kwargs(schema, "test"))


def _customer_rows(twins: list[Twin]) -> list[tuple[Any, ...]]:
    return [
        (t.customer_id, t.last_updated, t.events_applied, codec.encode_twin(t))
        for t in twins
        if isinstance(t, CustomerTwin)
    ]


def write_legacy_store(
    url: str,
    customers: list[Twin],
    positions: dict[int, int],
    twin_format: str | None = LEGACY_FORMAT,
) -> None:
    """A state store at ``url`` (``sqlite:///…`` or a test's PostgreSQL URL) as a build before
    migrations and generations made it: its DDL, twins in the plain tables, their format in
    ``store_meta`` (``None``: a build before formats were recorded) and the twin's
    positions."""
    rows = _customer_rows(customers)
    position_rows = [("twin", p, o) for p, o in positions.items()]
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(urlsplit(url).path[1:])) as conn, conn:
            conn.executescript(SQLITE_STATE_DDL)
            conn.executemany(
                "INSERT INTO customers VALUES (?, ?, ?, ?)",
                [(c, t.isoformat(), v, d) for c, t, v, d in rows],
            )
            conn.executemany("INSERT INTO projection_positions VALUES (?, ?, ?)", position_rows)
            if twin_format is not None:
                conn.execute("INSERT INTO store_meta VALUES ('twin_format', ?)", (twin_format,))
        return
    with postgres_connect(url) as conn:
        for statement in POSTGRES_STATE_DDL:
            conn.execute(statement)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s)", rows)
            cur.executemany("INSERT INTO projection_positions VALUES (%s, %s, %s)", position_rows)
            if twin_format is not None:
                cur.execute("INSERT INTO store_meta VALUES ('twin_format', %s)", (twin_format,))


def read_legacy_store(url: str) -> tuple[str | None, set[str], dict[int, int]]:
    """What a build before generations finds in the plain tables: the ``twin_format`` key
    (it empties them if that is not its format), the customers and the twin's positions."""
    queries = (
        "SELECT value FROM store_meta WHERE key = 'twin_format'",
        "SELECT customer_id FROM customers",
        "SELECT partition_id, next_offset FROM projection_positions WHERE consumer = 'twin'",
    )
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(urlsplit(url).path[1:])) as conn:
            found = [conn.execute(q).fetchall() for q in queries]
    else:
        with postgres_connect(url) as conn:
            found = [conn.execute(q).fetchall() for q in queries]
    meta, customers, positions = found
    return (
        meta[0][0] if meta else None,
        {c for (c,) in customers},
        {int(p): int(o) for p, o in positions},
    )


def sqlite_path(url: str) -> Path:
    return Path(urlsplit(url).path[1:])
