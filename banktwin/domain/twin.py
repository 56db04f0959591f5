"""The one entry point of the domain: ``apply(state, event) -> (state, derived_events)``.

Pure: no I/O, no clock. Replaying the same events always yields the same twin, which is what
makes rebuilds, as-of reads and backtests trustworthy.
"""

from __future__ import annotations

from collections.abc import Iterable

from banktwin.domain.branch import BranchTwin
from banktwin.domain.branch_rules import apply_branch_event
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.customer_rules import apply_customer_event
from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.loan_rules import apply_loan_event

Twin = CustomerTwin | BranchTwin | LoanTwin


class SubjectMismatchError(TypeError):
    """An event was applied to the twin of another kind of subject."""


def apply(state: Twin | None, event: Event) -> tuple[Twin, list[Event]]:
    """Apply one event to its subject's twin.

    Args:
        state: the subject's twin, or ``None`` if the subject is new.
        event: an event of that subject.

    Returns:
        The new twin and the events it derives (to be appended to the log).
    """
    kind = event.subject_kind
    if kind is SubjectKind.CUSTOMER:
        if state is not None and not isinstance(state, CustomerTwin):
            raise SubjectMismatchError(f"{event.type} applied to {type(state).__name__}")
        return apply_customer_event(state, event), []
    if kind is SubjectKind.BRANCH:
        if state is not None and not isinstance(state, BranchTwin):
            raise SubjectMismatchError(f"{event.type} applied to {type(state).__name__}")
        return apply_branch_event(state, event), []
    if state is not None and not isinstance(state, LoanTwin):
        raise SubjectMismatchError(f"{event.type} applied to {type(state).__name__}")
    return apply_loan_event(state, event)


def fold(events: Iterable[Event], state: Twin | None = None) -> Twin | None:
    """The twin after applying ``events`` in order (derived events are not re-applied here:
    they are in the log and arrive in ``events`` like any other)."""
    for event in events:
        state, _ = apply(state, event)
    return state
