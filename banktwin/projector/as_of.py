"""As-of reads: a subject's twin as it was at a moment, folded from the log."""

from __future__ import annotations

from datetime import datetime

from banktwin.domain.events import SubjectKind
from banktwin.domain.twin import Twin, fold
from banktwin.log.port import EventLog


def twin_as_of(log: EventLog, kind: SubjectKind, subject_id: str, moment: datetime) -> Twin | None:
    """The twin after every event of the subject that occurred at or before ``moment``
    (business time), or ``None`` if the subject had no events by then."""
    events = (
        logged.event
        for logged in log.read_subject(subject_id, until=moment)
        if logged.event.subject_kind is kind
    )
    return fold(events)
