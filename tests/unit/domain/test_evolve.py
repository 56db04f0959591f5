"""Copy-with-changes of the frozen twins."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from banktwin.domain.customer import CustomerTwin
from banktwin.domain.evolve import evolve, evolved
from tests.factories import T0


def test_a_copy_has_the_changes_and_the_original_is_untouched() -> None:
    twin = CustomerTwin("c1", T0, T0)
    copy = evolve(twin, name="Jane", transaction_count=2)
    assert (copy.name, copy.transaction_count, copy.customer_id) == ("Jane", 2, "c1")
    assert (twin.name, twin.transaction_count) == (None, 0)
    assert copy == CustomerTwin("c1", T0, T0, name="Jane", transaction_count=2)
    with pytest.raises(FrozenInstanceError):
        copy.name = "Joe"  # type: ignore[misc]


def test_a_change_to_a_field_the_class_does_not_have_is_refused() -> None:
    twin = CustomerTwin("c1", T0, T0)
    with pytest.raises(TypeError, match="no field 'nmae'"):
        evolve(twin, nmae="Jane")
    with pytest.raises(TypeError, match="no field 'nmae'"):
        evolved(twin, {"name": "Jane", "nmae": "Jane"})
