"""What every activity of the simulation works with: the bank, time, randomness and output."""

from __future__ import annotations

import random
from dataclasses import dataclass

from banktwin.sim.bank import Bank
from banktwin.sim.config import SimConfig
from banktwin.sim.emitter import EventEmitter
from banktwin.sim.fraud_reports import FraudReports
from banktwin.sim.identifiers import RunIds
from banktwin.sim.ledger import Ledger
from banktwin.sim.scheduler import Scheduler


@dataclass(frozen=True, slots=True)
class SimContext:
    """Shared by the activity generators of one simulation run."""

    config: SimConfig
    bank: Bank
    rng: random.Random
    scheduler: Scheduler
    emitter: EventEmitter
    ids: RunIds
    ledger: Ledger
    reports: FraudReports
    start: int
    """The first instant of simulated activity (the backfill window's start)."""
