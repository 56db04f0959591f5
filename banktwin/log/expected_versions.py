"""Expected-version appends: which subjects an append checks, and the check (every adapter).

A subject's version is the number of its events in the log. An append given ``expected``
goes ahead only if each subject it checks is still at the version named for it. Not checked:

- a subject whose events in this append are all in the log already: the request is being
  retried after it succeeded, and gets its original results (as an unconditional retry does);
- any subject, when every event of the append is in the log already (a retry again: a subject
  named in ``expected`` without events of its own here, a guard, is not checked then either).

A subject named without events of its own here is otherwise checked like the others: an
append may be decided on a subject it does not write to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from banktwin.errors import VersionConflictError


def subjects_to_check(
    expected: Mapping[str, int], events: Iterable[tuple[str, bool]]
) -> dict[str, int]:
    """The part of ``expected`` an append must check.

    Args:
        expected: per subject id, the version the append was decided on.
        events: per event of the append, its subject id and whether its id is in the log.
    """
    present: set[str] = set()
    pending: set[str] = set()
    for subject_id, logged in events:
        present.add(subject_id)
        if not logged:
            pending.add(subject_id)
    if not pending:
        return {}
    return {s: v for s, v in expected.items() if s in pending or s not in present}


def check_versions(checked: Mapping[str, int], actual: Mapping[str, int]) -> None:
    """Raise for the first subject of ``checked`` whose ``actual`` version (absent: 0) differs.

    Raises:
        VersionConflictError: naming the subject, the expected and the actual version.
    """
    for subject_id, version in checked.items():
        found = actual.get(subject_id, 0)
        if found != version:
            raise VersionConflictError(subject_id, version, found)
