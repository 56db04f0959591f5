"""Everything customers do of their own accord, as one Poisson process over the population.

Each customer has daily rates (purchases, logins, transfers, rarer profile/consent/status
changes and loan applications) and a chronotype giving their activity by local hour. The
process draws the next arrival from the whole population's rate in the current UTC hour,
picks the customer in proportion to their rate at that hour, then what they do. Exact for
piecewise-constant rates, it costs one heap entry however many customers there are, and its
pace can be set directly (live mode asks for a number of events per second).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate

from banktwin.sim.bank_model import SimCustomer
from banktwin.sim.context import SimContext
from banktwin.sim.geography import City, utc_offset_seconds
from banktwin.sim.rhythms import CHRONOTYPES
from banktwin.sim.timeline import DAY, HOUR, SECOND

CustomerAction = Callable[[SimCustomer, int], None]

RARE_ACTIVITY_PER_DAY: dict[str, float] = {
    "profile": 1 / 400,
    "consent": 1 / 500,
    "status": 1 / 900,
    "loan": 1 / 1100,
}
ACTIVITIES = ("purchase", "login", "transfer", *RARE_ACTIVITY_PER_DAY)


def _daily_rates(customer: SimCustomer) -> tuple[float, ...]:
    p = customer.profile
    return (
        p.purchases_per_day,
        p.logins_per_day,
        p.transfers_per_day,
        *RARE_ACTIVITY_PER_DAY.values(),
    )


class _Group:
    """Customers sharing a home city and chronotype (so they share an hourly curve)."""

    def __init__(self, city: City, chronotype: str) -> None:
        self.city = city
        self.curve = CHRONOTYPES[chronotype]
        self.members: list[SimCustomer] = []
        self.cumulative: list[float] = []

    def add(self, customer: SimCustomer, daily_rate: float) -> None:
        """Add a member with their total daily rate."""
        self.members.append(customer)
        self.cumulative.append((self.cumulative[-1] if self.cumulative else 0.0) + daily_rate)

    def weight(self, hour_start: int) -> float:
        """Arrivals per day from the group during the UTC hour starting at ``hour_start``."""
        offset = utc_offset_seconds(self.city, hour_start / SECOND)
        local = ((hour_start // SECOND + offset) // 3600) % 24
        return self.cumulative[-1] * self.curve[local]


class CustomerActivity:
    """Drives spontaneous customer activity and dispatches it to the generators."""

    def __init__(
        self,
        ctx: SimContext,
        actions: dict[str, CustomerAction],
        fraud: CustomerAction,
        fraud_share: float,
    ) -> None:
        self._ctx = ctx
        self._rng = ctx.rng
        self._actions = tuple(actions[name] for name in ACTIVITIES)
        self._fraud = fraud
        self._mixes: dict[int, tuple[float, ...]] = {}
        groups: dict[tuple[str, str], _Group] = {}
        for c in ctx.bank.customers:
            rates = _daily_rates(c)
            total = sum(rates)
            self._mixes[c.index] = tuple(x / total for x in accumulate(rates))
            key = (c.home.name, c.profile.chronotype)
            groups.setdefault(key, _Group(c.home, c.profile.chronotype)).add(c, total)
        self._groups = list(groups.values())
        purchases = sum(c.profile.purchases_per_day for c in ctx.bank.customers)
        everything = sum(g.cumulative[-1] for g in self._groups)
        self._fraud_probability = fraud_share * purchases / everything
        self._hour_tables: dict[int, tuple[list[float], float]] = {}
        self._target_per_micro: float | None = None
        self._generation = 0
        self.arrivals = 0
        self.arrival_events = 0
        """Events emitted by arrivals as they happened (follow-ups scheduled later excluded)."""

    @property
    def daily_rate(self) -> float:
        """Arrivals per day at the natural pace, averaged over the day."""
        return sum(g.cumulative[-1] for g in self._groups)

    def start(self, at: int) -> None:
        """Schedule the first arrival from ``at``."""
        self._schedule_next(at)

    def set_pace(self, arrivals_per_second: float | None, at: int) -> None:
        """Hold the process at a fixed number of arrivals per second (``None``: natural pace);
        the next arrival is redrawn from ``at`` (exact: the process is memoryless)."""
        self._target_per_micro = (
            None if arrivals_per_second is None else arrivals_per_second / SECOND
        )
        self._generation += 1
        self._schedule_next(at)

    def _table(self, hour: int) -> tuple[list[float], float]:
        table = self._hour_tables.get(hour)
        if table is None:
            weights = list(accumulate(g.weight(hour * HOUR) for g in self._groups))
            table = (weights, weights[-1])
            if len(self._hour_tables) > 48:
                self._hour_tables.clear()
            self._hour_tables[hour] = table
        return table

    def _schedule_next(self, at: int) -> None:
        hour = at // HOUR
        _, per_day = self._table(hour)
        rate = self._target_per_micro or per_day / DAY
        gap = round(self._rng.expovariate(rate)) if rate > 0 else HOUR
        due = at + max(gap, 1)
        arrival = due < (hour + 1) * HOUR
        self._ctx.scheduler.at(
            due if arrival else (hour + 1) * HOUR, self._tick, self._generation, arrival
        )

    def _tick(self, at: int, generation: int, arrival: bool) -> None:
        if generation != self._generation:
            return  # superseded by a change of pace
        if arrival:
            self._arrive(at)
        self._schedule_next(at)

    def _arrive(self, at: int) -> None:
        before = self._ctx.emitter.pending()
        self._dispatch(at)
        self.arrivals += 1
        self.arrival_events += self._ctx.emitter.pending() - before

    def _dispatch(self, at: int) -> None:
        rng = self._rng
        cumulative, total = self._table(at // HOUR)
        group = self._groups[
            min(bisect_left(cumulative, rng.random() * total), len(self._groups) - 1)
        ]
        members = group.cumulative
        index = min(bisect_left(members, rng.random() * members[-1]), len(members) - 1)
        customer = group.members[index]
        if rng.random() < self._fraud_probability:
            self._fraud(customer, at)
            return
        mix = self._mixes[customer.index]
        self._actions[min(bisect_left(mix, rng.random()), len(mix) - 1)](customer, at)
