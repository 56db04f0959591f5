"""The intake: where events from every source are validated before they reach the log.

Transport-neutral (no HTTP here): it takes raw JSON bytes or parsed JSON values and returns
:class:`~banktwin.domain.events.Event` objects, or refuses with field errors any transport
can report. The REST endpoints and the Kafka connector (:mod:`banktwin.ingest`) use it; the
CDC, bureau, mobile and file connectors will.

- :class:`EventIntake` — ``event_from_json`` / ``event_from_value`` (one event, optionally
  scoped to a subject the transport names), ``batch_from_json`` / ``batch_from_ndjson`` /
  ``batch_from_values`` (all or nothing); each returns a :class:`Submission` (the events and
  the versions their subjects are expected at).
- :class:`IntakeError` (a list of :class:`FieldError` and what was refused) and
  :class:`MalformedJsonError`.
- :class:`EventIn`: the envelope producers send.
"""

from banktwin.intake.envelope import EventIn, SubjectScope
from banktwin.intake.errors import FieldError, IntakeError, MalformedJsonError
from banktwin.intake.event_intake import EventIntake, Submission

__all__ = [
    "EventIn",
    "EventIntake",
    "FieldError",
    "IntakeError",
    "MalformedJsonError",
    "SubjectScope",
    "Submission",
]
