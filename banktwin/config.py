"""Typed settings, read from ``BANKTWIN_*`` environment variables (and CLI options).

Built once by the composition root (the CLI or a test), never at import time.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from banktwin.errors import ConfigurationError
from banktwin.jobs.schedule import parse_schedule

Profile = Literal["production", "demo"]
LogFormat = Literal["json", "text"]


class Settings(BaseSettings):
    """Every knob of a banktwin process. Each field is the variable ``BANKTWIN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="BANKTWIN_", extra="ignore")

    profile: Profile = "production"
    """``demo`` allows the built-in demo client credentials; ``production`` refuses them."""
    data_dir: Path = Path("var")
    log_url: str | None = None
    """Event log, e.g. ``sqlite:///var/twin.db`` or ``postgresql://host/db``. Default: SQLite
    file ``twin.db`` in ``data_dir``."""
    store_url: str | None = None
    """State store; default: a PostgreSQL log's own database, or beside a SQLite log its own
    file (``twin.db`` → ``twin-state.db``): SQLite has one writer per file, and appends must
    not wait for the projector's commits."""
    mlflow_uri: str | None = None
    """The model registry: any MLflow tracking URI (``http://mlflow:5000``, ``databricks``,
    ``sqlite:///path/mlflow.db``). Default: a SQLite store in ``data_dir/mlflow``
    (docs/registry.md)."""
    log_format: LogFormat | None = None
    """How the process logs: ``json``, one JSON object per line (the default of ``serve`` and
    ``worker``), or ``text`` (the default of the commands a person watches: ``demo``,
    ``replay`` …). The processes a command starts log as it does."""
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    consumers: str = Field(
        "twin,kpis,fraud,risk", pattern=r"^[a-z]+(-[a-z]+)?(,[a-z]+(-[a-z]+)?)*$", examples=["twin"]
    )
    """The consumers of the log this process runs (``serve``, ``demo``, ``worker``), by name:
    ``twin`` (the projector), ``kpis`` (bank-wide KPIs), ``fraud`` (the fraud engine) and
    ``risk`` (the risk engine: scores and drift). The last two read every partition, so they
    run in one process of those the partitions are split between. For a fraud engine spread
    over every process, name its two stages instead of ``fraud``: ``fraud-customers`` and
    ``fraud-entities`` (``docs/fraud.md``, "Scaling out")."""
    run_consumers: bool = True
    """Run the consumers inside ``serve`` (turn off when ``banktwin worker`` runs them)."""
    consumer_processes: int | None = Field(None, ge=0, le=64)
    """How many processes ``serve`` and ``demo`` run their consumers in, the log's partitions
    split between them (default: one per core, at most one per partition); 0 runs them as
    threads of the server's own process (always so for an in-memory log)."""
    projector_batch_size: int = Field(50_000, ge=1, le=1_000_000)
    """Most events a consumer reads at once."""
    projector_commit_interval_s: float = Field(1.0, ge=0, le=60)
    """While the log keeps growing, how long applied events may wait for their commit (and so
    to be visible to readers); 0 commits after every read. A projector that catches up commits
    at once."""
    projector_catch_up_commit_s: float = Field(10.0, ge=0, le=600)
    """The same while a consumer is catching up (a backlog bigger than one read): readers see
    a backlog late anyway, and longer commits write each busy subject once for more events,
    which keeps the cost per event of a big bank near a small one's."""
    projector_bulk_linger_s: float = Field(0.3, ge=0, le=60)
    """After a read of 1,000 events or more (a bulk load: big batches posted one after
    another), how long a consumer that finds nothing new waits for more before it commits
    (within the commit interval); 0 commits at once. A stream of small appends is committed
    as soon as it is applied whatever this says."""
    projector_max_uncommitted_events: int = Field(500_000, ge=1, le=10_000_000)
    """Most events a consumer applies before it commits, whatever the time (bounds the memory
    of the work waiting for its commit)."""
    partitions: str | None = Field(None, pattern=r"^\d{1,4}(,\d{1,4})*$", examples=["0,2"])
    """The log partitions this process projects, comma-separated (default: all of them).
    Workers given disjoint sets project in parallel."""
    max_event_bytes: int = Field(64 * 1024, ge=1024)
    """Largest body accepted by the single-event endpoints."""
    max_batch_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    """Largest body accepted by ``POST /v1/events``."""
    max_future_skew_s: float = Field(300.0, ge=0)
    """How far in the future an ``occurredAt`` may be before it is refused."""
    view_cache_size: int = Field(10_000, ge=0)
    """Rendered customer views kept for reuse while unchanged (0 turns reuse off)."""
    token_secret: SecretStr | None = None
    """Key signing access tokens (HS256). Required outside the demo profile."""
    clients: str | None = None
    """OAuth2 clients, ``id:secret:scope1+scope2`` separated by commas."""
    fraud_rules: Path | None = None
    """The fraud engine's rule file (YAML, docs/fraud.md "Rules"); default: the shipped one."""
    fraud_alert_threshold: float = Field(0.5, ge=0, le=1)
    """The blended score at which a transaction raises a fraud alert."""
    fraud_severity_floors: str = Field(
        "0.5,0.7,0.85,0.95", pattern=r"^[01](\.\d+)?(,[01](\.\d+)?){3}$"
    )
    """The lowest score of a low, medium, high and critical alert."""
    fraud_label_delay_days: float = Field(7.0, ge=0, le=365)
    """How long a fraud label takes to be trusted: terminal and merchant risk count only
    reports known this long before the transaction scored."""
    fraud_model_refresh_s: float = Field(30.0, ge=0.1)
    """How often the engine looks for a newly promoted champion model."""
    risk_model_refresh_s: float = Field(30.0, ge=0.1)
    """How often the risk engine (and what-if) look for a newly promoted ``RiskScore``."""
    risk_drift_threshold: float = Field(0.10, gt=0, le=10)
    """The PSI above which a day's risk scores or inputs have drifted (the seed's 10 %)."""
    fraud_snapshot_interval_s: float = Field(60.0, ge=0)
    """How often the fraud engine writes its whole state with its positions (on start it
    folds the log from there, unscored)."""
    alert_interval_s: float = Field(15.0, gt=0, le=3600)
    """How often the operational alert rules are evaluated (``banktwin.alerting``)."""
    alert_thresholds: str = Field("", pattern=r"^([a-z_]+=\d+(\.\d+)?(,[a-z_]+=\d+(\.\d+)?)*)?$")
    """Thresholds that replace the seed's, e.g. ``ingestion_lag=120,model_drift=0.2`` (rules:
    ``ingestion_lag`` s, ``consumer_stalled`` s, ``fraud_alert_rate`` times the baseline,
    ``model_drift`` ratio, ``dead_letters_growing`` records)."""

    alert_webhooks: str = Field("", pattern=r"^(https?://[^,\s]+(,https?://[^,\s]+)*)?$")
    """Comma-separated URLs each firing and resolution is POSTed to, in PagerDuty's Events API
    v2 form (``https://events.pagerduty.com/v2/enqueue``, or any receiver of that body)."""
    pagerduty_routing_key: SecretStr | None = None
    """The integration key the webhook bodies carry as ``routing_key``."""
    retrain_schedule: str = Field(
        "02:00", pattern=r"^(off|([01]\d|2[0-3]):[0-5]\d)$", examples=["02:00", "off"]
    )
    """When the API process queues the nightly retraining of every model with a trainer
    (``banktwin.jobs``): a UTC time of day, ``HH:MM``, or ``off``. Once a day, across restarts;
    a schedule seen for the first time waits for its next hour."""

    @property
    def retrain_time(self) -> time | None:
        """``retrain_schedule`` as a UTC time of day; ``None`` when ``off``."""
        return parse_schedule(self.retrain_schedule)

    @property
    def alert_threshold_overrides(self) -> dict[str, float]:
        pairs = (item.split("=") for item in self.alert_thresholds.split(",") if item)
        return {name: float(value) for name, value in pairs}

    @model_validator(mode="after")
    def _resolve_urls(self) -> Settings:
        if self.log_url is None:
            self.log_url = f"sqlite:///{self.data_dir / 'twin.db'}"
        if self.store_url is None:
            if self.log_url.startswith(("postgresql:", "postgres:")):
                self.store_url = self.log_url
            elif self.log_url.startswith("sqlite:"):
                self.store_url = _beside(self.log_url, "-state")
            else:
                self.store_url = f"sqlite:///{self.data_dir / 'twin-state.db'}"
        return self

    @property
    def consumer_names(self) -> list[str]:
        """``consumers`` as a list, in the order given, without repeats."""
        return list(dict.fromkeys(self.consumers.split(",")))

    @property
    def owned_partitions(self) -> list[int] | None:
        """``partitions`` as numbers; ``None`` for all."""
        return None if self.partitions is None else [int(p) for p in self.partitions.split(",")]

    @property
    def model_registry_uri(self) -> str:
        """The MLflow tracking URI of the model registry: ``mlflow_uri`` or the embedded
        default, ``sqlite:///<data_dir>/mlflow/mlflow.db``."""
        return self.mlflow_uri or f"sqlite:///{self.data_dir / 'mlflow' / 'mlflow.db'}"

    @property
    def event_log_url(self) -> str:
        assert self.log_url is not None
        return self.log_url

    @property
    def state_store_url(self) -> str:
        assert self.store_url is not None
        return self.store_url


def _beside(sqlite_url: str, suffix: str) -> str:
    """The URL of a file next to a SQLite URL's file: ``sqlite:///var/twin.db?x`` and ``-state``
    give ``sqlite:///var/twin-state.db`` (options belong to the first file)."""
    path = PurePosixPath(urlsplit(sqlite_url).path)
    return f"sqlite://{path.with_name(path.stem + suffix + path.suffix)}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with explicit overrides (``None`` means not given).

    Raises:
        ConfigurationError: a variable has an invalid value; the message names it.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"BANKTWIN_{str(err['loc'][0]).upper()} (--{str(err['loc'][0]).replace('_', '-')}): "
            f"{err['msg']}"
            if err["loc"]
            else err["msg"]
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid setting {problems}") from exc
