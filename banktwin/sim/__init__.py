"""A deterministic synthetic bank and live activity simulator that feeds the twin.

Build a :class:`Simulation` from a :class:`SimConfig`, then either take its backfill
(``sim.backfill(end=...)`` or :func:`run_backfill`) or run it live against a clock
(:func:`run_live`). Events go to an :class:`EventSink` such as :class:`HttpSink`; the labels
of injected fraud go only to the :class:`GroundTruthStore`.
"""

from banktwin.sim.config import SimConfig
from banktwin.sim.ground_truth import (
    FraudLabel,
    GroundTruthStore,
    LabelRole,
    Scenario,
    ScenarioInstance,
)
from banktwin.sim.runners import run_backfill, run_live
from banktwin.sim.simulation import Simulation
from banktwin.sim.sinks import EventDeliveryError, EventSink, HttpSink

__all__ = [
    "EventDeliveryError",
    "EventSink",
    "FraudLabel",
    "GroundTruthStore",
    "HttpSink",
    "LabelRole",
    "Scenario",
    "ScenarioInstance",
    "SimConfig",
    "Simulation",
    "run_backfill",
    "run_live",
]
