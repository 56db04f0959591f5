"""Expected versions in a batch: what the log is asked to check, per subject."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from banktwin.domain.events import Event
from banktwin.intake.errors import FieldError, IntakeError


def expected_before(
    events: Sequence[Event], expectations: Mapping[int, int], what: str = "request"
) -> dict[str, int]:
    """Per subject, the version it must be at before the first of its events here.

    Each expectation is the version its event's subject is at just before that event, so a
    subject's expectations in one batch count up by one per event of it, in the order given
    (the first expecting ``v``, the next event of that subject ``v + 1`` …); events that
    expect nothing still count. A subject none of whose events expects a version is absent.

    Args:
        events: the batch, in order.
        expectations: index in ``events`` → the ``expectedVersion`` that event carries.
        what: what is refused, for the error's summary.

    Raises:
        IntakeError: naming each ``[i].expectedVersion`` that does not follow its subject's
            first one (or is below the number of its subject's earlier events in the batch).
    """
    if not expectations:
        return {}
    counted: dict[str, int] = {}
    first: dict[str, tuple[int, int]] = {}  # subject -> (index, its expectedVersion)
    base: dict[str, int] = {}
    errors: list[FieldError] = []
    for index, event in enumerate(events):
        subject = event.subject_id
        earlier = counted.get(subject, 0)
        counted[subject] = earlier + 1
        expected = expectations.get(index)
        if expected is None:
            continue
        field = f"[{index}].expectedVersion"
        if subject not in base:
            if expected < earlier:
                errors.append(
                    FieldError(
                        field,
                        f"must be at least {earlier}: {earlier} earlier event(s) of subject "
                        f"{subject} come before it in this batch",
                    )
                )
                continue
            base[subject] = expected - earlier
            first[subject] = (index, expected)
        elif base[subject] + earlier != expected:
            first_index, first_expected = first[subject]
            errors.append(
                FieldError(
                    field,
                    f"must be {base[subject] + earlier}: [{first_index}] expects subject "
                    f"{subject} at version {first_expected}, and each later event of it in "
                    "the batch expects one more",
                )
            )
    if errors:
        raise IntakeError(errors, what)
    return base
