"""The running twin: the adapters the settings name and the consumers of the log.

Every consumer banktwin knows is built here (the composition root of engines): its engine,
the store that engine keeps its state in, and the consumer runtime around it. A process runs
the ones its settings select (``BANKTWIN_CONSUMERS``), each in a thread of its own, or leaves
them to other processes (:mod:`banktwin.worker_processes`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from banktwin.adapters import (
    open_commit_announcer,
    open_dead_letter_store,
    open_event_log,
    open_kv_store,
    open_state_store,
)
from banktwin.alerting.evaluator import AlertEvaluator
from banktwin.alerting.measures import SystemMeasures
from banktwin.alerting.webhooks import Webhooks, WebhookSender
from banktwin.config import Settings
from banktwin.consumers.announcements import announce_commits
from banktwin.consumers.consumer import Consumer
from banktwin.domain.operational_alerts import with_thresholds
from banktwin.errors import ConfigurationError
from banktwin.fraud.customer_stage import FRAUD_CUSTOMER_STAGE, CustomerStage
from banktwin.fraud.decision import DecisionPolicy
from banktwin.fraud.engine import FRAUD_CONSUMER, FraudEngine
from banktwin.fraud.entity_stage import FRAUD_ENTITY_STAGE, EntityStage
from banktwin.fraud.model_source import ChampionModel
from banktwin.fraud.rules import load_default_rules, load_rules
from banktwin.fraud.scorer import Scorer
from banktwin.fraud.windows import DAY, FeatureConfig
from banktwin.ingest.dead_letters import DeadLetterStore
from banktwin.kpis.engine import KPI_CONSUMER, KpiEngine
from banktwin.kpis.reader import KpiReader
from banktwin.log.port import EventLog
from banktwin.observability.commit_times import mark_started, record_commit_times
from banktwin.projector.projector import Projector
from banktwin.registry import open_model_registry, registry_exists
from banktwin.risk.names import RISK_CONSUMER
from banktwin.store.kv import KeyValueStore
from banktwin.store.port import TWIN_CONSUMER, StateStore
from banktwin.worker_processes import (
    default_processes,
    split_partitions,
    supervise_worker_processes,
)

if TYPE_CHECKING:  # pandas and the model load when the engine is made
    from banktwin.registry.champion import Champion
    from banktwin.risk.engine import DriftRecord, RiskEngine
    from banktwin.risk.model import RiskModel

CONSUMER_NAMES = (
    TWIN_CONSUMER,
    KPI_CONSUMER,
    FRAUD_CONSUMER,
    FRAUD_CUSTOMER_STAGE,
    FRAUD_ENTITY_STAGE,
    RISK_CONSUMER,
)
"""Every consumer of the log, in the order they are started and caught up. The fraud engine
runs either as one consumer over the whole log (``fraud``, the default) or as two stages over
each process's partitions (``fraud-customers`` and ``fraud-entities``: ``docs/fraud.md``,
"Scaling out")."""
FRAUD_STAGES = (FRAUD_CUSTOMER_STAGE, FRAUD_ENTITY_STAGE)
"""The staged fraud engine's consumers. A runtime builds the shape of the fraud engine it
runs (the stages when they are selected, else ``fraud``): the other one is not deployed, and
its lag is not reported, measured or alerted on."""

STOP_TIMEOUT_S = 30.0


def selected_consumers(settings: Settings) -> list[str]:
    """The consumers ``BANKTWIN_CONSUMERS`` names.

    Raises:
        ConfigurationError: a name is not a consumer banktwin has.
    """
    names = settings.consumer_names
    unknown = [n for n in names if n not in CONSUMER_NAMES]
    if unknown:
        raise ConfigurationError(
            f"BANKTWIN_CONSUMERS (--consumers): no consumer {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(CONSUMER_NAMES)}"
        )
    stages = [n for n in names if n in FRAUD_STAGES]
    if FRAUD_CONSUMER in names and stages:
        raise ConfigurationError(
            f"BANKTWIN_CONSUMERS (--consumers): {FRAUD_CONSUMER!r} is the fraud engine in one "
            f"process, {' and '.join(map(repr, FRAUD_STAGES))} the same engine in stages: "
            "choose one"
        )
    if stages and len(stages) != len(FRAUD_STAGES):
        raise ConfigurationError(
            f"BANKTWIN_CONSUMERS (--consumers): the staged fraud engine needs both "
            f"{' and '.join(map(repr, FRAUD_STAGES))}"
        )
    return names


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Runtime:
    """Owns the event log, the stores and the consumers of one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        log: EventLog | None = None,
        store: StateStore | None = None,
        kv: KeyValueStore | None = None,
    ) -> None:
        self.settings = settings
        self.selected = selected_consumers(settings)
        self.log = log or open_event_log(settings.event_log_url)
        self.store = store or open_state_store(settings.state_store_url)
        self.kv = kv or open_kv_store(settings.state_store_url)
        self.announcer = open_commit_announcer(settings.state_store_url)
        """Tells this process and the others sharing the store of each consumer's commits."""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._supervisor: threading.Thread | None = None
        self._supervisor_stop = threading.Event()
        self._risk_model: Champion[RiskModel] | None = None
        self._dead_letters: DeadLetterStore | None = None
        self._dead_letters_lock = threading.Lock()
        try:
            scorer = self.fraud_scorer()
        except ConfigurationError:
            self.close()
            raise
        try:
            options: dict[str, Any] = {
                "batch_size": settings.projector_batch_size,
                "partitions": settings.owned_partitions,
                "commit_interval_s": settings.projector_commit_interval_s,
                "catch_up_commit_s": settings.projector_catch_up_commit_s,
                "max_uncommitted_events": settings.projector_max_uncommitted_events,
                "bulk_linger_s": settings.projector_bulk_linger_s,
            }
            self.projector = Projector(self.log, self.store, **options)
            fraud: dict[str, Consumer[Any]] = (
                {
                    name: Consumer(self.log, stage, **options)
                    for name, stage in self.fraud_stages(scorer).items()
                }
                if FRAUD_CUSTOMER_STAGE in self.selected
                else {
                    FRAUD_CONSUMER: Consumer(
                        self.log, self.fraud_engine(scorer), **{**options, "partitions": None}
                    )
                }
            )
            self.consumers: dict[str, Consumer[Any]] = {
                TWIN_CONSUMER: self.projector,
                KPI_CONSUMER: Consumer(self.log, KpiEngine(self.kv), **options),
                **fraud,
                RISK_CONSUMER: Consumer(
                    self.log, self.risk_engine(), **{**options, "partitions": None}
                ),
            }
        except ValueError as exc:
            self.close()
            raise ConfigurationError(f"BANKTWIN_PARTITIONS (--partitions): {exc}") from None
        self.kpis = KpiReader(self.kv, self.log.partitions)
        record_commit_times(self.consumers.values())
        announce_commits(self.consumers.values(), self.announcer)

    def fraud_scorer(self) -> Scorer:
        """How the fraud engine decides, as the settings describe: rules, thresholds and the
        registry's champion model."""
        settings = self.settings
        try:
            rules = (
                load_default_rules()
                if settings.fraud_rules is None
                else load_rules(settings.fraud_rules)
            )
            floors = tuple(float(f) for f in settings.fraud_severity_floors.split(","))
            policy = DecisionPolicy(settings.fraud_alert_threshold, floors)  # type: ignore[arg-type]
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"BANKTWIN_FRAUD_RULES / thresholds: {exc}") from None
        models = ChampionModel(
            partial(open_model_registry, settings),
            refresh_s=settings.fraud_model_refresh_s,
            available=partial(registry_exists, settings),
        )
        return Scorer(rules, models, policy)

    def fraud_engine(self, scorer: Scorer) -> FraudEngine:
        """The fraud engine over the whole log, with the label delay the settings give."""
        return FraudEngine(
            self.log,
            self.kv,
            scorer,
            config=self._feature_config(),
            snapshot_interval_s=self.settings.fraud_snapshot_interval_s,
        )

    def fraud_stages(self, scorer: Scorer) -> dict[str, CustomerStage | EntityStage]:
        """The fraud engine's two stages, by consumer name."""
        options: dict[str, Any] = {
            "config": self._feature_config(),
            "snapshot_interval_s": self.settings.fraud_snapshot_interval_s,
        }
        return {
            FRAUD_CUSTOMER_STAGE: CustomerStage(
                self.log, self.kv, scorer, name=FRAUD_CUSTOMER_STAGE, **options
            ),
            FRAUD_ENTITY_STAGE: EntityStage(
                self.log, self.kv, scorer, name=FRAUD_ENTITY_STAGE, **options
            ),
        }

    def _feature_config(self) -> FeatureConfig:
        return FeatureConfig(label_delay=round(self.settings.fraud_label_delay_days * DAY))

    def risk_engine(self) -> RiskEngine:
        """The risk engine the settings describe: the registry's ``RiskScore`` champion and
        the drift threshold."""
        from banktwin.risk.engine import RiskEngine
        from banktwin.risk.serving import risk_champion

        settings = self.settings
        return RiskEngine(
            self.log,
            self.kv,
            risk_champion(settings),
            drift_threshold=settings.risk_drift_threshold,
        )

    def risk_model(self) -> Champion[RiskModel]:
        """The registry's ``RiskScore`` champion for this process's readers (what-if),
        refreshed as the engine's is; made on first use."""
        if self._risk_model is None:
            from banktwin.risk.serving import risk_champion

            self._risk_model = risk_champion(self.settings)
        return self._risk_model

    def running_here(self) -> list[Consumer[Any]]:
        """The selected consumers, in order."""
        return [self.consumers[name] for name in self.selected]

    def keep_cycle_collector_on(self) -> None:
        """Make every consumer of this runtime leave the cycle collector alone: for a process
        that does other work too (the API). Pausing it is process-wide, so only a dedicated
        worker process (``banktwin worker``, ``replay``) lets its consumers pause it during a
        batch."""
        for consumer in self.consumers.values():
            consumer.pause_gc = False

    def notify_consumers(self) -> None:
        """Wake this process's consumers (events were appended)."""
        for consumer in self.running_here():
            consumer.notify()

    def start_consumers(self) -> None:
        """Run each selected consumer in a background thread until :meth:`stop_consumers`,
        and the alert evaluator beside them in the process that consumes partition 0."""
        if self._threads:
            return
        self._stop.clear()
        jobs: list[tuple[str, Callable[[threading.Event], None]]] = [
            (f"consumer-{consumer.name}", consumer.run_forever) for consumer in self.running_here()
        ]
        if self.evaluates_alerts:
            evaluator = self.alert_evaluator()
            jobs.append(
                (
                    "alerting",
                    partial(evaluator.run_forever, interval_s=self.settings.alert_interval_s),
                )
            )
            if self.settings.alert_webhooks:
                sender = WebhookSender(self.kv, self._webhooks().urls, _utc_now)
                jobs.append(("alert-delivery", sender.run_forever))
        for name, job in jobs:
            thread = threading.Thread(target=job, args=(self._stop,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    @property
    def evaluates_alerts(self) -> bool:
        """Whether this process runs the alert evaluator: one process per deployment does,
        the one that consumes partition 0 (the first of ``banktwin worker``'s processes, or
        ``serve`` when its consumers are its own threads)."""
        owned = self.settings.owned_partitions
        return bool(self.selected) and (owned is None or 0 in owned)

    def alert_evaluator(self) -> AlertEvaluator:
        """The operational alert rules over this deployment's measures."""
        try:
            rules = with_thresholds(self.settings.alert_threshold_overrides)
        except ValueError as exc:
            raise ConfigurationError(f"BANKTWIN_ALERT_THRESHOLDS: {exc}") from None
        measures = SystemMeasures(
            self.consumers, self.kpis, self._latest_drift, self.kv, dead_letters=self.dead_letters
        )
        webhooks = self._webhooks() if self.settings.alert_webhooks else None
        return AlertEvaluator(self.log, self.kv, measures, _utc_now, rules, webhooks)

    @property
    def dead_letters(self) -> DeadLetterStore:
        """The connectors' dead-letter table (where the state store is), opened on first use
        (the metrics and the alert rules read it)."""
        with self._dead_letters_lock:
            if self._dead_letters is None:
                self._dead_letters = open_dead_letter_store(self.settings.state_store_url)
            return self._dead_letters

    def _latest_drift(self) -> DriftRecord | None:
        from banktwin.risk.serving import RiskReader

        return RiskReader(self.kv).latest_drift()

    def _webhooks(self) -> Webhooks:
        key = self.settings.pagerduty_routing_key
        return Webhooks(
            self.settings.alert_webhooks.split(","), "" if key is None else key.get_secret_value()
        )

    def stop_consumers(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the consumer threads after each commits what it applied."""
        if not self._threads:
            return
        self._stop.set()
        self.notify_consumers()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def consumer_processes(self) -> int:
        """How many processes ``serve``/``demo`` run the consumers in (0: threads here)."""
        settings = self.settings
        if settings.event_log_url.startswith("memory:") or settings.state_store_url.startswith(
            "memory:"
        ):
            return 0  # nothing another process could share
        owned = settings.owned_partitions or list(range(self.log.partitions))
        wanted = settings.consumer_processes
        return min(default_processes(len(owned)) if wanted is None else wanted, len(owned))

    def start_in_background(self) -> None:
        """Run the selected consumers beside this process's other work: in processes of their
        own (:meth:`consumer_processes`), supervised by a thread here, or as threads."""
        mark_started(self.selected)
        count = self.consumer_processes()
        if count == 0:
            self.keep_cycle_collector_on()
            self.start_consumers()
            return
        if self._supervisor is not None:
            return
        owned = self.settings.owned_partitions or list(range(self.log.partitions))
        self._supervisor_stop.clear()
        self._supervisor = threading.Thread(
            target=supervise_worker_processes,
            args=(
                split_partitions(owned, count),
                self.settings,
                self.selected,
                self._supervisor_stop,
            ),
            name="consumer-processes",
            daemon=True,
        )
        self._supervisor.start()

    @property
    def runs_consumers_in(self) -> str:
        """Where the selected consumers run: ``threads`` here, ``processes`` this process
        supervises, or ``elsewhere`` (``banktwin worker``)."""
        if self._threads:
            return "threads"
        return "processes" if self._supervisor is not None else "elsewhere"

    def stop_in_background(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop what :meth:`start_in_background` started."""
        self.stop_consumers(timeout)
        if self._supervisor is not None:
            self._supervisor_stop.set()
            self._supervisor.join(timeout)
            self._supervisor = None

    def run_consumers(self, stop: threading.Event) -> None:
        """Run the selected consumers until ``stop`` is set (``banktwin worker``)."""
        self.start_consumers()
        stop.wait()
        self.stop_consumers()

    def catch_up(
        self,
        on_start: Callable[[str, int], None] | None = None,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> int:
        """Apply, in this process, what each selected consumer has not applied yet; returns
        the events applied (counted once per consumer)."""
        total = 0
        for consumer in self.running_here():
            if on_start is not None:
                on_start(consumer.name, consumer.lag())
            total += consumer.run_until_caught_up(
                None if on_progress is None else partial(on_progress, consumer.name)
            )
        return total

    def close(self) -> None:
        self.stop_in_background()
        self.log.close()
        self.store.close()
        self.kv.close()
        self.announcer.close()
        if self._dead_letters is not None:
            self._dead_letters.close()
