"""Which subjects an expected-version append checks (the rule every adapter shares)."""

from __future__ import annotations

import pytest

from banktwin.errors import ConflictError, VersionConflictError
from banktwin.log.expected_versions import check_versions, subjects_to_check


def test_subjects_with_new_events_are_checked() -> None:
    events = [("a", False), ("b", False)]
    assert subjects_to_check({"a": 3, "b": 0}, events) == {"a": 3, "b": 0}


def test_a_subject_whose_events_are_all_logged_is_a_retry_and_not_checked() -> None:
    events = [("a", True), ("a", True), ("b", False)]
    assert subjects_to_check({"a": 3, "b": 0}, events) == {"b": 0}


def test_a_subject_with_one_new_event_is_checked() -> None:
    assert subjects_to_check({"a": 3}, [("a", True), ("a", False)]) == {"a": 3}


def test_a_subject_without_events_here_is_checked_as_a_guard() -> None:
    assert subjects_to_check({"guard": 2}, [("a", False)]) == {"guard": 2}


def test_nothing_is_checked_when_every_event_is_logged() -> None:
    assert subjects_to_check({"a": 1, "guard": 2}, [("a", True)]) == {}
    assert subjects_to_check({"a": 1}, []) == {}


def test_check_raises_for_the_first_moved_subject() -> None:
    check_versions({"a": 2, "new": 0}, {"a": 2})
    with pytest.raises(VersionConflictError) as raised:
        check_versions({"a": 2, "b": 1}, {"a": 3, "b": 5})
    assert (raised.value.subject_id, raised.value.expected, raised.value.actual) == ("a", 2, 3)
    assert isinstance(raised.value, ConflictError)
